import { channelKey, mergeConfig, mergeSecrets } from '../../domain/channel-settings.js';
import type { NewChannel } from '../backend-inputs.js';
import type { ChannelRepository } from '../backend.js';
import { writeAudit } from './audit.js';
import type { SqlEngine, SqlRunner } from './sql.js';
import type { Tables } from './tables.js';

export const CHANNEL_BY_ID = 'SELECT * FROM channels WHERE id = ? AND tenant_id = ?';

export function channelRepository(engine: SqlEngine, tables: Tables): ChannelRepository {
  const { channels } = tables;
  // A key already taken inserts nothing (the partial unique index), so the row is read by its key instead.
  const insertWith = (sql: SqlRunner, tenant: string, input: NewChannel) => sql.one(`INSERT INTO channels
    (id, tenant_id, kind, name, config, secrets, reopen_window_ms, created_at, updated_at, idempotency_key, idempotency_hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *`, [
    input.id, tenant, input.kind, input.name, JSON.stringify(input.config), JSON.stringify(input.secrets),
    input.config.reopenWindowSeconds * 1000, input.now, input.now, input.idempotencyKey ?? null, input.requestHash ?? null,
  ]);
  // Secrets set at create are audited in the same transaction.
  const insert = (tenant: string, input: NewChannel) => (input.audit
    ? engine.tx(async (sql) => {
      const row = await insertWith(sql, tenant, input);
      if (row) await writeAudit(sql, input.audit!, input.id);
      return row;
    })
    : insertWith(engine, tenant, input));
  return {
    async create(tenant, input) {
      return channels.fromRow((await insert(tenant, input))!);
    },

    async createOnce(tenant, input) {
      const row = await insert(tenant, input);
      if (row) return { channel: channels.fromRow(row), created: true, requestHash: input.requestHash ?? null };
      const first = await engine.one('SELECT * FROM channels WHERE tenant_id = ? AND idempotency_key = ?', [tenant, input.idempotencyKey]);
      return { channel: channels.fromRow(first!), created: false, requestHash: first!.idempotency_hash ?? null };
    },

    async get(tenant, id) {
      const row = await engine.one(CHANNEL_BY_ID, [id, tenant]);
      return row && channels.fromRow(row);
    },

    async findByName(tenant, kind, name) {
      const row = await engine.one('SELECT * FROM channels WHERE tenant_id = ? AND kind = ? AND name = ? ORDER BY created_at, id LIMIT 1', [tenant, kind, name]);
      return row && channels.fromRow(row);
    },

    async list(tenant, page) {
      const rows = await engine.all('SELECT * FROM channels WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?',
        [tenant, page.after ?? '00000000-0000-0000-0000-000000000000', page.limit]);
      return rows.map((row) => channels.fromRow(row));
    },

    update: (tenant, id, patch) => engine.tx(async (sql) => {
      const row = await sql.one(`${CHANNEL_BY_ID} FOR UPDATE`, [id, tenant]);
      if (!row) return undefined;
      const config = patch.config ? mergeConfig(channels.fromRow(row).config, patch.config) : channels.fromRow(row).config;
      const secrets = patch.secrets ? mergeSecrets(tables.channelSecrets(row), patch.secrets) : tables.channelSecrets(row);
      // A channel `ensure` created by its name gives that name's key up when renamed: ensuring the old name again makes a new one.
      const name = patch.name ?? row.name;
      const key = name !== row.name && channelKey.isByName(row.idempotency_key) ? null : row.idempotency_key;
      const updated = await sql.one(`UPDATE channels SET name = ?, config = ?, secrets = ?, reopen_window_ms = ?, updated_at = ?, idempotency_key = ?
        WHERE id = ? RETURNING *`, [
        name, JSON.stringify(config), JSON.stringify(secrets), config.reopenWindowSeconds * 1000, patch.now, key, id,
      ]);
      if (patch.audit) await writeAudit(sql, patch.audit, id);
      return channels.fromRow(updated!);
    }),

    async all(after, limit) {
      const rows = await engine.all('SELECT * FROM channels WHERE id > ? ORDER BY id LIMIT ?', [after ?? '00000000-0000-0000-0000-000000000000', limit]);
      return rows.map((row) => ({ tenant: row.tenant_id, channel: channels.fromRow(row) }));
    },

    async locate(id) {
      const row = await engine.one('SELECT tenant_id, kind FROM channels WHERE id = ?', [id]);
      return row && { tenant: row.tenant_id, kind: row.kind };
    },

    async secrets(tenant, id) {
      const row = await engine.one('SELECT secrets FROM channels WHERE id = ? AND tenant_id = ?', [id, tenant]);
      return row && tables.channelSecrets(row);
    },
  };
}
