import { randomBytes } from 'node:crypto';
import Type, { type Static } from 'typebox';
import type { SealedWebhookSecret, WebhookAttemptRecord, WebhookEndpointRecord } from '../backends/backend.js';
import type { Page } from '../domain/entities.js';
import { ColloquyError, notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { validate } from '../domain/validate.js';
import { assertEventPatterns, webhookUrl, WebhookInputSchema, WebhookPatchSchema, type WebhookDelivery, type WebhookEndpoint, type WebhookInput, type WebhookPatch } from '../domain/webhook.js';
import { assertPublicTarget } from '../webhooks/address-policy.js';
import { secretContext } from './secret-box.js';
import type { Scope } from './scope.js';

export const DeliveryListSchema = Type.Object({
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'The `nextCursor` of the previous page.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'Default 50.' })),
}, { additionalProperties: false });
export type DeliveryListOptions = Static<typeof DeliveryListSchema>;

export const RotateSchema = Type.Object({
  graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 604_800, description: 'How long the previous secret still signs: default 86400 (24 h).' })),
}, { additionalProperties: false });
export const ReplaySchema = Type.Object({
  after: Type.String({ minLength: 1, maxLength: 200, description: 'An event id: delivery starts again just after it.' }),
}, { additionalProperties: false });

export interface WebhooksApi {
  /** Creates an endpoint that receives the events written from now on; `secret` is shown here only. */
  create(input: WebhookInput): Promise<WebhookEndpoint & { secret: string }>;
  list(): Promise<WebhookEndpoint[]>;
  get(id: string): Promise<WebhookEndpoint | null>;
  /** Throws `not_found`. Enabling a disabled endpoint resumes delivery where it stopped. */
  update(id: string, patch: WebhookPatch): Promise<WebhookEndpoint>;
  /** False when there was none. */
  delete(id: string): Promise<boolean>;
  /** A new secret (shown once); the previous one keeps signing for `graceSeconds` (default 24 h) beside it. */
  rotateSecret(id: string, options?: Static<typeof RotateSchema>): Promise<{ secret: string; previousSecretExpiresAt: string }>;
  /** Delivers again from just after the event `after` (receivers dedup on `webhook-id`). Throws `not_found`. */
  replay(id: string, options: Static<typeof ReplaySchema>): Promise<WebhookEndpoint>;
  /** Delivery attempts, newest first. Throws `not_found`. */
  deliveries(id: string, options?: DeliveryListOptions): Promise<Page<WebhookDelivery>>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const DAY_MS = 86_400_000;
export const webhookSecretContext = (tenant: string, id: string): string => secretContext(tenant, `webhook:${id}`, 'signing');
const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

export function endpointView(r: WebhookEndpointRecord, encode: (raw: string) => string): WebhookEndpoint {
  return {
    id: r.id, url: r.url, events: r.events, description: r.description, enabled: r.enabled,
    status: !r.enabled ? 'disabled' : r.attempts > 0 ? 'failing' : 'active',
    deliveredTo: r.deliveredTo === null ? null : encode(r.deliveredTo),
    failingSince: iso(r.failingSince), nextAttemptAt: r.attempts > 0 ? iso(r.nextAttemptAt) : null, attempts: r.attempts,
    lastError: r.lastError, lastSuccessAt: iso(r.lastSuccessAt), disabledReason: r.disabledReason,
    createdAt: iso(r.createdAt)!, updatedAt: iso(r.updatedAt)!,
  };
}

const deliveryView = (a: WebhookAttemptRecord): WebhookDelivery => ({
  id: String(a.id), eventId: a.eventId, eventType: a.eventType, attempt: a.attempt, status: a.ok ? 'succeeded' : 'failed',
  httpStatus: a.httpStatus, latencyMs: Math.round(a.latencyMs), error: a.error, createdAt: iso(a.createdAt)!,
});

export function webhooksOf(s: Scope): WebhooksApi {
  const { backend, tenant: t } = s;
  const encoder = async () => {
    const ids = await s.eventIds.forTenant(t);
    return (raw: string) => ids.encode(raw);
  };
  const found = async (id: string): Promise<WebhookEndpointRecord> => s.found(await backend.webhooks.get(t, s.id(id, 'webhook')), 'webhook', id);
  const checkUrl = async (value: string) => {
    const url = webhookUrl(value);
    if (!s.allowPrivateWebhooks) await assertPublicTarget(url);
    return url.href;
  };
  const seal = async (secret: string, id: string): Promise<string> => {
    await s.box.ready();
    return s.box.seal(secret, webhookSecretContext(t, id));
  };
  return {
    async create(input) {
      const v = validate(WebhookInputSchema, input, 'webhook');
      assertEventPatterns(v.events);
      const url = await checkUrl(v.url);
      const id = newId();
      const secret = newSecret();
      const record = await backend.webhooks.create(t, {
        id, url, events: v.events, description: v.description ?? null, enabled: v.enabled ?? true,
        secrets: [{ value: await seal(secret, id), expiresAt: null }], deliveredTo: await backend.events.head(t), now: s.clock(),
      });
      return { ...endpointView(record, await encoder()), secret };
    },
    async list() {
      const encode = await encoder();
      return (await backend.webhooks.list(t)).map((r) => endpointView(r, encode));
    },
    async get(id) {
      const record = await backend.webhooks.get(t, s.id(id, 'webhook'));
      return record ? endpointView(record, await encoder()) : null;
    },
    async update(id, patch) {
      const key = s.id(id, 'webhook');
      const v = validate(WebhookPatchSchema, patch, 'webhook patch');
      if (v.events) assertEventPatterns(v.events);
      const url = v.url === undefined ? undefined : await checkUrl(v.url);
      const record = await backend.webhooks.update(t, key, { ...v, url }, s.clock());
      // The tenant woken: a deliverer of this endpoint (on any instance) reads it again now.
      return s.changed(endpointView(s.found(record, 'webhook', id), await encoder()));
    },
    async delete(id) {
      return s.changed(await backend.webhooks.delete(t, s.id(id, 'webhook')));
    },
    async rotateSecret(id, options = {}) {
      const v = validate(RotateSchema, options, 'rotation options');
      const record = await found(id);
      const now = s.clock();
      const expiresAt = now + (v.graceSeconds ?? DAY_MS / 1000) * 1000;
      const secret = newSecret();
      // The current secret keeps signing beside the new one for the grace period; older ones go now.
      const previous = record.secrets.find((x) => x.expiresAt === null);
      const secrets: SealedWebhookSecret[] = [{ value: await seal(secret, record.id), expiresAt: null }, ...(previous ? [{ value: previous.value, expiresAt }] : [])];
      if (!(await backend.webhooks.setSecrets(t, record.id, secrets, record.version, now))) {
        // Changed since it was read (another rotation, a PATCH): this secret was not stored, so it must not be answered.
        if (!(await backend.webhooks.get(t, record.id))) throw notFound('webhook', id);
        throw new ColloquyError('conflict', 'The endpoint changed while its secret was rotated (another rotation?): rotate again.', { reason: 'concurrent_change' });
      }
      return { secret, previousSecretExpiresAt: new Date(expiresAt).toISOString() };
    },
    async replay(id, options) {
      const v = validate(ReplaySchema, options, 'replay options');
      const key = s.id(id, 'webhook');
      const raw = (await s.eventIds.forTenant(t)).decode(v.after);
      backend.events.compare(raw, null);
      const record = await backend.webhooks.rewind(t, key, raw, s.clock());
      if (!record) throw notFound('webhook', id);
      return s.changed(endpointView(record, await encoder()));
    },
    async deliveries(id, options = {}) {
      const v = validate(DeliveryListSchema, options, 'delivery list options');
      const record = await found(id);
      const limit = v.limit ?? 50;
      const rows = await backend.webhooks.attempts(t, record.id, { before: v.cursor === undefined ? undefined : Number(v.cursor), limit: limit + 1 });
      const data = rows.slice(0, limit).map(deliveryView);
      return { data, nextCursor: rows.length > limit ? data.at(-1)!.id : null };
    },
  };
}

/** A secret of an endpoint in the clear, for signing; `unavailable` when sealed under another key. */
export const openWebhookSecret = (s: Scope, id: string, sealed: SealedWebhookSecret): string => s.box.open(sealed.value, webhookSecretContext(s.tenant, id));
