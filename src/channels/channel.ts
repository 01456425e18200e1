import { createHash, timingSafeEqual } from 'node:crypto';
import type { Json, JsonObject, MessageStatus } from '../domain/entities.js';

/**
 * The channel contract: a channel kind knows its provider's wire format and nothing else. It verifies a webhook
 * request, parses a delivery into inbound messages, status updates and edits, sends one outbound message and says
 * whether a failed send may be retried. It never touches SQL: `channels/receive.ts` and `channels/outbox-sender.ts`
 * hand what it parsed to the store, and what it sends comes from the outbox. One folder per kind, registered by kind
 * in `channels/registry.ts`; `test/conformance/channel-conformance.ts` holds every kind to this contract.
 */
export interface ChannelDriver {
  readonly kind: 'whatsapp' | 'telegram';
  /** What is missing for the channel to receive and to send (secret or config names); empty when it is configured. */
  missing(settings: ChannelSettings): string[];
  /** A provider's verification handshake on GET (WhatsApp's `hub.challenge`); undefined for a kind without one. */
  challenge?(query: Record<string, unknown>, settings: ChannelSettings): { status: 200 | 403; body: string };
  /**
   * Whether a webhook request comes from the provider: `ok`; `missing` (no signature or secret header);
   * `invalid` (a wrong one); `not_configured` (the channel has no secret to check it with, so it accepts nothing).
   * Judged on the raw request bytes, before any parsing, in constant time.
   */
  verify(request: WebhookRequest, settings: ChannelSettings): 'ok' | 'missing' | 'invalid' | 'not_configured';
  /** A verified delivery's body → what it carries. Throws `DeliveryInvalid` when it is not a notification of this provider. */
  parse(body: Buffer): Delivery;
  /**
   * The request for one message, built before anything leaves: throws `SendFailure` (`final`, `invalid_message`)
   * for a message this provider cannot take (a malformed part). The function it returns sends it, resolving to the
   * provider's id for it, or throws `SendFailure` saying whether it may be retried.
   */
  prepare(message: OutboundMessage, settings: ChannelSettings): (timeoutMs: number) => Promise<{ externalId: string }>;
  /** Tells the provider a received message was read (WhatsApp's blue ticks); undefined for a kind without read receipts. */
  markRead?(externalId: string, settings: ChannelSettings, options: SendOptions): Promise<void>;
  /** Fetches an inbound media file through the provider's API (URLs expire: looked up each time). */
  media?(part: JsonObject, settings: ChannelSettings, options: SendOptions): Promise<MediaFile>;
}

/** A channel's public config and its secrets in the clear, as the driver reads them. */
export interface ChannelSettings {
  channelId: string;
  config: JsonObject;
  secrets: Record<string, string>;
}

export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The request body exactly as received: signatures are over these bytes. */
  body: Buffer;
}

/** One message from the provider, ready for `store.ingest`. */
export interface InboundMessage {
  externalId: string;
  from: { address: string; name?: string | undefined };
  content: string;
  parts: Json[] | null;
  /** Epoch ms. */
  timestamp: number;
  metadata?: JsonObject | undefined;
}

export interface StatusUpdate {
  /** The provider's id of the outbound message. */
  externalId: string;
  /** Null for a value this version does not know (tolerated and counted). */
  status: Exclude<MessageStatus, 'pending'> | null;
  raw: string;
  at: number;
  error?: { code: string; title: string } | undefined;
}

/** A new version of a message: applied to the stored one, or stored as a message when it never arrived. */
export interface InboundEdit extends InboundMessage {
  /** Epoch ms of the edit. */
  editedAt: number;
}

/** Everything one webhook delivery (or one poll) carries. */
export interface Delivery {
  messages: InboundMessage[];
  statuses: StatusUpdate[];
  edits: InboundEdit[];
  /** Errors the provider reported in the delivery itself (WhatsApp's `value.errors`, a message's `errors`). */
  errors: Array<{ code: string; title: string }>;
}

export class DeliveryInvalid extends Error {
  override readonly name = 'DeliveryInvalid';
}

export interface OutboundMessage {
  messageId: string;
  /** The contact's address on the channel (a wa_id, a Telegram chat id). */
  recipient: string;
  content: string;
  parts: Json[] | null;
}

export interface SendOptions {
  /** The whole request, connection included. */
  timeoutMs: number;
}

/**
 * Why a send failed. `retry`: the provider certainly did not take the message (a rate limit, a refused connection);
 * `final`: it refused it for good; `ambiguous`: it may have it (a timeout after sending, a 5xx), so resending could
 * deliver it twice.
 */
export class SendFailure extends Error {
  override readonly name = 'SendFailure';
  constructor(
    readonly kind: 'retry' | 'final' | 'ambiguous',
    readonly code: string,
    readonly title: string,
    readonly extra: { retryAfterMs?: number | undefined; tokenError?: boolean | undefined } = {},
  ) {
    super(`${code}: ${title}`);
  }
}

/** Whether a secret given matches the one kept, in constant time whatever their lengths (their digests are compared). */
export function sameSecret(given: string, kept: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(kept));
}

/** Builds a request body, turning any failure into a final `SendFailure`: a message that cannot be built cannot be sent. */
export function buildOrRefuse<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw new SendFailure('final', 'invalid_message', `The message cannot be sent to this provider: ${(error as Error)?.message ?? error}. Check its parts.`);
  }
}

export interface MediaFile {
  body: ReadableStream<Uint8Array>;
  mimeType: string;
  size: number | null;
}

/**
 * A fetch failure before any response: retryable only when the request certainly never left (the connection was
 * refused, the name did not resolve); anything later may have reached the provider.
 */
export function classifyFetchError(error: unknown, timedOut: boolean): SendFailure {
  const cause = (error as { cause?: { code?: string } })?.cause;
  const code = cause?.code ?? (error as { code?: string })?.code;
  if (code && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)) {
    return new SendFailure('retry', code, `The provider could not be reached (${code}); nothing was sent.`);
  }
  if (timedOut) return new SendFailure('ambiguous', 'timeout', 'The provider did not answer in time; it may have the message.');
  return new SendFailure('ambiguous', code ?? 'network', `The connection failed mid-request (${code ?? 'network error'}); the provider may have the message.`);
}

/**
 * fetch with a deadline (until the whole answer, or with `untilHeaders` until its headers: a media download may
 * stream for longer); throws `SendFailure` for failures before a response. Redirects are not followed.
 */
export async function fetchWithin(url: string, init: RequestInit, timeoutMs: number, stop?: AbortSignal, untilHeaders = false): Promise<Response> {
  const deadline = new AbortController();
  // Unref'd, as AbortSignal.timeout's: it stays armed while the body is read, and must not hold the process open.
  const timer = setTimeout(() => deadline.abort(), timeoutMs).unref();
  try {
    const response = await fetch(url, { ...init, signal: stop ? AbortSignal.any([deadline.signal, stop]) : deadline.signal, redirect: 'manual' });
    if (untilHeaders) clearTimeout(timer);
    return response;
  } catch (error) {
    clearTimeout(timer);
    throw classifyFetchError(error, deadline.signal.aborted);
  }
}
