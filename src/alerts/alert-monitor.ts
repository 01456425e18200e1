import type { AlertRecord } from '../backends/backend.js';
import { periodic } from '../periodic.js';
import type { HealthMonitor } from '../channels/channel-health.js';
import { ALERT_DEFAULTS, SEVERITY, SYSTEM_HOLD_DOWN_SECONDS, SYSTEM_TENANT, type AlertRule, type SystemRule } from '../domain/alert.js';
import { budgetDay } from '../domain/budget.js';
import type { JsonObject } from '../domain/entities.js';
import { newId } from '../domain/ids.js';
import { alertOps } from '../store/alert-ops.js';
import type { Store } from '../store/store.js';
import type { Mailer } from './mailer.js';
import { problemsOf } from './self-check.js';

export interface AlertMonitorConfig {
  store: Store;
  /** Channel health as judged in the background: stale, failing, outbox age, counters. */
  health: HealthMonitor;
  /** E-mail, when COLLOQUY_SMTP_URL is set. */
  mailer?: Mailer | undefined;
  /** Where system alerts are e-mailed (COLLOQUY_ALERT_EMAILS). */
  adminEmails?: readonly string[] | undefined;
  /** How often conditions are evaluated. Default 30 s. */
  intervalMs?: number | undefined;
  /** How often the database is diagnosed (what `colloquy doctor` checks). Default 1 h; 0: never. */
  selfCheckMs?: number | undefined;
  log?: ((message: string, error?: unknown) => void) | undefined;
}

interface Condition {
  rule: AlertRule | SystemRule;
  subject: string;
  message: string;
  details: JsonObject;
}

const keyOf = (rule: string, subject: string) => `${rule}\0${subject}`;
/** The rules this monitor decides; `backup.failed` is the backup job's own. */
const MONITORED_SYSTEM_RULES: ReadonlySet<string> = new Set(['database.degraded', 'redis.degraded', 'doctor.problems']);
const TENANT_RULES: ReadonlySet<string> = new Set(Object.keys(ALERT_DEFAULTS));

/**
 * Alerts: every `intervalMs`, each tenant's conditions (its channels' health and outbox, its webhook endpoints, its
 * budgets, its ingest error rate) and the deployment's (database, Redis, the periodic self-check) are evaluated
 * against the rules in force; a condition that holds raises its alert once, across a fleet (the database's unique
 * index decides), and one that has been clear for its rule's hold-down resolves it once. Raised and resolved
 * alerts are `alert.raised` / `alert.resolved` events (so webhooks and streams carry them) and are e-mailed, by the
 * instance that raised or resolved them, to the tenant's addresses (system alerts: the admin's). A system alert
 * raised while the database is down is e-mailed at once and recorded when the database is back.
 */
export function createAlertMonitor(config: AlertMonitorConfig) {
  const log = config.log ?? (() => {});
  const ops = alertOps(config.store);
  const intervalMs = config.intervalMs ?? 30_000;
  const selfCheckMs = config.selfCheckMs ?? 3_600_000;
  let problems: { at: number; list: string[] } | undefined;
  /** Counters of each channel over the last window: [time, received, errors]. */
  const samples = new Map<string, Array<[number, number, number]>>();
  /** System alerts raised while the database was down: e-mailed already, recorded when it answers again. */
  const pending = new Map<string, { alert: Condition; at: number; id: string }>();
  /** System conditions e-mailed while the database was down, until their alert resolves: a flapping database is one e-mail. */
  const mailedDown = new Set<string>();

  async function notify(tenant: string, alert: AlertRecord, what: 'raised' | 'resolved'): Promise<void> {
    if (!config.mailer) return;
    const emails = tenant === SYSTEM_TENANT ? [...(config.adminEmails ?? [])] : (await ops.settings(tenant)).emails;
    if (!emails.length) return;
    const where = tenant === SYSTEM_TENANT ? 'the deployment' : `tenant ${tenant}`;
    const subject = `[Colloquy] ${what === 'raised' ? alert.severity : 'resolved'}: ${alert.message}`;
    const text = [
      `${what === 'raised' ? 'Raised' : 'Resolved'} for ${where} at ${new Date(what === 'raised' ? alert.raisedAt : alert.resolvedAt!).toISOString()}.`,
      '', alert.message, '', `rule: ${alert.rule}`, ...(alert.subject ? [`subject: ${alert.subject}`] : []), `alert: ${alert.id}`,
      '', JSON.stringify(alert.details, null, 2),
    ].join('\n');
    await config.mailer.send(emails, subject, text).catch((error) => log(`alert ${alert.id}: could not e-mail ${emails.join(', ')}`, error));
  }

  /** Raises what holds, clears what does not (of the rules `evaluated`: others are another job's); `holdDownOf` per rule, in seconds. */
  async function apply(tenant: string, conditions: Condition[], holdDownOf: (rule: string) => number, evaluated: ReadonlySet<string>): Promise<void> {
    const now = ops.clock();
    const active = new Map(conditions.map((c) => [keyOf(c.rule, c.subject), c]));
    for (const c of active.values()) {
      const raised = await ops.raise(tenant, { id: newId(), rule: c.rule, subject: c.subject, severity: SEVERITY[c.rule], message: c.message, details: c.details, raisedAt: now });
      if (raised) await notify(tenant, raised, 'raised');
    }
    for (const open of await ops.open(tenant)) {
      if (active.has(keyOf(open.rule, open.subject)) || !evaluated.has(open.rule)) continue;
      const resolved = await ops.clear(tenant, open.rule, open.subject, holdDownOf(open.rule) * 1000);
      if (resolved && tenant === SYSTEM_TENANT) mailedDown.delete(keyOf(resolved.rule, resolved.subject));
      if (resolved) await notify(tenant, resolved, 'resolved');
    }
  }

  /** A channel's errors over its received messages in the window, from the fleet's counters sampled each tick. */
  function errorRate(channelId: string, received: number, errors: number, now: number, windowMs: number): { received: number; errors: number } {
    const list = samples.get(channelId) ?? [];
    list.push([now, received, errors]);
    while (list.length > 1 && list[1]![0] <= now - windowMs) list.shift();
    samples.set(channelId, list);
    const [, r0, e0] = list[0]!;
    return { received: received - r0, errors: errors - e0 };
  }

  async function tenantConditions(tenant: string, rules: Awaited<ReturnType<typeof ops.settings>>['rules']): Promise<Condition[]> {
    const now = ops.clock();
    const found: Condition[] = [];
    for (const { tenant: owner, channel, health } of config.health.latest.values()) {
      if (owner !== tenant) continue;
      const name = `Channel "${channel.name}" (${channel.kind})`;
      const base = { channelId: channel.id, channelName: channel.name, reasons: health.reasons };
      if (health.status === 'stale') found.push({ rule: 'channel.stale', subject: channel.id, message: `${name} is stale: ${health.reasons.at(-1) ?? 'nothing arrived'}`, details: base });
      if (health.status === 'failing') found.push({ rule: 'channel.failing', subject: channel.id, message: `${name} is failing: ${health.reasons[0] ?? ''}`, details: base });
      const age = health.outbox.oldestPendingAgeSeconds;
      if (age !== null && age > rules['outbox.backlog'].thresholdSeconds) {
        found.push({ rule: 'outbox.backlog', subject: channel.id, message: `${name}: the oldest outbound message has waited ${Math.round(age)} s (${health.outbox.depth} pending)`, details: { ...base, depth: health.outbox.depth, oldestPendingAgeSeconds: age } });
      }
      const c = health.counters;
      const rule = rules['ingest.errors'];
      const rate = errorRate(channel.id, c.received ?? 0, (c.errors ?? 0) + (c.invalid ?? 0), now, rule.windowSeconds * 1000);
      if (rate.received >= rule.minMessages && rate.errors >= rate.received * rule.ratio) {
        found.push({ rule: 'ingest.errors', subject: channel.id, message: `${name}: ${rate.errors} of ${rate.received} messages received in ${Math.round(rule.windowSeconds / 60)} min were errors`, details: { ...base, ...rate } });
      }
    }
    for (const endpoint of await config.store.tenant(tenant).webhooks.list()) {
      const base = { endpointId: endpoint.id, url: endpoint.url, lastError: endpoint.lastError };
      if (endpoint.enabled && endpoint.attempts >= rules['webhook.failing'].afterAttempts) {
        found.push({ rule: 'webhook.failing', subject: endpoint.id, message: `Webhook ${endpoint.url} is failing: ${endpoint.attempts} attempts in a row (${String(endpoint.lastError?.error ?? 'no answer')})`, details: { ...base, attempts: endpoint.attempts, failingSince: endpoint.failingSince } });
      }
      if (!endpoint.enabled && endpoint.disabledReason) {
        found.push({ rule: 'webhook.disabled', subject: endpoint.id, message: `Webhook ${endpoint.url} was disabled: ${endpoint.disabledReason}`, details: { ...base, disabledReason: endpoint.disabledReason } });
      }
    }
    for (const budget of await ops.budgets(tenant)) {
      const { day } = budgetDay(now, String(budget.config.timezone ?? 'UTC'));
      const details = { scope: budget.scope, day, budget: budget.config };
      if (budget.exceededDay === day) found.push({ rule: 'budget.exceeded', subject: budget.scope, message: `Budget ${budget.scope} is exceeded for ${day}: agents refuse until the day ends`, details });
      else if (budget.economyDay === day) found.push({ rule: 'budget.economy', subject: budget.scope, message: `Budget ${budget.scope} reached economy mode for ${day}`, details });
    }
    return found.filter((c) => rules[c.rule as AlertRule].enabled);
  }

  async function systemConditions(): Promise<{ conditions: Condition[]; databaseUp: boolean }> {
    const conditions: Condition[] = [];
    let databaseUp = true;
    try {
      await config.store.health();
    } catch (error) {
      databaseUp = false;
      conditions.push({ rule: 'database.degraded', subject: '', message: `The database does not answer: ${(error as Error).message}`, details: { dialect: config.store.dialect, error: (error as Error).message } });
    }
    const cache = config.store.cacheStats();
    if (cache?.status === 'degraded') conditions.push({ rule: 'redis.degraded', subject: '', message: 'Redis fails: reads and writes are served by the database alone', details: { ...cache } as unknown as JsonObject });
    if (databaseUp && selfCheckMs > 0 && (!problems || ops.clock() - problems.at >= selfCheckMs)) {
      problems = { at: ops.clock(), list: problemsOf(await config.store.diagnose()) };
    }
    if (problems?.list.length) conditions.push({ rule: 'doctor.problems', subject: '', message: `The self-check found ${problems.list.length} problem(s): ${problems.list[0]}`, details: { problems: problems.list } });
    return { conditions, databaseUp };
  }

  async function check(): Promise<void> {
    if (!config.health.started()) await config.health.check();
    const { conditions, databaseUp } = await systemConditions();
    if (!databaseUp) {
      // Nothing can be recorded: e-mailed now, once, and recorded when the database answers again.
      for (const c of conditions) {
        const key = keyOf(c.rule, c.subject);
        if (pending.has(key)) continue;
        const entry = { alert: c, at: ops.clock(), id: newId() };
        pending.set(key, entry);
        log(`system alert: ${c.message}`);
        if (mailedDown.has(key)) continue;
        mailedDown.add(key);
        const record: AlertRecord = { id: entry.id, tenant: SYSTEM_TENANT, rule: c.rule, subject: c.subject, severity: SEVERITY[c.rule], message: c.message, details: c.details, raisedAt: entry.at, clearSince: null, resolvedAt: null };
        await notify(SYSTEM_TENANT, record, 'raised');
      }
      return;
    }
    for (const { alert: c, at, id } of pending.values()) {
      await ops.raise(SYSTEM_TENANT, { id, rule: c.rule, subject: c.subject, severity: SEVERITY[c.rule], message: c.message, details: c.details, raisedAt: at });
    }
    pending.clear();
    await apply(SYSTEM_TENANT, conditions, () => SYSTEM_HOLD_DOWN_SECONDS, MONITORED_SYSTEM_RULES);
    for (const tenant of await ops.tenants()) {
      try {
        const { rules } = await ops.settings(tenant);
        await apply(tenant, await tenantConditions(tenant, rules), (rule) => (rules as Record<string, { holdDownSeconds: number }>)[rule]?.holdDownSeconds ?? 0, TENANT_RULES);
      } catch (error) {
        log(`alerts of tenant ${tenant} could not be evaluated`, error);
      }
    }
  }

  const job = periodic(check, { intervalMs, onError: (error) => log('alerts could not be evaluated', error) });
  return {
    /** Evaluates now (the background does it every `intervalMs`). */
    check: job.run,
    /** E-mails an alert raised or resolved by another job (a backup) as the monitor's own are. */
    notify,
    start: job.start,
    stop: job.stop,
  };
}

export type AlertMonitor = ReturnType<typeof createAlertMonitor>;
