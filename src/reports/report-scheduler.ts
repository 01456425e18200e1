import { localHour } from '../domain/budget.js';
import { periodic } from '../periodic.js';
import type { Mailer } from '../alerts/mailer.js';
import { alertOps } from '../store/alert-ops.js';
import { storeDailyReport, yesterdayIn, type DailyReport } from '../store/reports.js';
import { scopeOfStore, type Store } from '../store/store.js';

export interface ReportSchedulerConfig {
  store: Store;
  /** This instance's name in the day's lease. */
  owner: string;
  /** The local hour (0–23) from which yesterday's report is made (COLLOQUY_REPORT_HOUR). Default 7. */
  hour?: number | undefined;
  /** Whose days the reports count (COLLOQUY_REPORT_TZ). Default UTC. */
  timezone?: string | undefined;
  mailer?: Mailer | undefined;
  /** How often the clock is looked at. Default 1 min. */
  intervalMs?: number | undefined;
  log?: ((message: string, error?: unknown) => void) | undefined;
}

/** A report as an e-mail: what an operator reads over coffee. */
export function reportText(tenant: string, r: DailyReport): string {
  const lines = [`Colloquy daily report for tenant ${tenant}, ${r.date} (${r.timezone}).`, ''];
  for (const c of r.channels) {
    lines.push(`${c.name} (${c.kind}): ${c.received} received, ${c.stored} stored, ${c.duplicates} duplicates, ${c.rejected} rejected, ${c.errors} errors;`,
      `  sends: ${c.sends.sent} sent, ${c.sends.failed} failed, ${c.sends.retried} retried; conversations: ${c.conversations.new} new, ${c.conversations.reopened} reopened;`,
      `  median first response: ${c.medianFirstResponseSeconds === null ? '—' : `${c.medianFirstResponseSeconds} s`} (${c.firstResponses} conversations)`);
  }
  if (!r.channels.length) lines.push('No channels.');
  lines.push('', `Tokens: ${r.usage.total.totalTokens} (${r.usage.total.calls} model calls), cost $${r.usage.total.cost}.`);
  for (const a of r.usage.byAgent) lines.push(`  ${a.name ?? 'no agent'}: ${a.totalTokens} tokens, $${a.cost}`);
  lines.push('', `Alerts raised: ${r.alerts.raised}.`);
  for (const a of r.alerts.list) lines.push(`  [${a.severity}] ${a.message}${a.resolvedAt ? ' (resolved)' : ''}`);
  return lines.join('\n');
}

/**
 * Daily reports: from `hour` on in `timezone`, yesterday's report of each tenant is generated, stored (once across a
 * fleet: the first instance to take the day's lease makes them, the database keeps one per tenant and day),
 * announced as a `report.daily` event and e-mailed to the tenant's alert addresses.
 */
export function createReportScheduler(config: ReportSchedulerConfig) {
  const log = config.log ?? (() => {});
  const hour = config.hour ?? 7;
  const timezone = config.timezone ?? 'UTC';
  const s = scopeOfStore(config.store);
  const alerts = alertOps(config.store);
  let done: string | undefined;

  async function check(): Promise<void> {
    const now = s.clock();
    const date = yesterdayIn(now, timezone);
    if (localHour(now, timezone) < hour || done === date) return;
    if (!(await s.backend.reports.lease(`report:${date}`, config.owner, now + 600_000, now))) return; // another instance makes them
    let failed = 0;
    for (const tenant of await s.backend.reports.tenants()) {
      try {
        const report = await storeDailyReport(scopeOfStore(config.store.tenant(tenant)), date, timezone);
        if (!report || !config.mailer) continue;
        const { emails } = await alerts.settings(tenant);
        await config.mailer.send(emails, `[Colloquy] daily report ${date}`, reportText(tenant, report)).catch((error) => log(`the daily report of ${tenant} could not be e-mailed`, error));
      } catch (error) {
        failed++;
        log(`the daily report of tenant ${tenant} could not be made`, error);
      }
    }
    // A tenant whose report failed is tried again at the next look (this instance keeps the day's lease); the others
    // are stored, so they are not made twice.
    if (failed) return;
    done = date;
    // Old minutes go: the reports and charts read at most a month back.
    await s.backend.reports.prune(now - 35 * 86_400_000).catch((error) => log('traffic minutes could not be pruned', error));
  }

  const job = periodic(check, { intervalMs: config.intervalMs ?? 60_000, onError: (error) => log('daily reports could not be made', error) });
  return {
    check: job.run,
    start: job.start,
    stop: job.stop,
  };
}

export type ReportScheduler = ReturnType<typeof createReportScheduler>;
