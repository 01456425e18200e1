import type { JsonObject } from '../../domain/entities.js';
import type { NewMessage } from '../backend-inputs.js';
import type { UsageRepository, UsageTotals } from '../agent-repositories.js';
import { writeEvent } from './events.js';
import type { Row, SqlEngine, SqlRunner } from './sql.js';

/** The ledger row of an assistant message's model call: its id is the message's. */
export const USAGE_INSERT = `INSERT INTO usage_records (id, tenant_id, agent_id, conversation_id, provider, model, input_tokens,
  output_tokens, cached_input_tokens, reasoning_tokens, total_tokens, cost, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export const usageValues = (tenant: string, conversationId: string, m: NewMessage): unknown[] => {
  const u = m.usage!;
  return [m.id, tenant, u.agentId, conversationId, u.provider, u.model, u.inputTokens, u.outputTokens, u.cachedInputTokens, u.reasoningTokens, u.totalTokens, u.cost, m.createdAt];
};

/** The `usage.recorded` event's data: the counts, never content. */
export const usageEventData = (m: NewMessage): JsonObject => {
  const u = m.usage!;
  return { messageId: m.id, agentId: u.agentId, provider: u.provider, model: u.model, inputTokens: u.inputTokens, outputTokens: u.outputTokens, totalTokens: u.totalTokens, cost: u.cost };
};

/** Records an appended message's usage, if it has one, in the append's transaction. */
export async function recordUsage(sql: SqlRunner, tenant: string, conversationId: string, m: NewMessage): Promise<void> {
  if (!m.usage) return;
  await sql.run(USAGE_INSERT, usageValues(tenant, conversationId, m));
  await writeEvent(sql, tenant, { type: 'usage.recorded', conversationId, data: usageEventData(m), now: m.createdAt });
}

const SUMS = `count(*) AS calls, coalesce(sum(input_tokens), 0) AS input, coalesce(sum(output_tokens), 0) AS output,
  coalesce(sum(cached_input_tokens), 0) AS cached, coalesce(sum(reasoning_tokens), 0) AS reasoning, coalesce(sum(total_tokens), 0) AS total,
  sum(cost) AS cost`;
const totalsOf = (row: Row | undefined): UsageTotals => ({
  calls: Number(row?.calls ?? 0), inputTokens: Number(row?.input ?? 0), outputTokens: Number(row?.output ?? 0), cachedInputTokens: Number(row?.cached ?? 0),
  reasoningTokens: Number(row?.reasoning ?? 0), totalTokens: Number(row?.total ?? 0), cost: row?.cost === null || row?.cost === undefined ? 0 : Number(row.cost),
});
const GROUP_COLUMN = { agent: 'agent_id', model: 'model', conversation: 'conversation_id' } as const;
/** Days are folded from quarter-hour buckets, so that any timezone's days (offsets are whole quarter hours) add up exactly. */
const QUARTER_MS = 900_000;

export function usageRepository(engine: SqlEngine): UsageRepository {
  return {
    record: (tenant, conversationId, r) => engine.tx(async (sql) => {
      const u = r.usage;
      await sql.run(USAGE_INSERT, [r.id, tenant, u.agentId, conversationId, u.provider, u.model, u.inputTokens, u.outputTokens, u.cachedInputTokens, u.reasoningTokens, u.totalTokens, u.cost, r.now]);
      await writeEvent(sql, tenant, { type: 'usage.recorded', conversationId, data: { messageId: null, agentId: u.agentId, provider: u.provider, model: u.model, inputTokens: u.inputTokens, outputTokens: u.outputTokens, totalTokens: u.totalTokens, cost: u.cost }, now: r.now });
    }),
    async spent(tenant, agentId, from) {
      return totalsOf(agentId === null
        ? await engine.one(`SELECT ${SUMS} FROM usage_records WHERE tenant_id = ? AND created_at >= ?`, [tenant, from])
        : await engine.one(`SELECT ${SUMS} FROM usage_records WHERE tenant_id = ? AND agent_id = ? AND created_at >= ?`, [tenant, agentId, from]));
    },
    async grouped(tenant, by, range, filter = {}) {
      const where = `tenant_id = ? AND created_at >= ? AND created_at < ?${filter.agentId ? ' AND agent_id = ?' : ''}`;
      const params = [tenant, range.from, range.to, ...(filter.agentId ? [filter.agentId] : [])];
      if (by === 'quarter') {
        const rows = await engine.all(`SELECT (created_at / ${QUARTER_MS}) AS k, ${SUMS} FROM usage_records WHERE ${where} GROUP BY (created_at / ${QUARTER_MS}) ORDER BY k`, params);
        return rows.map((row) => ({ key: String(Math.floor(Number(row.k)) * QUARTER_MS), ...totalsOf(row) }));
      }
      const column = GROUP_COLUMN[by];
      const rows = await engine.all(`SELECT ${column} AS k, ${SUMS} FROM usage_records WHERE ${where} GROUP BY ${column} ORDER BY total DESC`, params);
      return rows.map((row) => ({ key: row.k === null ? null : String(row.k), ...totalsOf(row) }));
    },
  };
}
