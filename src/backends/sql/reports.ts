import type { ConversationTimeline, ReportRepository } from '../report-repositories.js';
import { writeEvent } from './events.js';
import type { SqlEngine, SqlRunner } from './sql.js';

export const MINUTE_MS = 60_000;

const sum = (into: Record<string, number>, add: Record<string, number>) => {
  for (const [k, v] of Object.entries(add)) into[k] = (into[k] ?? 0) + v;
  return into;
};

/** Adds counts to a channel's minute, inside the transaction that adds them to its totals (the channel row locked). */
export async function addToMinute(sql: SqlRunner, json: (v: unknown) => any, tenant: string, channelId: string, counts: Record<string, number>, now: number): Promise<void> {
  if (!Object.keys(counts).length) return;
  const bucket = now - (now % MINUTE_MS);
  const row = await sql.one('SELECT counts FROM traffic_buckets WHERE channel_id = ? AND bucket = ?', [channelId, bucket]);
  const merged = sum(row ? { ...json(row.counts) } : {}, counts);
  await sql.run(`INSERT INTO traffic_buckets (channel_id, bucket, tenant_id, counts) VALUES (?, ?, ?, ?)
    ON CONFLICT (channel_id, bucket) DO UPDATE SET counts = excluded.counts`, [channelId, bucket, tenant, JSON.stringify(merged)]);
}

export function reportRepository(engine: SqlEngine): ReportRepository {
  const json = engine.json;
  return {
    async traffic(tenant, range) {
      const rows = await engine.all('SELECT channel_id, counts FROM traffic_buckets WHERE tenant_id = ? AND bucket >= ? AND bucket < ?', [tenant, range.from, range.to]);
      const byChannel = new Map<string, Record<string, number>>();
      for (const row of rows) byChannel.set(row.channel_id, sum(byChannel.get(row.channel_id) ?? {}, json(row.counts)));
      return byChannel;
    },
    async trafficSeries(tenant, range) {
      const rows = await engine.all(`SELECT bucket, counts FROM traffic_buckets WHERE tenant_id = ? AND bucket >= ? AND bucket < ?${range.channelId ? ' AND channel_id = ?' : ''} ORDER BY bucket`,
        [tenant, range.from, range.to, ...(range.channelId ? [range.channelId] : [])]);
      const series = new Map<number, Record<string, number>>();
      for (const row of rows) {
        const at = Number(row.bucket);
        const bucket = range.from + Math.floor((at - range.from) / range.bucketMs) * range.bucketMs;
        series.set(bucket, sum(series.get(bucket) ?? {}, json(row.counts)));
      }
      return [...series].map(([bucket, counts]) => ({ bucket, counts }));
    },
    async timelines(tenant, from, limit) {
      // Through the conversations active since `from` (their activity index), then each one's messages by its own index.
      const rows = await engine.all(`SELECT c.id AS conversation_id, c.channel_id, m.role, m.created_at FROM conversations c
        JOIN messages m ON m.conversation_id = c.id
        WHERE c.id IN (SELECT id FROM conversations WHERE tenant_id = ? AND last_activity_at >= ? ORDER BY last_activity_at DESC LIMIT ?) AND m.created_at >= ?
        ORDER BY c.id, m.seq`, [tenant, from, limit, from]);
      const out: ConversationTimeline[] = [];
      for (const row of rows) {
        let last = out.at(-1);
        if (!last || last.conversationId !== row.conversation_id) {
          last = { conversationId: row.conversation_id, channelId: row.channel_id ?? null, messages: [] };
          out.push(last);
        }
        last.messages.push({ role: row.role, at: Number(row.created_at) });
      }
      return out;
    },
    async get(tenant, day) {
      const row = await engine.one('SELECT report, created_at FROM daily_reports WHERE tenant_id = ? AND day = ?', [tenant, day]);
      return row && { report: json(row.report), createdAt: Number(row.created_at) };
    },
    put: (tenant, day, report, now) => engine.tx(async (sql) => {
      const stored = await sql.run('INSERT INTO daily_reports (tenant_id, day, report, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [tenant, day, JSON.stringify(report), now]);
      if (stored) await writeEvent(sql, tenant, { type: 'report.daily', conversationId: null, data: { date: day }, now });
      return stored > 0;
    }),
    async tenants() {
      const rows = await engine.all(`SELECT tenant_id FROM channels UNION SELECT tenant_id FROM agents UNION SELECT tenant_id FROM api_keys
        UNION SELECT tenant_id FROM alert_settings`, []);
      return rows.map((row) => row.tenant_id as string).sort();
    },
    async lease(name, owner, until, now) {
      return (await engine.run(`INSERT INTO maintenance_leases (name, owner, lease_until) VALUES (?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
        WHERE maintenance_leases.owner = excluded.owner OR maintenance_leases.lease_until < ?`, [name, owner, until, now])) > 0;
    },
    prune: (before) => engine.run('DELETE FROM traffic_buckets WHERE bucket < ?', [before]),
  };
}
