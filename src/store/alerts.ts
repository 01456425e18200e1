import type { AlertRecord } from '../backends/backend.js';
import {
  AlertListSchema, AlertRulesSchema, AlertSettingsSchema, effectiveRules, SYSTEM_TENANT,
  type Alert, type AlertListOptions, type AlertRules, type AlertSettings,
} from '../domain/alert.js';
import type { Page } from '../domain/entities.js';
import { validate } from '../domain/validate.js';
import { decodeCursor, encodeCursor, pageOf } from './cursor.js';
import type { Scope } from './scope.js';

export interface AlertRulesView {
  /** Every rule with the values in force: the defaults with the tenant's overrides. */
  rules: ReturnType<typeof effectiveRules>;
  /** What the tenant set (PUT replaces it). */
  overrides: AlertRules;
}

export interface AlertsApi {
  /** Open and resolved alerts, newest first (`status` to choose; `system: true` for the deployment's own). */
  list(options?: AlertListOptions): Promise<Page<Alert>>;
  /** Null when there is none. */
  get(id: string): Promise<Alert | null>;
  rules(): Promise<AlertRulesView>;
  /** Replaces the tenant's overrides of the default rules. */
  setRules(rules: AlertRules): Promise<AlertRulesView>;
  /** Where the tenant's alerts and daily reports are e-mailed (`emails: []` by default). */
  settings(): Promise<AlertSettings>;
  setSettings(settings: AlertSettings): Promise<AlertSettings>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
export const alertView = (a: AlertRecord): Alert => ({
  id: a.id, rule: a.rule, subject: a.subject, severity: a.severity as Alert['severity'], status: a.resolvedAt === null ? 'open' : 'resolved',
  message: a.message, details: a.details, raisedAt: iso(a.raisedAt)!, resolvedAt: iso(a.resolvedAt), system: a.tenant === SYSTEM_TENANT,
});

const cursorKey = (parts: unknown[]) =>
  parts.length === 2 && typeof parts[0] === 'number' && typeof parts[1] === 'string' ? { raisedAt: parts[0], id: parts[1] } : undefined;

export function alertsOf(s: Scope): AlertsApi {
  const { backend, tenant: t } = s;
  const rulesView = (overrides: AlertRules): AlertRulesView => ({ rules: effectiveRules(overrides), overrides });
  return {
    async list(options = {}) {
      const v = validate(AlertListSchema, options, 'alert list options');
      const limit = v.limit ?? 50;
      const before = v.cursor === undefined ? undefined : decodeCursor('alerts', v.cursor, cursorKey);
      const rows = await backend.alerts.list(v.system ? SYSTEM_TENANT : t, { status: v.status, before, limit: limit + 1 });
      const page = pageOf(rows, limit, (last) => encodeCursor('alerts', [last.raisedAt, last.id]));
      return { data: page.data.map(alertView), nextCursor: page.nextCursor };
    },
    async get(id) {
      const record = await backend.alerts.get(t, s.id(id, 'alert'));
      return record ? alertView(record) : null;
    },
    async rules() {
      return rulesView(((await backend.alerts.settings(t))?.rules ?? {}) as AlertRules);
    },
    async setRules(rules) {
      const v = validate(AlertRulesSchema, rules, 'alert rules');
      const saved = await backend.alerts.putSettings(t, { rules: v as Record<string, never> }, s.clock());
      return rulesView(saved.rules as AlertRules);
    },
    async settings() {
      return { emails: (await backend.alerts.settings(t))?.emails ?? [] };
    },
    async setSettings(settings) {
      const v = validate(AlertSettingsSchema, settings, 'alert settings');
      const saved = await backend.alerts.putSettings(t, { emails: v.emails }, s.clock());
      return { emails: saved.emails };
    },
  };
}
