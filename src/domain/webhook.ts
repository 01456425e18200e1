import Type, { type Static } from 'typebox';
import { ColloquyError } from './errors.js';
import { EventTypeSchema, JsonObjectSchema, Nullable, StringEnum } from './entities.js';

/** Every event type the log holds, for subscriptions. */
export const EVENT_TYPES: readonly string[] = (EventTypeSchema as unknown as { enum: string[] }).enum;
const PREFIXES = new Set(EVENT_TYPES.map((type) => type.slice(0, type.indexOf('.'))));

const Url = Type.String({ minLength: 8, maxLength: 2048, description: 'An http(s) URL the events are POSTed to. Redirects are not followed.' });
const Events = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  minItems: 1, maxItems: 100, uniqueItems: true,
  description: "Event types: exact (`message.created`), a prefix (`conversation.*`), or `*` for all.",
});
const Description = Type.String({ maxLength: 500 });

export const WebhookInputSchema = Type.Object({
  url: Url,
  events: Events,
  description: Type.Optional(Nullable(Description)),
  enabled: Type.Optional(Type.Boolean({ description: 'Default true.' })),
}, { additionalProperties: false });
export type WebhookInput = Static<typeof WebhookInputSchema>;

export const WebhookPatchSchema = Type.Object({
  url: Type.Optional(Url),
  events: Type.Optional(Events),
  description: Type.Optional(Nullable(Description)),
  enabled: Type.Optional(Type.Boolean({ description: 'true again after the endpoint was disabled: delivery resumes from where it stopped.' })),
}, { additionalProperties: false, minProperties: 1 });
export type WebhookPatch = Static<typeof WebhookPatchSchema>;

const Time = Type.String({ format: 'date-time' });

/** An outgoing webhook endpoint as answered: never its secret (shown once, at creation and at rotation). */
export const WebhookEndpointSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Nullable(Type.String()),
  enabled: Type.Boolean(),
  status: StringEnum(['active', 'failing', 'disabled']),
  deliveredTo: Nullable(Type.String({ description: 'The last event delivered (or passed over, not subscribed); null: none yet.' })),
  failingSince: Nullable(Time),
  nextAttemptAt: Nullable({ ...Time, description: 'When the failing event is tried again.' }),
  attempts: Type.Integer({ description: 'Failed attempts of the event at the head (0: not failing).' }),
  lastError: Nullable(JsonObjectSchema),
  lastSuccessAt: Nullable(Time),
  disabledReason: Nullable(Type.String({ description: 'Why delivery disabled the endpoint (its retries ran out); null otherwise.' })),
  createdAt: Time,
  updatedAt: Time,
}, { title: 'WebhookEndpoint' });
export type WebhookEndpoint = Static<typeof WebhookEndpointSchema>;

export const WebhookDeliverySchema = Type.Object({
  id: Type.String(),
  eventId: Type.String({ description: 'The event (`webhook-id`), as in the event log; `test_…` for a test event.' }),
  eventType: Type.String(),
  attempt: Type.Integer({ description: '1 for the first attempt of this event on this endpoint.' }),
  status: StringEnum(['succeeded', 'failed']),
  httpStatus: Nullable(Type.Integer()),
  latencyMs: Type.Integer(),
  error: Nullable(Type.String()),
  createdAt: Time,
}, { title: 'WebhookDelivery' });
export type WebhookDelivery = Static<typeof WebhookDeliverySchema>;

/** Whether an event of `type` goes to an endpoint subscribed to `patterns`. */
export const subscribes = (patterns: readonly string[], type: string): boolean =>
  patterns.some((p) => p === type || p === '*' || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));

/** Refuses a subscription to a type that no event has: a typo would otherwise deliver nothing, silently. */
export function assertEventPatterns(patterns: readonly string[]): void {
  const unknown = patterns.filter((p) => p !== '*' && !(p.endsWith('.*') ? PREFIXES.has(p.slice(0, -2)) : EVENT_TYPES.includes(p)));
  if (unknown.length) {
    throw new ColloquyError('invalid_argument', `Unknown event type${unknown.length > 1 ? 's' : ''} ${unknown.map((p) => `"${p}"`).join(', ')}: use one of ${EVENT_TYPES.join(', ')}, a prefix such as "conversation.*", or "*".`, {
      errors: unknown.map((p) => ({ path: `/events/${patterns.indexOf(p)}`, message: 'is not an event type' })),
    });
  }
}

/** An http(s) URL without credentials or a fragment, parsed; anything else is `invalid_argument`. */
export function webhookUrl(value: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.hash) {
    throw new ColloquyError('invalid_argument', `Invalid webhook URL "${value}": an http:// or https:// URL without user, password or #fragment.`, { errors: [{ path: '/url', message: 'is not an http(s) URL' }] });
  }
  return url;
}
