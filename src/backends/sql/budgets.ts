import type { BudgetRecord, BudgetRepository, SummaryRepository } from '../agent-repositories.js';
import { writeEvent } from './events.js';
import type { Row, SqlEngine } from './sql.js';

const budgetOf = (row: Row, json: (value: unknown) => any): BudgetRecord => ({
  scope: row.scope, config: json(row.config), economyDay: row.economy_day ?? null, exceededDay: row.exceeded_day ?? null,
  createdAt: Number(row.created_at), updatedAt: Number(row.updated_at),
});

export function budgetRepository(engine: SqlEngine): BudgetRepository {
  const json = engine.json;
  return {
    async get(tenant, scope) {
      const row = await engine.one('SELECT * FROM budgets WHERE tenant_id = ? AND scope = ?', [tenant, scope]);
      return row && budgetOf(row, json);
    },
    async list(tenant) {
      return (await engine.all('SELECT * FROM budgets WHERE tenant_id = ? ORDER BY scope', [tenant])).map((row) => budgetOf(row, json));
    },
    async put(tenant, scope, config, now) {
      const row = await engine.one(`INSERT INTO budgets (tenant_id, scope, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (tenant_id, scope) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at RETURNING *`,
      [tenant, scope, JSON.stringify(config), now, now]);
      return budgetOf(row!, json);
    },
    async delete(tenant, scope) {
      return (await engine.run('DELETE FROM budgets WHERE tenant_id = ? AND scope = ?', [tenant, scope])) > 0;
    },
    mark: (tenant, scope, level, day, event, now) => engine.tx(async (sql) => {
      const column = level === 'economy' ? 'economy_day' : 'exceeded_day';
      const changed = await sql.run(`UPDATE budgets SET ${column} = ? WHERE tenant_id = ? AND scope = ? AND (${column} IS NULL OR ${column} <> ?)`, [day, tenant, scope, day]);
      if (changed) await writeEvent(sql, tenant, { type: level === 'economy' ? 'budget.economy' : 'budget.exceeded', conversationId: null, data: event, now });
      return changed > 0;
    }),
  };
}

export function summaryRepository(engine: SqlEngine): SummaryRepository {
  return {
    async get(tenant, conversationId) {
      const row = await engine.one('SELECT * FROM conversation_summaries WHERE conversation_id = ? AND tenant_id = ?', [conversationId, tenant]);
      return row && { content: row.content, toSeq: Number(row.to_seq), tokens: Number(row.tokens), model: row.model, updatedAt: Number(row.updated_at) };
    },
    async put(tenant, conversationId, s) {
      return (await engine.run(`INSERT INTO conversation_summaries (conversation_id, tenant_id, content, to_seq, tokens, model, updated_at)
        SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM conversations WHERE id = ? AND tenant_id = ?)
        ON CONFLICT (conversation_id) DO UPDATE SET content = excluded.content, to_seq = excluded.to_seq, tokens = excluded.tokens,
          model = excluded.model, updated_at = excluded.updated_at WHERE conversation_summaries.to_seq < excluded.to_seq`,
      [conversationId, tenant, s.content, s.toSeq, s.tokens, s.model, s.updatedAt, conversationId, tenant])) > 0;
    },
  };
}
