import { randomUUID } from 'node:crypto';
import type { ClaimedEntry, MessageError, OutboxEntry } from '../backends/backend.js';
import type { ChannelRuntime, ResolvedChannel } from './channel-runtime.js';
import { SendFailure } from './channel.js';
import { Pacer } from './pacer.js';
import { ColloquyError } from '../domain/errors.js';

export interface OutboxSenderConfig {
  readonly channels: ChannelRuntime;
  /** This sender's name in leases. Default a random id per process. */
  readonly owner?: string;
  /** How long a claimed entry is this sender's; after that another sender treats it as interrupted (ambiguous). Default 60000 ms. */
  readonly leaseMs?: number;
  /** How often the outbox is read when nothing woke the sender. Default 1000 ms. */
  readonly pollMs?: number;
  /** Sends in flight at once, across channels. Default 64. */
  readonly concurrency?: number;
  /** One provider request, connection included. Default 15000 ms. */
  readonly timeoutMs?: number;
  /** Attempts of a retryable send before it is marked failed. Default 10. */
  readonly maxAttempts?: number;
  /** Backoff of the first retry; doubled each attempt (with jitter), at most 5 minutes. Default 1000 ms. */
  readonly backoffMs?: number;
  readonly log?: (message: string, error?: unknown) => void;
}

const DEFAULTS = {
  whatsapp: { perSecond: 80, recipientBurst: 45, recipientInterval: 6 },
  telegram: { perSecond: 30, recipientBurst: 3, recipientInterval: 1 },
};
const MAX_BACKOFF_MS = 300_000;
/** How often a channel that lacks its token or phone number id is looked at again (a change made here wakes it at once). */
const NOT_CONFIGURED_RETRY_MS = 30_000;
/** How soon a message that could not be prepared (the database briefly away) is tried again. */
const PREPARE_RETRY_MS = 5_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends the outbox: in every `colloquy serve`, safe with several instances (each entry is claimed by one, under a
 * lease). At most once: an entry is marked `sending` before its request leaves, and an entry found `sending` after
 * its lease ran out (its sender died mid-request) is marked failed with reason `ambiguous`, never sent blindly
 * again, unless its channel opts in with `config.retryAmbiguous`. Only errors that prove the provider did not
 * take the message are retried, with exponential backoff and jitter. Messages of one conversation leave in seq
 * order, one at a time; sends are paced per channel and per recipient.
 */
export function createOutboxSender(config: OutboxSenderConfig) {
  const { channels } = config;
  const { ops, traffic } = channels;
  const owner = config.owner ?? `sender-${randomUUID()}`;
  const leaseMs = config.leaseMs ?? 60_000;
  const pollMs = config.pollMs ?? 1_000;
  const concurrency = config.concurrency ?? 64;
  const timeoutMs = config.timeoutMs ?? 15_000;
  const maxAttempts = config.maxAttempts ?? 10;
  const backoffMs = config.backoffMs ?? 1_000;
  const log = config.log ?? (() => {});
  // A lease renewed as the request leaves must outlast it and the recording of its outcome: else another sender
  // could take the entry over as interrupted while it is still being sent.
  if (!(leaseMs >= 2 * timeoutMs + 1_000)) {
    throw new ColloquyError('invalid_argument', `The outbox lease (${leaseMs} ms) must be at least twice the send timeout (${timeoutMs} ms) plus a second, so that a send and its outcome fit in it.`, { leaseMs, timeoutMs });
  }
  const pacer = new Pacer();
  const inFlight = new Set<Promise<void>>();
  /** When each entry in flight was claimed (its lease runs from then), by this process's clock. */
  const claimedAt = new Map<string, number>();
  let running = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  let unlisten: (() => void) | undefined;
  let woken = false;

  const failure = (code: string, title: string, reason?: string): MessageError => ({ code, title, ...(reason ? { reason } : {}), at: ops.clock() });

  /** Writes the outcome; the database may be briefly away, and an outcome lost would turn a sent message ambiguous. */
  async function record<T>(what: () => Promise<T>): Promise<T | undefined> {
    // Within the lease renewed before the request: what is left of it once the request is over.
    const deadline = Date.now() + (leaseMs - timeoutMs) / 2;
    for (let delay = 100; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        return await what();
      } catch (error) {
        if (Date.now() + delay > deadline) {
          log('an outbox outcome could not be recorded; the entry will be treated as interrupted', error);
          return undefined;
        }
        await sleep(delay);
      }
    }
  }

  const backoff = (attempts: number, retryAfterMs: number | undefined) => {
    const exponential = Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** Math.max(0, attempts - 1));
    return Math.max(retryAfterMs ?? 0, Math.round(exponential * (0.5 + Math.random() / 2)));
  };

  async function failed(entry: OutboxEntry, error: MessageError, found: ResolvedChannel | undefined, tokenError = false) {
    await record(() => ops.finish(entry, owner, { failed: error }));
    traffic.count(entry.channelId, 'sendFailed');
    traffic.error(entry.channelId, { code: error.code, title: error.title, source: 'send' }, error.at, { send: true, tokenError });
    void found;
  }

  /**
   * Up to the request, nothing has left: any failure there (the database briefly away, a part that cannot be sent)
   * puts the entry back (or fails it for good), never leaves it to be taken for an interrupted send.
   */
  async function handle(entry: ClaimedEntry): Promise<void> {
    let found: ResolvedChannel | undefined;
    let request: (() => Promise<{ externalId: string }>) | undefined;
    try {
      found = await channels.resolve(entry.channelId);
      request = await prepare(entry, found);
    } catch (error) {
      // An interrupted entry stays as it is: its lease runs out again and it is judged as interrupted again (it may
      // have reached the customer: it must never go back to the queue as a fresh one).
      if (entry.interrupted) {
        log('an interrupted outbound message could not be judged; it will be looked at again', error);
        return;
      }
      if (error instanceof SendFailure && error.kind === 'final') {
        await failed(entry, failure(error.code, error.title), found);
        return;
      }
      // Nothing left and it is not the provider's doing (the database briefly away): not an attempt.
      log('an outbound message could not be prepared; it is queued again', error);
      await record(() => ops.release(entry, owner, ops.clock() + PREPARE_RETRY_MS, false));
      return;
    }
    if (request) await send(entry, found!, request);
  }

  /** What to send, once it may go (undefined: handled here, nothing to send). */
  async function prepare(entry: ClaimedEntry, found: ResolvedChannel | undefined): Promise<(() => Promise<{ externalId: string }>) | undefined> {
    const retryAmbiguous = found?.settings.config.retryAmbiguous === true;
    if (entry.interrupted) {
      if (retryAmbiguous && entry.attempts < maxAttempts) {
        await record(() => ops.retry(entry, owner, ops.clock(), failure('interrupted', 'The sender stopped mid-request; sent again (retryAmbiguous).')));
        return;
      }
      await failed(entry, failure('interrupted', 'The sender stopped mid-request: the provider may have the message, so it was not sent again.', 'ambiguous'), found);
      return undefined;
    }
    if (!found) {
      await failed(entry, failure('not_configured', 'The channel is gone.'), found);
      return undefined;
    }
    const missing = found.driver.missing(found.settings).filter((m) => m !== 'secrets.appSecret' && m !== 'secrets.verifyToken' && m !== 'secrets.webhookSecret');
    if (missing.length) {
      // Nothing was sent: the message waits in the outbox (health says not_configured, with its depth) until the
      // channel has what it needs; a change of the channel wakes the sender.
      await record(() => ops.release(entry, owner, ops.clock() + NOT_CONFIGURED_RETRY_MS, false));
      return undefined;
    }
    // Pacing: wait for a token, or put the entry back when the wait would outlast a good part of the lease.
    const kind = DEFAULTS[found.driver.kind];
    const c = found.settings.config;
    const perSecond = Number(c.sendsPerSecond ?? kind.perSecond);
    const interval = Number(c.recipientIntervalSeconds ?? kind.recipientInterval);
    const now = Date.now();
    const channelKey = entry.channelId;
    const recipientKey = `${entry.channelId}/${entry.recipient}`;
    let wait = pacer.reserve(channelKey, perSecond, Math.max(1, perSecond), now);
    if (interval > 0) wait = Math.max(wait, pacer.reserve(recipientKey, 1 / interval, Number(c.recipientBurst ?? kind.recipientBurst), now));
    if (wait > leaseMs / 3) {
      pacer.giveBack(channelKey);
      if (interval > 0) pacer.giveBack(recipientKey);
      await record(() => ops.release(entry, owner, ops.clock() + wait, false));
      return undefined;
    }
    if (wait > 0) await sleep(wait);
    const driver = found.driver;
    const settings = found.settings;
    const message = { messageId: entry.messageId, recipient: entry.recipient, content: entry.content, parts: entry.parts };
    // The request is built before the lease is renewed: a part that cannot be sent fails here, final, nothing sent.
    const built = driver.prepare(message, settings);
    // The lease must cover the whole request: renewed when a good part of it is gone (a pacing wait, a slow
    // preparation); if another sender took the entry meanwhile, nothing is sent.
    if (Date.now() - claimedAt.get(entry.messageId)! > leaseMs / 4 && !(await ops.renew(entry, owner, leaseMs))) return undefined;
    return () => built(timeoutMs);
  }

  async function send(entry: ClaimedEntry, found: ResolvedChannel, request: () => Promise<{ externalId: string }>): Promise<void> {
    const retryAmbiguous = found.settings.config.retryAmbiguous === true;
    let sent: { externalId: string };
    try {
      sent = await request();
    } catch (error) {
      const f = error instanceof SendFailure ? error : new SendFailure('ambiguous', 'internal', `The send failed unexpectedly: ${(error as Error)?.message ?? error}`);
      if (!(error instanceof SendFailure)) log('a send failed unexpectedly; marked ambiguous', error);
      const retryable = f.kind === 'retry' || (f.kind === 'ambiguous' && retryAmbiguous);
      if (retryable && entry.attempts < maxAttempts) {
        traffic.count(entry.channelId, 'sendRetried');
        traffic.error(entry.channelId, { code: f.code, title: f.title, source: 'send' }, ops.clock(), { send: true });
        await record(() => ops.retry(entry, owner, ops.clock() + backoff(entry.attempts, f.extra.retryAfterMs), failure(f.code, f.title)));
        return;
      }
      await failed(entry, failure(f.code, f.title, f.kind === 'ambiguous' ? 'ambiguous' : undefined), found, f.extra.tokenError === true);
      return;
    }
    // Two steps, each retried on its own: the outcome, then the statuses kept for its id (if the second failed after
    // the first, retrying the first would find nothing left to do, and the kept statuses would wait for the prune).
    const finished = await record(() => ops.finish(entry, owner, { sent }));
    if (finished) await record(() => ops.applyKept(entry, sent.externalId));
    traffic.count(entry.channelId, 'sent');
    traffic.outbound(entry.channelId, ops.clock());
  }

  // Leases run out only when a sender died: looked for now and then, not at every claim.
  const takeOverEveryMs = Math.max(250, Math.min(5_000, leaseMs / 4));
  let lastTakeOver = 0;

  async function run(): Promise<void> {
    while (running) {
      woken = false;
      const free = concurrency - inFlight.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const takeOver = Date.now() - lastTakeOver >= takeOverEveryMs;
          if (takeOver) lastTakeOver = Date.now();
          const claimTime = Date.now();
          const entries = await ops.claim(owner, leaseMs, free, takeOver);
          for (const entry of entries) claimedAt.set(entry.messageId, claimTime);
          claimed = entries.length;
          for (const entry of entries) {
            const p: Promise<void> = handle(entry)
              .catch((error) => log('an outbox entry could not be handled; its lease will run out', error))
              .finally(() => {
                inFlight.delete(p);
                claimedAt.delete(entry.messageId);
                // Also when the loop is claiming right now (no waiter yet): it claims again instead of waiting.
                woken = true;
                wake?.();
              });
            inFlight.add(p);
          }
        } catch (error) {
          log('the outbox could not be read; retrying', error);
        }
      }
      // Claimed a full batch: there may be more at once. Otherwise wait for a wake-up (a queued message, a finished send) or the poll.
      if (running && !woken && !(claimed > 0 && claimed === free)) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  }

  return {
    owner,
    start() {
      if (running) return;
      running = true;
      const rouse = () => {
        woken = true;
        wake?.();
      };
      const unqueued = ops.onQueued(rouse);
      const unchanged = channels.onChanged((channelId) => {
        // Entries put off because the channel lacked its settings (or a token it had) are due again now.
        void ops.dueNow(channelId).then(rouse, () => {});
      });
      unlisten = () => {
        unqueued();
        unchanged();
      };
      loop = run();
    },
    /** Stops claiming; sends in flight finish (and record their outcome) first. */
    async stop() {
      running = false;
      unlisten?.();
      wake?.();
      await loop;
      await Promise.allSettled([...inFlight]);
    },
    /** Entries being sent by this process now. */
    inFlight: () => inFlight.size,
  };
}

export type OutboxSender = ReturnType<typeof createOutboxSender>;
