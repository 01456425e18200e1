import { ColloquyError } from '../domain/errors.js';
import type { Channel, ChannelKind } from '../domain/entities.js';
import { isId } from '../domain/ids.js';
import { channelOps, type ChannelOps } from '../store/channel-ops.js';
import type { Store } from '../store/store.js';
import { DeliveryInvalid, type ChannelDriver, type ChannelSettings, type WebhookRequest } from './channel.js';
import { receive, type ReceiveReport } from './receive.js';
import { driverOf } from './registry.js';
import { createTrafficRecorder, type TrafficRecorder } from './traffic.js';

export interface ChannelRuntimeConfig {
  readonly store: Store;
  /** How long a channel's settings (config, secrets) are reused before they are read again. Default 1000 ms. */
  readonly settingsCacheMs?: number;
  /** How often traffic counters are added to the database. Default 2000 ms. */
  readonly trafficFlushMs?: number;
  readonly log?: (message: string, error?: unknown) => void;
}

export interface ResolvedChannel {
  tenant: string;
  channel: Channel;
  driver: ChannelDriver;
  settings: ChannelSettings;
  store: Store;
}

/** What a webhook answers: a status and a body (text for a challenge, else JSON). */
export interface WebhookAnswer {
  status: number;
  body: unknown;
  outcome: 'accepted' | 'challenge' | 'rejected' | 'invalid' | 'not_found' | 'error';
}

/**
 * The channels of one server process: drivers by kind, settings read through a short cache, traffic counters, and
 * the webhook flow (find the channel → verify the raw bytes → parse → receive). Background loops (the outbox sender,
 * health, Telegram pollers) are started by `colloquy serve` beside it.
 */
export function createChannelRuntime(config: ChannelRuntimeConfig) {
  const { store } = config;
  const ops: ChannelOps = channelOps(store);
  const log = config.log ?? (() => {});
  const traffic: TrafficRecorder = createTrafficRecorder(ops, { flushMs: config.trafficFlushMs, log });
  const cacheMs = config.settingsCacheMs ?? 1_000;
  const cached = new Map<string, { until: number; value: Promise<ResolvedChannel | undefined> }>();
  const listeners = new Set<(channelId: string) => void>();

  async function load(channelId: string): Promise<ResolvedChannel | undefined> {
    const opened = await ops.open(channelId);
    const driver = opened && driverOf(opened.channel.kind);
    if (!opened || !driver) return undefined;
    const tenant = (await ops.locate(channelId))!.tenant;
    return {
      tenant, channel: opened.channel, driver, store: store.tenant(tenant),
      settings: { channelId, config: opened.channel.config, secrets: opened.secrets },
    };
  }

  /** A provider channel by id, its settings at most `settingsCacheMs` old; undefined for an unknown id or a kind without a provider. */
  function resolve(channelId: string): Promise<ResolvedChannel | undefined> {
    if (!isId(channelId)) return Promise.resolve(undefined);
    const id = channelId.toLowerCase();
    const now = Date.now();
    const hit = cached.get(id);
    if (hit && hit.until > now) return hit.value;
    const value = load(id);
    cached.set(id, { until: now + cacheMs, value });
    value.catch(() => cached.delete(id));
    if (cached.size > 10_000) cached.clear();
    return value;
  }

  const notFound = (kind: ChannelKind, id: string): WebhookAnswer => ({
    status: 404, outcome: 'not_found',
    body: { error: { code: 'not_found', message: `There is no ${kind} channel ${id}: check the webhook URL you gave the provider.`, details: { resource: 'channel', id } } },
  });

  return {
    ops,
    traffic,
    resolve,
    /** A channel was created or changed through this process: its settings are read again, and listeners (Telegram's webhook registration) told. */
    changed(channelId: string) {
      cached.delete(channelId.toLowerCase());
      for (const listener of listeners) listener(channelId.toLowerCase());
    },
    onChanged(listener: (channelId: string) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** A provider's verification handshake (GET). */
    async challenge(kind: ChannelKind, channelId: string, query: Record<string, unknown>): Promise<WebhookAnswer> {
      const found = await resolve(channelId);
      if (!found || found.channel.kind !== kind || !found.driver.challenge) return notFound(kind, channelId);
      const answer = found.driver.challenge(query, found.settings);
      if (answer.status !== 200) traffic.count(found.channel.id, 'rejected');
      return { status: answer.status, body: answer.body, outcome: answer.status === 200 ? 'challenge' : 'rejected' };
    },

    /** A delivery (POST): nothing is stored unless the request is verified; a store failure answers 503 so that the provider retries. */
    async deliver(kind: ChannelKind, channelId: string, request: WebhookRequest): Promise<WebhookAnswer & { report?: ReceiveReport }> {
      const found = await resolve(channelId);
      if (!found || found.channel.kind !== kind) return notFound(kind, channelId);
      const id = found.channel.id;
      const verdict = found.driver.verify(request, found.settings);
      if (verdict !== 'ok') {
        traffic.count(id, 'rejected');
        const message = verdict === 'not_configured'
          ? `This channel has no ${kind === 'whatsapp' ? 'appSecret' : 'webhookSecret'} secret yet, so no delivery can be verified: set it with PATCH /v1/channels/${id}.`
          : verdict === 'missing' ? 'The delivery has no signature: it is not from the provider.' : 'The signature does not match: the delivery is not from the provider, or the channel has another secret.';
        return { status: 401, outcome: 'rejected', body: { error: { code: 'unauthenticated', message, details: { reason: verdict } } } };
      }
      let delivery;
      try {
        delivery = found.driver.parse(request.body);
      } catch (error) {
        // Whatever a parser trips on is the body's fault, never a 500.
        if (!(error instanceof DeliveryInvalid)) log(`a ${kind} delivery to channel ${id} could not be parsed`, error);
        traffic.count(id, 'invalid');
        return { status: 400, outcome: 'invalid', body: { error: { code: 'invalid_argument', message: `Not a valid ${kind} notification: ${error instanceof DeliveryInvalid ? error.message : 'its shape is unexpected'}` } } };
      }
      try {
        const report = await receive(found.store, ops, traffic, id, delivery);
        return { status: 200, outcome: 'accepted', body: { ok: true, ...report }, report };
      } catch (error) {
        log(`a ${kind} delivery to channel ${id} could not be stored; the provider will redeliver it`, error);
        const code = error instanceof ColloquyError && error.code === 'unavailable' ? 'unavailable' : 'internal';
        return { status: code === 'unavailable' ? 503 : 500, outcome: 'error', body: { error: { code, message: 'The delivery could not be stored; nothing was acknowledged, so the provider will send it again.' } } };
      }
    },

    /**
     * Tells the provider that a received message was read, when its channel has read receipts. Best effort, not
     * through the outbox: a read receipt is harmless to repeat and not worth retrying; a failure is counted.
     */
    async markRead(tenantStore: Store, message: { conversationId: string; externalId: string | null; role: string }): Promise<void> {
      if (message.role !== 'user' || !message.externalId) return;
      const conversation = await tenantStore.conversations.get(message.conversationId);
      const found = conversation?.channelId ? await resolve(conversation.channelId) : undefined;
      if (!found?.driver.markRead || found.driver.missing(found.settings).some((m) => m === 'secrets.accessToken' || m === 'config.phoneNumberId')) return;
      try {
        await found.driver.markRead(message.externalId, found.settings, { timeoutMs: 15_000 });
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'unknown';
        traffic.error(found.channel.id, { code, title: `read receipt: ${(error as Error).message}`.slice(0, 300), source: 'send' }, ops.clock());
      }
    },

    async close() {
      await traffic.close();
    },
  };
}

export type ChannelRuntime = ReturnType<typeof createChannelRuntime>;
