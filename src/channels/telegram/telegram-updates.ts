import { createHmac, randomUUID } from 'node:crypto';
import type { ChannelRuntime, ResolvedChannel } from '../channel-runtime.js';
import { SendFailure } from '../channel.js';
import { receive } from '../receive.js';
import { callTelegram } from './telegram-channel.js';
import { parseTelegram } from './telegram-parse.js';

export interface TelegramUpdatesConfig {
  readonly channels: ChannelRuntime;
  /** This process's name in poll leases. Default a random id. */
  readonly owner?: string;
  /** How long getUpdates waits for an update (Telegram's long-poll `timeout`). Default 25 s. */
  readonly pollSeconds?: number;
  /** How often Telegram channels are looked over (new ones, mode changes). Default 30000 ms. */
  readonly intervalMs?: number;
  readonly log?: (message: string, error?: unknown) => void;
}

const ALLOWED = ['message', 'edited_message', 'channel_post', 'edited_channel_post', 'callback_query'];

/**
 * Telegram's two ways in, run by `colloquy serve`:
 * - `mode: 'polling'`: a getUpdates long-poll loop per channel, one per fleet (a lease in the database); the offset
 *   is stored after the updates were, so a restart neither loses an update nor stores one twice (a repeat is a
 *   duplicate of its external id). Any webhook is deleted first (Telegram refuses getUpdates while one is set).
 * - webhook mode with `config.publicUrl`: the channel registers its webhook itself (`setWebhook`), with a generated
 *   `secret_token` kept as the channel's `webhookSecret`.
 */
export function createTelegramUpdates(config: TelegramUpdatesConfig) {
  const { channels } = config;
  const { ops } = channels;
  const owner = config.owner ?? `poller-${randomUUID()}`;
  const pollSeconds = config.pollSeconds ?? 25;
  // Longer than one round can take (deleteWebhook 15 s, getUpdates pollSeconds + 15 s, storing), renewed every round.
  const leaseMs = (pollSeconds + 90) * 1000;
  const log = config.log ?? (() => {});
  const pollers = new Map<string, { stop: AbortController; done: Promise<void> }>();
  /** Webhook registrations made, by channel: url and secret, so that an unchanged one is not repeated. */
  const registered = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let unlisten: (() => void) | undefined;
  let stopped = false;

  async function poll(channelId: string, stop: AbortSignal): Promise<void> {
    try {
      await polling(channelId, stop);
    } finally {
      // However the loop ends (stopped, switched to webhook, token removed): the lease is given up at once.
      await ops.releasePoll(channelId, owner).catch(() => {});
    }
  }

  async function polling(channelId: string, stop: AbortSignal): Promise<void> {
    let webhookDeleted = false;
    let failures = 0;
    while (!stop.aborted) {
      const found = await channels.resolve(channelId).catch(() => undefined);
      if (!found || found.channel.config.mode !== 'polling' || !found.settings.secrets.botToken) return;
      try {
        if (!(await ops.claimPoll(channelId, owner, leaseMs))) {
          // Another instance polls this channel; look again when its lease may have run out.
          await sleep(Math.min(leaseMs, 5_000), stop);
          continue;
        }
        if (!webhookDeleted) {
          await callTelegram(found.settings, 'deleteWebhook', { drop_pending_updates: false }, 15_000);
          webhookDeleted = true;
        }
        const offset = (await ops.traffic(channelId))?.pollOffset ?? 0;
        const updates = await callTelegram(found.settings, 'getUpdates', { offset, timeout: pollSeconds, allowed_updates: ALLOWED }, (pollSeconds + 15) * 1000, stop);
        if (stop.aborted) return;
        if (Array.isArray(updates) && updates.length) {
          await receive(found.store, ops, channels.traffic, channelId, parseTelegram(updates));
          const last = Math.max(...updates.map((u: { update_id: number }) => u.update_id));
          // Only while still the poller: else the lease's new holder has read (and stores) from its own offset.
          if (await ops.claimPoll(channelId, owner, leaseMs)) await ops.setPollOffset(channelId, last + 1);
        }
        failures = 0;
      } catch (error) {
        if (stop.aborted) break;
        failures++;
        if (error instanceof SendFailure && error.code === '409') webhookDeleted = false;
        if (error instanceof SendFailure) channels.traffic.error(channelId, { code: error.code, title: error.title, source: 'inbound' }, ops.clock(), { tokenError: error.extra.tokenError === true });
        if (failures === 1 || failures % 20 === 0) log(`Telegram polling of channel ${channelId} failed (${failures}×); retrying`, error);
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), stop);
      }
    }
  }

  async function registerWebhook(found: ResolvedChannel): Promise<void> {
    const publicUrl = found.channel.config.publicUrl;
    if (typeof publicUrl !== 'string' || !found.settings.secrets.botToken) return;
    let secret = found.settings.secrets.webhookSecret;
    if (!secret) {
      // Telegram's secret_token: 1–256 of A-Z, a-z, 0-9, _ and -. Derived from a secret the fleet shares, so that
      // instances registering the same new channel at once all choose (and store) the same one.
      const shared = await found.store.sharedSecret('telegram-webhook');
      secret = createHmac('sha256', shared).update(found.channel.id).digest('base64url');
      await found.store.channels.update(found.channel.id, { secrets: { webhookSecret: secret } });
      channels.changed(found.channel.id);
    }
    const url = `${publicUrl.replace(/\/+$/, '')}/webhooks/telegram/${found.channel.id}`;
    const key = `${url}\n${secret}`;
    if (registered.get(found.channel.id) === key) return;
    await callTelegram(found.settings, 'setWebhook', { url, secret_token: secret, allowed_updates: ALLOWED }, 15_000);
    registered.set(found.channel.id, key);
  }

  /** Starts or stops what each Telegram channel needs now. */
  async function reconcile(only?: string): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const page = only ? [] : await ops.allChannels(after, 200);
      const ids = only ? [only] : page.filter((c) => c.channel.kind === 'telegram').map((c) => c.channel.id);
      for (const id of ids) {
        const found = await channels.resolve(id).catch(() => undefined);
        if (!found || found.channel.kind !== 'telegram' || stopped) continue;
        const polling = found.channel.config.mode === 'polling';
        if (polling && !pollers.has(id)) {
          registered.delete(id);
          const stop = new AbortController();
          const done = poll(id, stop.signal).finally(() => pollers.delete(id));
          pollers.set(id, { stop, done });
        } else if (!polling) {
          pollers.get(id)?.stop.abort();
          await registerWebhook(found).catch((error) => log(`the Telegram webhook of channel ${id} could not be registered`, error));
        }
      }
      if (only || page.length < 200) return;
      after = page.at(-1)!.channel.id;
    }
  }

  return {
    owner,
    start() {
      stopped = false;
      const run = (only?: string) => void reconcile(only).catch((error) => log('Telegram channels could not be looked over', error));
      run();
      timer = setInterval(() => run(), config.intervalMs ?? 30_000);
      timer.unref();
      unlisten = channels.onChanged((id) => run(id));
    },
    /** Pollers running in this process, by channel id. */
    polling: () => [...pollers.keys()],
    async stop() {
      stopped = true;
      clearInterval(timer);
      unlisten?.();
      for (const p of pollers.values()) p.stop.abort();
      await Promise.allSettled([...pollers.values()].map((p) => p.done));
    },
  };
}

/** Resolves after `ms`, or at once when `stop` aborts. */
function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    stop.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

export type TelegramUpdates = ReturnType<typeof createTelegramUpdates>;
