import type { ChannelTrafficRepository, TrafficDelta, TrafficRecord } from '../backend.js';
import { writeEvent } from './events.js';
import { addToMinute } from './reports.js';
import type { Row, SqlEngine } from './sql.js';

/** The newest provider errors kept per channel. */
const RECENT_ERRORS = 20;

const recordOf = (json: (v: unknown) => any, row: Row): TrafficRecord => ({
  counts: json(row.counts) ?? {},
  sendErrors: json(row.send_errors) ?? {},
  recentErrors: json(row.recent_errors) ?? [],
  lastInboundAt: row.last_inbound_at === null ? null : Number(row.last_inbound_at),
  lastOutboundAt: row.last_outbound_at === null ? null : Number(row.last_outbound_at),
  tokenErrorAt: row.token_error_at === null ? null : Number(row.token_error_at),
  health: row.health ?? null,
  healthReason: row.health_reason ?? null,
  healthAt: row.health_at === null ? null : Number(row.health_at),
  pollOffset: row.poll_offset === null ? null : Number(row.poll_offset),
});

const add = (a: Record<string, number>, b: Record<string, number>) => {
  const sum = { ...a };
  for (const [k, v] of Object.entries(b)) sum[k] = (sum[k] ?? 0) + v;
  return sum;
};
const later = (a: number | null, b: number | null | undefined) => (b === undefined || b === null ? a : a === null ? b : Math.max(a, b));

/** Each channel's traffic: counters every instance adds to, the newest errors, health as last decided, the poll offset. */
export function channelTrafficRepository(engine: SqlEngine): ChannelTrafficRepository {
  const locked = async (sql: Parameters<Parameters<SqlEngine['tx']>[0]>[0], tenant: string, channelId: string, now: number) => {
    await sql.run('INSERT INTO channel_traffic (channel_id, tenant_id, updated_at) SELECT id, tenant_id, ? FROM channels WHERE id = ? AND tenant_id = ? ON CONFLICT DO NOTHING', [now, channelId, tenant]);
    return sql.one('SELECT * FROM channel_traffic WHERE channel_id = ? AND tenant_id = ? FOR UPDATE', [channelId, tenant]);
  };
  return {
    add: (tenant, channelId, delta: TrafficDelta, now) => engine.tx(async (sql) => {
      const row = await locked(sql, tenant, channelId, now);
      if (!row) return;
      const current = recordOf(engine.json, row);
      const recent = [...delta.recentErrors, ...current.recentErrors].sort((a, b) => b.at - a.at).slice(0, RECENT_ERRORS);
      const tokenErrorAt = delta.tokenError === 'set' ? now : delta.tokenError === 'clear' ? null : current.tokenErrorAt;
      await sql.run(`UPDATE channel_traffic SET counts = ?, send_errors = ?, recent_errors = ?, last_inbound_at = ?, last_outbound_at = ?,
        token_error_at = ?, updated_at = ? WHERE channel_id = ?`, [
        JSON.stringify(add(current.counts, delta.counts)), JSON.stringify(add(current.sendErrors, delta.sendErrors)), JSON.stringify(recent),
        later(current.lastInboundAt, delta.lastInboundAt), later(current.lastOutboundAt, delta.lastOutboundAt), tokenErrorAt, now, channelId,
      ]);
      await addToMinute(sql, engine.json, tenant, channelId, delta.counts, now); // the day's and the charts' figures
    }),

    async get(tenant, channelId) {
      const row = await engine.one('SELECT * FROM channel_traffic WHERE channel_id = ? AND tenant_id = ?', [channelId, tenant]);
      return row && recordOf(engine.json, row);
    },

    setHealth: (tenant, channelId, health, now) => engine.tx(async (sql) => {
      const row = await locked(sql, tenant, channelId, now);
      // Only a change of status is written (and announced): reasons change with every judgement ("for 7 min").
      if (!row || row.health === health.status) return false;
      await sql.run('UPDATE channel_traffic SET health = ?, health_reason = ?, health_at = ? WHERE channel_id = ?', [health.status, health.reason, now, channelId]);
      await writeEvent(sql, tenant, { type: 'channel.health', conversationId: null, data: { channelId, status: health.status, previous: row.health ?? null, reason: health.reason }, now });
      return true;
    }),

    claimPoll: (tenant, channelId, owner, until, now) => engine.tx(async (sql) => {
      if (!(await locked(sql, tenant, channelId, now))) return false;
      return (await sql.run(`UPDATE channel_traffic SET poll_owner = ?, poll_until = ? WHERE channel_id = ?
        AND (poll_owner IS NULL OR poll_owner = ? OR poll_until < ?)`, [owner, until, channelId, owner, now])) === 1;
    }),

    async releasePoll(tenant, channelId, owner) {
      await engine.run('UPDATE channel_traffic SET poll_owner = NULL, poll_until = NULL WHERE channel_id = ? AND tenant_id = ? AND poll_owner = ?', [channelId, tenant, owner]);
    },

    setPollOffset: (tenant, channelId, offset, now) => engine.tx(async (sql) => {
      if (!(await locked(sql, tenant, channelId, now))) return;
      await sql.run('UPDATE channel_traffic SET poll_offset = greatest(coalesce(poll_offset, 0), ?), updated_at = ? WHERE channel_id = ?', [offset, now, channelId]);
    }),
  };
}
