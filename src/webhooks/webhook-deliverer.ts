import { setMaxListeners } from 'node:events';
import type { NewWebhookAttempt, WebhookEndpointRecord, WebhookProgress } from '../backends/backend.js';
import { subscribes } from '../domain/webhook.js';
import type { Store } from '../store/store.js';
import { webhookOps, type PositionedEvent } from '../store/webhook-ops.js';
import { eventData } from './event-payload.js';
import { retryDelay } from './retry-delay.js';
import { createPoster, postEvent, signer, type PostResult } from './webhook-post.js';

export interface WebhookDelivererConfig {
  /** The store (any tenant's view: endpoints of every tenant are delivered); its `allowPrivateWebhooks` applies. */
  store: Store;
  /** This instance's name in endpoint leases. */
  owner: string;
  /** An instance that stops renewing loses its endpoints after this long (another takes them over). Default 30 s. */
  leaseMs?: number | undefined;
  /** One attempt's time limit. Default 10 s. */
  timeoutMs?: number | undefined;
  /** The first retry's delay; each next one doubles, up to an hour, with ±25% jitter. Default 5 s. */
  retryBaseMs?: number | undefined;
  /** An endpoint failing for this long is disabled. Default 3 days. */
  giveUpMs?: number | undefined;
  /** How often the enabled endpoints are listed (new ones found). Default 1 s. */
  scanMs?: number | undefined;
  log?: ((message: string, error?: unknown) => void) | undefined;
}

/** Events read per batch, and the conversations of a batch delivered at once (each in its own order). */
const BATCH = 200;
const LANES = 16;
/** While a batch runs, its lease is renewed and the endpoint read again this often (or every third of the lease). */
const REFRESH_MS = 1_000;
/** A quiet endpoint still looks at the log this often (a wake-up may be lost between instances). */
const IDLE_POLL_MS = 1_000;
/** Delivery attempts kept: at most this many per endpoint, for at most this long. */
const KEEP_ATTEMPTS = 10_000;
const KEEP_MS = 7 * 86_400_000;

/**
 * Outgoing webhooks: each enabled endpoint delivers the tenant's event log from its own cursor, signed as Standard
 * Webhooks (`webhook-id` = the event id, stable across retries), by one instance of a fleet at a time (a lease).
 * Events of one conversation go in log order; different conversations' go side by side. A failed attempt stops the
 * endpoint's cursor at that event and retries it with backoff (events after it that were delivered are not sent
 * again by this instance); after `giveUpMs` of failing the endpoint is disabled. The cursor moves only after the
 * receiver answered 2xx: nothing is lost to a crash, and a batch cut short by one is sent again (at least once).
 */
export function createWebhookDeliverer(config: WebhookDelivererConfig) {
  const log = config.log ?? (() => {});
  const leaseMs = config.leaseMs ?? 30_000;
  const retryBaseMs = config.retryBaseMs ?? 5_000;
  const giveUpMs = config.giveUpMs ?? 3 * 86_400_000;
  const scanMs = config.scanMs ?? 1_000;
  const ops = webhookOps(config.store);
  const poster = createPoster({ allowPrivate: ops.allowPrivate, timeoutMs: config.timeoutMs });
  const workers = new Map<string, { stop: () => void; done: Promise<void> }>();
  let running = false;
  let scanner: NodeJS.Timeout | undefined;
  let pruned = 0;

  const backoff = (attempts: number) => retryDelay(attempts, retryBaseMs);
  /** What a deliverer must react to at once: a caller moved the cursor, or changed where or what it delivers. */
  const sameTarget = (a: WebhookEndpointRecord, b: WebhookEndpointRecord) =>
    a.generation === b.generation && a.enabled === b.enabled && a.url === b.url && JSON.stringify(a.events) === JSON.stringify(b.events);

  /** One endpoint, while this instance runs and the endpoint is enabled. */
  function work(tenant: string, id: string): { stop: () => void; done: Promise<void> } {
    let stopped = false;
    let wake: (() => void) | undefined;
    let cancel: AbortController | undefined;
    const stop = () => {
      stopped = true;
      cancel?.abort();
      wake?.();
    };
    const pause = (ms: number, onChange = false) => new Promise<void>((resolve) => {
      if (stopped) return resolve();
      const unsubscribe = onChange ? ops.onChange(tenant, () => finish()) : undefined;
      const timer = setTimeout(() => finish(), ms);
      timer.unref();
      function finish() {
        clearTimeout(timer);
        unsubscribe?.();
        wake = undefined;
        resolve();
      }
      wake = finish;
    });
    const store = ops.tenant(tenant);
    // Events of the current generation delivered already though the cursor could not pass them yet (an earlier event
    // of another conversation failed): not sent again by this instance. Attempts per event, for the log.
    const delivered = new Set<string>();
    const tries = new Map<string, number>();
    let endpoint: WebhookEndpointRecord | undefined;
    let renewAt = 0;

    /** Adopts a newer view of the endpoint; a new generation (a replay) forgets what this instance delivered. */
    const adopt = (next: WebhookEndpointRecord) => {
      if (endpoint?.generation !== next.generation) {
        delivered.clear();
        tries.clear();
      }
      endpoint = next;
      renewAt = ops.clock() + leaseMs / 3;
    };

    async function batch(current: WebhookEndpointRecord, page: PositionedEvent[]): Promise<void> {
      // Built for each batch: a rotation's grace period ends without any change to the endpoint.
      const keys = signer(ops.secrets(tenant, current));
      const wanted = page.filter((p) => subscribes(current.events, p.event.type) && !delivered.has(p.raw));
      const lanes = new Map<string, PositionedEvent[]>();
      for (const p of wanted) {
        const key = p.event.conversationId ?? '';
        const lane = lanes.get(key);
        if (lane) lane.push(p);
        else lanes.set(key, [p]);
      }
      const attempts: NewWebhookAttempt[] = [];
      const failures: Array<{ index: number; p: PositionedEvent; result: PostResult }> = [];
      const indexOf = new Map(page.map((p, i) => [p.raw, i]));
      const queue = [...lanes.values()];
      const started = ops.clock();
      const abort = (cancel = new AbortController());
      setMaxListeners(LANES + 8, abort.signal); // one listener per post in flight, and the lanes run side by side
      // While the batch runs: the lease renewed, and the endpoint read again. A lost lease, or a caller moving the
      // cursor or changing the URL or the events, stops it: no more posts under the old terms.
      const refresh = setInterval(() => {
        void ops.claim(tenant, id, config.owner, leaseMs).then((claimed) => {
          if (!claimed || !sameTarget(claimed, current)) abort.abort();
          else renewAt = ops.clock() + leaseMs / 3;
        }, () => {}); // a database that does not answer: the lease runs out on its own, and progress is refused then
      }, Math.min(REFRESH_MS, leaseMs / 3));
      refresh.unref();
      // A change made here or on another instance wakes the tenant: the endpoint is read again then (at most every
      // 100 ms), so that a new URL or a replay stops the old batch at once rather than at the next renewal.
      let checkedAt = 0;
      let checking = false;
      const unsubscribe = ops.onChange(tenant, () => {
        if (checking || ops.clock() - checkedAt < 100) return;
        checking = true;
        checkedAt = ops.clock();
        void ops.get(tenant, id).then((seen) => {
          if (!seen || seen.owner !== config.owner || !sameTarget(seen, current)) abort.abort();
        }, () => {}).finally(() => {
          checking = false;
        });
      });
      const runLane = async () => {
        for (let lane = queue.shift(); lane; lane = queue.shift()) {
          for (const p of lane) {
            // A batch never outlives half a lease: what is left waits for the next one.
            if (abort.signal.aborted || ops.clock() - started > leaseMs / 2) return;
            const attempt = Math.max(tries.get(p.raw) ?? 0, current.lastError?.eventId === p.event.id ? current.attempts : 0) + 1;
            let result: PostResult;
            try {
              const data = await eventData(store, p.event);
              result = await postEvent(poster, current.url, keys, { id: p.event.id, type: p.event.type, timestamp: p.event.createdAt, data }, ops.clock(), abort.signal);
            } catch (error) {
              // The payload could not be read (the database): a failed attempt like any other, retried with backoff.
              result = { ok: false, status: null, latencyMs: 0, error: `the event's data could not be read: ${(error as Error).message}`.slice(0, 500) };
            }
            attempts.push({ eventId: p.event.id, eventType: p.event.type, attempt, ok: result.ok, httpStatus: result.status, latencyMs: result.latencyMs, error: result.error, at: ops.clock() });
            if (result.cancelled) return;
            if (!result.ok) {
              tries.set(p.raw, attempt);
              failures.push({ index: indexOf.get(p.raw)!, p, result });
              break; // the rest of this conversation waits behind it
            }
            delivered.add(p.raw);
          }
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.min(LANES, lanes.size) }, runLane));
      } finally {
        clearInterval(refresh);
        unsubscribe();
        cancel = undefined;
      }
      const now = ops.clock();
      // The cursor stops before the first event not delivered: failed, or not reached.
      const pending = page.findIndex((p) => subscribes(current.events, p.event.type) && !delivered.has(p.raw));
      const deliveredTo = pending === -1 ? page.at(-1)!.raw : pending > 0 ? page[pending - 1]!.raw : current.deliveredTo;
      const lastSuccessAt = attempts.some((a) => a.ok) ? now : current.lastSuccessAt;
      let state: WebhookProgress;
      if (!failures.length) {
        state = { deliveredTo, attempts: 0, failingSince: null, nextAttemptAt: 0, lastError: null, lastSuccessAt };
      } else {
        const first = failures.reduce((a, b) => (b.index < a.index ? b : a));
        // A failing run is one event failing again and again; another event failing starts a run of its own.
        const again = current.attempts > 0 && current.lastError?.eventId === first.p.event.id;
        const failingSince = again ? current.failingSince ?? now : now;
        const count = again ? current.attempts + 1 : 1;
        const lastError = { eventId: first.p.event.id, httpStatus: first.result.status, error: first.result.error, at: new Date(now).toISOString() };
        state = {
          deliveredTo, attempts: count, failingSince, nextAttemptAt: Math.round(now + backoff(count)), lastError, lastSuccessAt,
          ...(now - failingSince >= giveUpMs ? { disable: `failing for ${Math.round((now - failingSince) / 3_600_000)} h, its retries ran out (last: ${first.result.error})` } : {}),
        };
        if (state.disable) log(`webhook ${id} disabled: ${state.disable}`);
      }
      if (!(await ops.progress(tenant, current, config.owner, state, attempts))) {
        endpoint = undefined; // the lease was lost, or a caller moved the cursor: read it again
        return;
      }
      endpoint = { ...current, ...state, enabled: state.disable === undefined, disabledReason: state.disable ?? null };
      // Passed by the cursor: no longer needed to skip.
      for (const p of pending === -1 ? page : page.slice(0, pending)) {
        delivered.delete(p.raw);
        tries.delete(p.raw);
      }
    }

    const done = (async () => {
      while (running && !stopped) {
        try {
          const now = ops.clock();
          if (!endpoint || now >= renewAt) {
            const claimed = await ops.claim(tenant, id, config.owner, leaseMs);
            if (!claimed) {
              endpoint = undefined;
              await pause(Math.max(100, leaseMs / 3)); // another instance has it (or it is disabled: the scan ends this worker)
              continue;
            }
            adopt(claimed);
          }
          const current = endpoint!;
          if (!current.enabled) return;
          if (current.attempts > 0 && current.nextAttemptAt > now) {
            await pause(Math.min(current.nextAttemptAt - now, renewAt - now));
            continue;
          }
          const page = await ops.events(tenant, current.deliveredTo, BATCH);
          if (!page.length) {
            await pause(Math.min(IDLE_POLL_MS, Math.max(0, renewAt - now)), true);
            continue;
          }
          // Read again before each batch: a change (a new URL, a rotated secret, a replay) applies to the next
          // delivery, not to the next renewal of the lease.
          const fresh = await ops.get(tenant, id);
          if (!fresh?.enabled || fresh.owner !== config.owner) {
            endpoint = undefined;
            continue;
          }
          if (fresh.generation !== current.generation) {
            adopt(fresh);
            continue; // from its cursor as it is now
          }
          await batch({ ...fresh, deliveredTo: current.deliveredTo }, page);
        } catch (error) {
          log(`webhook ${id}: delivery interrupted, trying again`, error);
          endpoint = undefined;
          await pause(1_000);
        }
      }
    })().finally(() => {
      workers.delete(`${tenant}/${id}`);
      return ops.release(tenant, id, config.owner).catch(() => {});
    });
    return { stop, done };
  }

  async function scan(): Promise<void> {
    try {
      const enabled = await ops.enabled();
      const keys = new Set(enabled.map((e) => `${e.tenant}/${e.id}`));
      for (const e of enabled) if (!workers.has(`${e.tenant}/${e.id}`)) workers.set(`${e.tenant}/${e.id}`, work(e.tenant, e.id));
      for (const [key, worker] of workers) if (!keys.has(key)) worker.stop();
      if (ops.clock() - pruned > 3_600_000) {
        pruned = ops.clock();
        await ops.prune(KEEP_MS, KEEP_ATTEMPTS);
      }
    } catch (error) {
      log('webhooks: could not list endpoints', error);
    }
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      void scan();
      scanner = setInterval(() => void scan(), scanMs);
      scanner.unref();
    },
    /** Stops: attempts in flight are cut short, what was delivered is recorded, the leases given up so that another instance goes on at once. */
    async stop(): Promise<void> {
      running = false;
      clearInterval(scanner);
      const all = [...workers.values()];
      for (const worker of all) worker.stop();
      await Promise.allSettled(all.map((w) => w.done));
      poster.close();
    },
  };
}

export type WebhookDeliverer = ReturnType<typeof createWebhookDeliverer>;
