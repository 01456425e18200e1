import { nextState } from '../../domain/lifecycle.js';
import { iso } from '../../domain/time.js';
import type { StateRepository } from '../backend.js';
import { writeEvent } from './events.js';
import type { SqlEngine } from './sql.js';
import { emptyState, type Tables } from './tables.js';

export function stateRepository(engine: SqlEngine, tables: Tables): StateRepository {
  return {
    async get(tenant, conversationId) {
      const row = await engine.one(`SELECT c.id AS c_id, s.* FROM conversations c LEFT JOIN conversation_states s ON s.conversation_id = c.id
        WHERE c.id = ? AND c.tenant_id = ?`, [conversationId, tenant]);
      if (!row) return undefined;
      return row.version === null ? emptyState(conversationId) : tables.states.fromRow(row);
    },

    set: (tenant, conversationId, input) => engine.tx(async (sql) => {
      // The conversation's row lock (NO KEY: appends to it proceed) serialises writers of its state.
      if (!(await sql.one('SELECT 1 AS x FROM conversations WHERE id = ? AND tenant_id = ? FOR NO KEY UPDATE', [conversationId, tenant]))) return undefined;
      const row = await sql.one('SELECT * FROM conversation_states WHERE conversation_id = ?', [conversationId]);
      const next = nextState(row ? tables.states.fromRow(row) : emptyState(conversationId), input);
      await sql.run(`INSERT INTO conversation_states (conversation_id, tenant_id, state, previous_state, data, version, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, previous_state = excluded.previous_state,
          data = excluded.data, version = excluded.version, updated_at = excluded.updated_at`, [
        conversationId, tenant, next.state, next.previousState, JSON.stringify(next.data), next.version, input.now,
      ]);
      await writeEvent(sql, tenant, { type: 'state.updated', conversationId, data: { version: next.version, state: next.state }, now: input.now });
      return { conversationId, ...next, updatedAt: iso(input.now) };
    }),
  };
}
