import { agentNameTaken } from '../../domain/lifecycle.js';
import type { AgentRepository } from '../backend.js';
import { toJson, type SqlEngine } from './sql.js';
import type { Tables } from './tables.js';

export function agentRepository(engine: SqlEngine, tables: Tables): AgentRepository {
  const map = tables.agents.fromRow;
  return {
    async create(tenant, input) {
      const row = await engine.one(`INSERT INTO agents (id, tenant_id, name, instructions, model, params, metadata, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *`, [
        input.id, tenant, input.name, input.instructions, input.model, JSON.stringify(input.params), JSON.stringify(input.metadata), input.now, input.now,
      ]);
      if (!row) throw agentNameTaken(input.name);
      return map(row);
    },

    async get(tenant, id) {
      const row = await engine.one('SELECT * FROM agents WHERE id = ? AND tenant_id = ?', [id, tenant]);
      return row && map(row);
    },

    async list(tenant, page) {
      const after = page.after ?? { name: '', id: '00000000-0000-0000-0000-000000000000' };
      const rows = await engine.all(`SELECT * FROM agents WHERE tenant_id = ? AND (name COLLATE "C" > ? OR (name = ? AND id > ?))
        ORDER BY name COLLATE "C", id LIMIT ?`, [tenant, after.name, after.name, after.id, page.limit]);
      return rows.map((row) => map(row));
    },

    async update(tenant, id, patch) {
      try {
        const row = await engine.one(`UPDATE agents SET name = coalesce(?, name), instructions = coalesce(?, instructions), model = coalesce(?, model),
            params = coalesce(?::jsonb, params), metadata = coalesce(?::jsonb, metadata), updated_at = ?
          WHERE id = ? AND tenant_id = ? RETURNING *`, [
          patch.name ?? null, patch.instructions ?? null, patch.model ?? null, toJson(patch.params), toJson(patch.metadata), patch.now, id, tenant,
        ]);
        return row && map(row);
      } catch (error) {
        if (engine.isUniqueViolation(error)) throw agentNameTaken(patch.name ?? '');
        throw error;
      }
    },

    delete: (tenant, id) => engine.tx(async (sql) => {
      // The agent's row lock first: a conversation cannot take up the agent until this commits (then fails).
      if (!(await sql.one('SELECT 1 AS x FROM agents WHERE id = ? AND tenant_id = ? FOR UPDATE', [id, tenant]))) return undefined;
      const unlinked = (await sql.all('UPDATE conversations SET agent_id = NULL WHERE agent_id = ? RETURNING id', [id])).map((r) => r.id as string);
      await sql.run('DELETE FROM agents WHERE id = ?', [id]);
      return { unlinked };
    }),
  };
}
