import Type, { type Static, type TSchema } from 'typebox';
import { JsonObjectSchema, Nullable, StringEnum } from './entities.js';

export const AlertSeveritySchema = StringEnum(['info', 'warning', 'critical']);
export type AlertSeverity = Static<typeof AlertSeveritySchema>;

const HoldDown = Type.Integer({ minimum: 0, maximum: 86_400, description: 'Seconds the condition must stay clear before the alert resolves (no flapping). Default 300.' });
const Enabled = Type.Boolean({ description: 'Default true.' });
const common = { enabled: Type.Optional(Enabled), holdDownSeconds: Type.Optional(HoldDown) };
const rule = <P extends Record<string, TSchema>>(params: P, description: string) =>
  Type.Optional(Type.Object({ ...common, ...params }, { additionalProperties: false, description }));
const opt = <T extends TSchema>(schema: T) => Type.Optional(schema);

/**
 * The rules of a tenant's alerts, each with its defaults (`ALERT_DEFAULTS`), overridable per tenant. System rules
 * (the deployment's own database, Redis and self-check) are the operator's, not a tenant's: `SYSTEM_RULES`.
 */
export const AlertRulesSchema = Type.Object({
  'channel.stale': rule({}, "A channel's health is stale: nothing arrived for its staleAfterSeconds."),
  'channel.failing': rule({}, "A channel's health is failing: the provider refused its token, or most recent sends failed."),
  'outbox.backlog': rule({ thresholdSeconds: opt(Type.Integer({ minimum: 1, maximum: 604_800 })) }, "A channel's oldest pending outbound message is older than thresholdSeconds (default 300)."),
  'webhook.failing': rule({ afterAttempts: opt(Type.Integer({ minimum: 1, maximum: 1000 })) }, 'A webhook endpoint has failed afterAttempts times in a row (default 5) on the event at its head.'),
  'webhook.disabled': rule({}, 'A webhook endpoint was disabled because its retries ran out.'),
  'budget.economy': rule({}, 'A budget reached economyAt today: agents run in economy mode.'),
  'budget.exceeded': rule({}, 'A budget is exceeded today: agents refuse.'),
  'ingest.errors': rule({
    ratio: opt(Type.Number({ minimum: 0.001, maximum: 1 })), minMessages: opt(Type.Integer({ minimum: 1, maximum: 1_000_000 })), windowSeconds: opt(Type.Integer({ minimum: 60, maximum: 86_400 })),
  }, "Of a channel's messages received in the last windowSeconds (default 900), at least ratio (default 0.1) were errors, over at least minMessages (default 20)."),
}, { additionalProperties: false, title: 'AlertRules' });
export type AlertRules = Static<typeof AlertRulesSchema>;
export type AlertRule = keyof AlertRules;
export const SYSTEM_RULES = ['database.degraded', 'redis.degraded', 'doctor.problems', 'backup.failed'] as const;
export type SystemRule = (typeof SYSTEM_RULES)[number];

type Effective<R> = { [K in keyof R]-?: Required<NonNullable<R[K]>> };
export const ALERT_DEFAULTS: Effective<AlertRules> = {
  'channel.stale': { enabled: true, holdDownSeconds: 300 },
  'channel.failing': { enabled: true, holdDownSeconds: 300 },
  'outbox.backlog': { enabled: true, holdDownSeconds: 300, thresholdSeconds: 300 },
  'webhook.failing': { enabled: true, holdDownSeconds: 300, afterAttempts: 5 },
  'webhook.disabled': { enabled: true, holdDownSeconds: 0 },
  'budget.economy': { enabled: true, holdDownSeconds: 0 },
  'budget.exceeded': { enabled: true, holdDownSeconds: 0 },
  'ingest.errors': { enabled: true, holdDownSeconds: 300, ratio: 0.1, minMessages: 20, windowSeconds: 900 },
};
export const SEVERITY: Record<AlertRule | SystemRule, AlertSeverity> = {
  'channel.stale': 'warning', 'channel.failing': 'critical', 'outbox.backlog': 'warning', 'webhook.failing': 'warning',
  'webhook.disabled': 'critical', 'budget.economy': 'info', 'budget.exceeded': 'critical', 'ingest.errors': 'warning',
  'database.degraded': 'critical', 'redis.degraded': 'warning', 'doctor.problems': 'warning', 'backup.failed': 'critical',
};
/** System alerts' hold-down: the database answering again for a minute resolves its alert. */
export const SYSTEM_HOLD_DOWN_SECONDS = 60;

/** The tenant's overrides over the defaults. */
export function effectiveRules(overrides: AlertRules): Effective<AlertRules> {
  return Object.fromEntries(Object.entries(ALERT_DEFAULTS).map(([name, defaults]) => [name, { ...defaults, ...(overrides as Record<string, object>)[name] }])) as Effective<AlertRules>;
}

const Emails = Type.Array(Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' }), { maxItems: 20, uniqueItems: true, description: 'Addresses alerts (and daily reports) are e-mailed to when the server has COLLOQUY_SMTP_URL.' });
export const AlertSettingsSchema = Type.Object({ emails: Emails }, { additionalProperties: false, title: 'AlertSettings' });
export type AlertSettings = Static<typeof AlertSettingsSchema>;

const Time = Type.String({ format: 'date-time' });
export const AlertSchema = Type.Object({
  id: Type.String(),
  rule: Type.String({ description: 'The rule that raised it (`channel.stale`, …; system rules for the admin: `database.degraded`, `redis.degraded`, `doctor.problems`, `backup.failed`).' }),
  subject: Type.String({ description: 'What it is about: a channel id, a webhook endpoint id, a budget scope; empty for the whole tenant or deployment.' }),
  severity: AlertSeveritySchema,
  status: StringEnum(['open', 'resolved']),
  message: Type.String(),
  details: JsonObjectSchema,
  raisedAt: Time,
  resolvedAt: Nullable(Time),
  system: Type.Boolean({ description: "A condition of the whole deployment (the admin's), not of a tenant." }),
}, { title: 'Alert' });
export type Alert = Static<typeof AlertSchema>;

export const AlertListSchema = Type.Object({
  status: Type.Optional(StringEnum(['open', 'resolved'])),
  system: Type.Optional(Type.Boolean({ description: "The admin key: the deployment's system alerts instead of the tenant's." })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
}, { additionalProperties: false });
export type AlertListOptions = Static<typeof AlertListSchema>;

/** The tenant id of system alerts: not a valid tenant name, so no tenant can read or be confused with it. */
export const SYSTEM_TENANT = '*';
