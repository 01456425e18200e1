import type { KeyRepository } from '../backend.js';
import type { SqlEngine } from './sql.js';
import type { Tables } from './tables.js';

export function keyRepository(engine: SqlEngine, tables: Tables): KeyRepository {
  const map = tables.keys.fromRow;
  return {
    async create(input) {
      const row = await engine.one('INSERT INTO api_keys (id, tenant_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *',
        [input.id, input.tenant, input.name, input.prefix, input.hash, input.now]);
      return map(row!);
    },

    async list(page) {
      const rows = await engine.all('SELECT * FROM api_keys WHERE id > ? ORDER BY id LIMIT ?', [page.after ?? '00000000-0000-0000-0000-000000000000', page.limit]);
      return rows.map((row) => map(row));
    },

    async get(id) {
      const row = await engine.one('SELECT * FROM api_keys WHERE id = ?', [id]);
      return row && map(row);
    },

    async revoke(id, now) {
      return (await engine.run('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [now, id])) > 0;
    },

    async find(hash) {
      const row = await engine.one('SELECT id, tenant_id FROM api_keys WHERE hash = ? AND revoked_at IS NULL', [hash]);
      return row && { id: row.id, tenantId: row.tenant_id };
    },

    async count() {
      const row = await engine.one('SELECT count(*) AS total, count(*) - count(revoked_at) AS active FROM api_keys');
      return { total: Number(row?.total ?? 0), active: Number(row?.active ?? 0) };
    },
  };
}
