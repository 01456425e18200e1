import type { AlertRecord, AlertRepository } from '../alert-repositories.js';
import { writeEvent } from './events.js';
import type { Row, SqlEngine, SqlRunner } from './sql.js';

const SYSTEM = '*';
const alertOf = (row: Row, json: (value: unknown) => any): AlertRecord => ({
  id: row.id, tenant: row.tenant_id, rule: row.rule, subject: row.subject, severity: row.severity, message: row.message,
  details: json(row.details), raisedAt: Number(row.raised_at), clearSince: row.clear_since === null || row.clear_since === undefined ? null : Number(row.clear_since),
  resolvedAt: row.resolved_at === null || row.resolved_at === undefined ? null : Number(row.resolved_at),
});

/** The alert's event, in the transaction that raised or resolved it; the deployment's own alerts are in no tenant's log. */
const announce = (sql: SqlRunner, a: AlertRecord, type: 'alert.raised' | 'alert.resolved', now: number) =>
  a.tenant === SYSTEM ? undefined : writeEvent(sql, a.tenant, { type, conversationId: null, data: { alertId: a.id, rule: a.rule, subject: a.subject, severity: a.severity }, now });

export function alertRepository(engine: SqlEngine): AlertRepository {
  const json = engine.json;
  return {
    raise: (tenant, a) => engine.tx(async (sql) => {
      const row = await sql.one(`INSERT INTO alerts (id, tenant_id, rule, subject, severity, message, details, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (tenant_id, rule, subject) WHERE resolved_at IS NULL DO NOTHING RETURNING *`,
      [a.id, tenant, a.rule, a.subject, a.severity, a.message, JSON.stringify(a.details), a.raisedAt]);
      if (!row) {
        await sql.run('UPDATE alerts SET clear_since = NULL WHERE tenant_id = ? AND rule = ? AND subject = ? AND resolved_at IS NULL AND clear_since IS NOT NULL', [tenant, a.rule, a.subject]);
        return undefined;
      }
      const alert = alertOf(row, json);
      await announce(sql, alert, 'alert.raised', a.raisedAt);
      return alert;
    }),
    clear: (tenant, rule, subject, now, holdDownMs) => engine.tx(async (sql) => {
      const open = await sql.one(`UPDATE alerts SET clear_since = COALESCE(clear_since, ?) WHERE tenant_id = ? AND rule = ? AND subject = ? AND resolved_at IS NULL RETURNING *`, [now, tenant, rule, subject]);
      if (!open || Number(open.clear_since) + holdDownMs > now) return undefined;
      const row = await sql.one('UPDATE alerts SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL RETURNING *', [now, open.id]);
      if (!row) return undefined;
      const alert = alertOf(row, json);
      await announce(sql, alert, 'alert.resolved', now);
      return alert;
    }),
    async get(tenant, id) {
      const row = await engine.one('SELECT * FROM alerts WHERE id = ? AND tenant_id = ?', [id, tenant]);
      return row && alertOf(row, json);
    },
    async list(tenant, page) {
      const where = ['tenant_id = ?'];
      const params: unknown[] = [tenant];
      if (page.status) where.push(page.status === 'open' ? 'resolved_at IS NULL' : 'resolved_at IS NOT NULL');
      if (page.before) {
        where.push('(raised_at < ? OR (raised_at = ? AND id < ?))');
        params.push(page.before.raisedAt, page.before.raisedAt, page.before.id);
      }
      const rows = await engine.all(`SELECT * FROM alerts WHERE ${where.join(' AND ')} ORDER BY raised_at DESC, id DESC LIMIT ?`, [...params, page.limit]);
      return rows.map((row) => alertOf(row, json));
    },
    async raisedBetween(tenant, from, to) {
      return (await engine.all('SELECT * FROM alerts WHERE tenant_id = ? AND raised_at >= ? AND raised_at < ? ORDER BY raised_at, id', [tenant, from, to])).map((row) => alertOf(row, json));
    },
    async tenants() {
      const rows = await engine.all(`SELECT tenant_id FROM channels UNION SELECT tenant_id FROM webhook_endpoints UNION SELECT tenant_id FROM budgets
        UNION SELECT tenant_id FROM alerts WHERE resolved_at IS NULL AND tenant_id <> ?`, [SYSTEM]);
      return rows.map((row) => row.tenant_id as string).sort();
    },
    async settings(tenant) {
      const row = await engine.one('SELECT * FROM alert_settings WHERE tenant_id = ?', [tenant]);
      return row && { rules: json(row.rules), emails: json(row.emails), updatedAt: Number(row.updated_at) };
    },
    async putSettings(tenant, settings, now) {
      const row = await engine.one(`INSERT INTO alert_settings (tenant_id, rules, emails, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (tenant_id) DO UPDATE SET rules = ${settings.rules ? 'excluded.rules' : 'alert_settings.rules'},
          emails = ${settings.emails ? 'excluded.emails' : 'alert_settings.emails'}, updated_at = excluded.updated_at RETURNING *`,
      [tenant, JSON.stringify(settings.rules ?? {}), JSON.stringify(settings.emails ?? []), now]);
      return { rules: json(row!.rules), emails: json(row!.emails), updatedAt: Number(row!.updated_at) };
    },
  };
}
