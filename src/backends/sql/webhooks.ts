import type { WebhookAttemptRecord, WebhookEndpointRecord, WebhookRepository } from '../webhook-repositories.js';
import type { Row, SqlEngine } from './sql.js';

const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

const endpointOf = (row: Row, json: (value: unknown) => any): WebhookEndpointRecord => ({
  id: row.id, url: row.url, events: json(row.events), description: row.description ?? null, enabled: Boolean(row.enabled),
  secrets: json(row.secrets), version: Number(row.version), generation: Number(row.generation), deliveredTo: row.delivered_to ?? null, owner: row.owner ?? null,
  leaseUntil: num(row.lease_until), attempts: Number(row.attempts), failingSince: num(row.failing_since), nextAttemptAt: Number(row.next_attempt_at),
  lastError: row.last_error === null || row.last_error === undefined ? null : json(row.last_error), lastSuccessAt: num(row.last_success_at),
  disabledReason: row.disabled_reason ?? null, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at),
});

const attemptOf = (row: Row): WebhookAttemptRecord => ({
  id: Number(row.id), eventId: row.event_id, eventType: row.event_type, attempt: Number(row.attempt), ok: Boolean(row.ok),
  httpStatus: num(row.http_status), latencyMs: Number(row.latency_ms), error: row.error ?? null, createdAt: Number(row.created_at),
});

// Guarded: an endpoint deleted while its attempts were made takes them with it.
const ATTEMPT_INSERT = `INSERT INTO webhook_deliveries (endpoint_id, tenant_id, event_id, event_type, attempt, ok, http_status, latency_ms, error, created_at)
  SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?)`;

export function webhookRepository(engine: SqlEngine): WebhookRepository {
  const json = engine.json;
  const one = async (sql: string, params: unknown[]) => {
    const row = await engine.one(sql, params);
    return row && endpointOf(row, json);
  };
  const insertAttempts = async (run: (sql: string, params: unknown[]) => Promise<number>, tenant: string, id: string, attempts: Parameters<WebhookRepository['record']>[2]) => {
    for (const a of attempts) await run(ATTEMPT_INSERT, [id, tenant, a.eventId, a.eventType, a.attempt, a.ok, a.httpStatus, Math.round(a.latencyMs), a.error, a.at, id]);
  };
  return {
    async create(tenant, e) {
      const row = await engine.one(`INSERT INTO webhook_endpoints (id, tenant_id, url, events, description, enabled, secrets, delivered_to, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      [e.id, tenant, e.url, JSON.stringify(e.events), e.description, e.enabled, JSON.stringify(e.secrets), e.deliveredTo, e.now, e.now]);
      return endpointOf(row!, json);
    },
    get: (tenant, id) => one('SELECT * FROM webhook_endpoints WHERE id = ? AND tenant_id = ?', [id, tenant]),
    async list(tenant) {
      return (await engine.all('SELECT * FROM webhook_endpoints WHERE tenant_id = ? ORDER BY id', [tenant])).map((row) => endpointOf(row, json));
    },
    update(tenant, id, patch, now) {
      const sets: string[] = [];
      const params: unknown[] = [];
      const set = (column: string, value: unknown) => {
        sets.push(`${column} = ?`);
        params.push(value);
      };
      if (patch.url !== undefined) set('url', patch.url);
      if (patch.events !== undefined) set('events', JSON.stringify(patch.events));
      if (patch.description !== undefined) set('description', patch.description);
      if (patch.enabled !== undefined) {
        set('enabled', patch.enabled);
        // Enabled again: tried at once, from where it stopped, its failing run forgotten.
        if (patch.enabled) sets.push('attempts = 0', 'failing_since = NULL', 'next_attempt_at = 0', 'disabled_reason = NULL', 'generation = generation + CASE WHEN enabled THEN 0 ELSE 1 END');
      }
      return one(`UPDATE webhook_endpoints SET ${[...sets, 'version = version + 1', 'updated_at = ?'].join(', ')} WHERE id = ? AND tenant_id = ? RETURNING *`, [...params, now, id, tenant]);
    },
    setSecrets: (tenant, id, secrets, version, now) =>
      one('UPDATE webhook_endpoints SET secrets = ?, version = version + 1, updated_at = ? WHERE id = ? AND tenant_id = ? AND version = ? RETURNING *', [JSON.stringify(secrets), now, id, tenant, version]),
    rewind: (tenant, id, deliveredTo, now) =>
      one(`UPDATE webhook_endpoints SET delivered_to = ?, attempts = 0, failing_since = NULL, next_attempt_at = 0, last_error = NULL,
        version = version + 1, generation = generation + 1, updated_at = ? WHERE id = ? AND tenant_id = ? RETURNING *`, [deliveredTo, now, id, tenant]),
    async startAt(tenant, id, deliveredTo, enabled) {
      await engine.run('UPDATE webhook_endpoints SET delivered_to = ?, enabled = ? WHERE id = ? AND tenant_id = ? AND delivered_to IS NULL AND NOT enabled', [deliveredTo, enabled, id, tenant]);
    },
    async delete(tenant, id) {
      return (await engine.run('DELETE FROM webhook_endpoints WHERE id = ? AND tenant_id = ?', [id, tenant])) > 0;
    },
    async enabled() {
      return (await engine.all('SELECT tenant_id, id FROM webhook_endpoints WHERE enabled ORDER BY id', [])).map((row) => ({ tenant: row.tenant_id, id: row.id }));
    },
    claim: (tenant, id, owner, until, now) =>
      one(`UPDATE webhook_endpoints SET owner = ?, lease_until = ? WHERE id = ? AND tenant_id = ? AND enabled
        AND (owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until < ?) RETURNING *`, [owner, until, id, tenant, owner, now]),
    async release(tenant, id, owner) {
      await engine.run('UPDATE webhook_endpoints SET owner = NULL, lease_until = NULL WHERE id = ? AND tenant_id = ? AND owner = ?', [id, tenant, owner]);
    },
    progress: (tenant, id, owner, generation, state, attempts, now) => engine.tx(async (sql) => {
      const changed = await sql.run(`UPDATE webhook_endpoints SET delivered_to = ?, attempts = ?, failing_since = ?, next_attempt_at = ?, last_error = ?,
          last_success_at = ?, enabled = ?, disabled_reason = ?, updated_at = ?
        WHERE id = ? AND tenant_id = ? AND owner = ? AND generation = ? AND enabled`,
      [state.deliveredTo, state.attempts, state.failingSince, state.nextAttemptAt, state.lastError === null ? null : JSON.stringify(state.lastError),
        state.lastSuccessAt, state.disable === undefined, state.disable ?? null, now, id, tenant, owner, generation]);
      await insertAttempts((text, params) => sql.run(text, params), tenant, id, attempts);
      return changed > 0;
    }),
    record: (tenant, id, attempts) => engine.tx((sql) => insertAttempts((text, params) => sql.run(text, params), tenant, id, attempts)),
    async attempts(tenant, id, page) {
      const rows = await engine.all(`SELECT * FROM webhook_deliveries WHERE endpoint_id = ? AND tenant_id = ?${page.before !== undefined ? ' AND id < ?' : ''}
        ORDER BY id DESC LIMIT ?`, [id, tenant, ...(page.before !== undefined ? [page.before] : []), page.limit]);
      return rows.map(attemptOf);
    },
    async prune(before, keep) {
      let deleted = await engine.run('DELETE FROM webhook_deliveries WHERE created_at < ?', [before]);
      for (const { id } of await engine.all('SELECT id FROM webhook_endpoints ORDER BY id', [])) {
        const edge = await engine.one('SELECT id FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?', [id, keep]);
        if (edge) deleted += await engine.run('DELETE FROM webhook_deliveries WHERE endpoint_id = ? AND id <= ?', [id, edge.id]);
      }
      return deleted;
    },
  };
}
