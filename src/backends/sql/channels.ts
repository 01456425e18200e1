import { mergeConfig, mergeSecrets } from '../../domain/channel-settings.js';
import type { ChannelRepository } from '../backend.js';
import type { SqlEngine } from './sql.js';
import type { Tables } from './tables.js';

export const CHANNEL_BY_ID = 'SELECT * FROM channels WHERE id = ? AND tenant_id = ?';

export function channelRepository(engine: SqlEngine, tables: Tables): ChannelRepository {
  const { channels } = tables;
  return {
    async create(tenant, input) {
      const row = await engine.one(`INSERT INTO channels (id, tenant_id, kind, name, config, secrets, reopen_window_ms, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`, [
        input.id, tenant, input.kind, input.name, JSON.stringify(input.config), JSON.stringify(input.secrets),
        input.config.reopenWindowSeconds * 1000, input.now, input.now,
      ]);
      return channels.fromRow(row!);
    },

    async get(tenant, id) {
      const row = await engine.one(CHANNEL_BY_ID, [id, tenant]);
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
      const updated = await sql.one(`UPDATE channels SET name = ?, config = ?, secrets = ?, reopen_window_ms = ?, updated_at = ?
        WHERE id = ? RETURNING *`, [
        patch.name ?? row.name, JSON.stringify(config), JSON.stringify(secrets), config.reopenWindowSeconds * 1000, patch.now, id,
      ]);
      return channels.fromRow(updated!);
    }),

    async secrets(tenant, id) {
      const row = await engine.one('SELECT secrets FROM channels WHERE id = ? AND tenant_id = ?', [id, tenant]);
      return row && tables.channelSecrets(row);
    },
  };
}
