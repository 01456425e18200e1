import type { KeyRepository } from '../backend.js';
import { writeAudit } from './audit.js';
import type { SqlEngine } from './sql.js';
import type { Tables } from './tables.js';

export function keyRepository(engine: SqlEngine, tables: Tables): KeyRepository {
  const map = tables.keys.fromRow;
  return {
    create: (input, audit) => engine.tx(async (sql) => {
      const row = await sql.one('INSERT INTO api_keys (id, tenant_id, name, prefix, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *',
        [input.id, input.tenant, input.name, input.prefix, input.hash, input.now, input.expiresAt]);
      await writeAudit(sql, audit, input.id);
      return map(row!);
    }),

    async list(page) {
      const rows = await engine.all('SELECT * FROM api_keys WHERE id > ? ORDER BY id LIMIT ?', [page.after ?? '00000000-0000-0000-0000-000000000000', page.limit]);
      return rows.map((row) => map(row));
    },

    async get(id) {
      const row = await engine.one('SELECT * FROM api_keys WHERE id = ?', [id]);
      return row && map(row);
    },

    revoke: (id, now, audit) => engine.tx(async (sql) => {
      const row = await sql.one('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING tenant_id', [now, id]);
      if (row) await writeAudit(sql, { ...audit, tenant: row.tenant_id }, id);
      return row !== undefined;
    }),

    async find(hash) {
      const row = await engine.one('SELECT id, tenant_id, revoked_at, expires_at FROM api_keys WHERE hash = ?', [hash]);
      return row && {
        id: row.id, tenantId: row.tenant_id,
        revokedAt: row.revoked_at === null ? null : Number(row.revoked_at), expiresAt: row.expires_at === null ? null : Number(row.expires_at),
      };
    },

    async count(now) {
      const row = await engine.one(`SELECT count(*) AS total,
        count(*) FILTER (WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)) AS active FROM api_keys`, [now]);
      return { total: Number(row?.total ?? 0), active: Number(row?.active ?? 0) };
    },
  };
}
