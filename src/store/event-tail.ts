import type { Backend } from '../backends/backend.js';
import type { StoreEvent } from '../domain/entities.js';
import type { ChangeSignal } from '../events/change-signal.js';
import type { EventIdCodec, TenantEventIds } from './event-ids.js';

/** Events a tail reads per query; a follower behind the tail catches up by pages of its own. */
const PAGE = 500;
const CATCH_UP = 100;
/** Recent events a tail keeps in memory for its followers. */
const BUFFER = 4096;
/** Wake-ups come from this process and, through the bus, from the fleet; the poll covers a lost one. */
const POLL_MS = 1_000;
/** Wake-ups within this long are read together: under a stream of writes, one query per window, not per write. */
const GATHER_MS = 5;

interface Entry {
  /** The tail's own count of what it read: consecutive, cheap to compare. */
  n: number;
  /** The backend's position. */
  raw: string;
  /** As clients see it (opaque id), shared by every follower. */
  event: StoreEvent;
}

/** What one follower holds between two reads: its place in the tail's count, and the backend position of it. */
interface Place {
  n: number;
  raw: string | null;
}

const ALL = '*';

/**
 * One tenant's live tail of the event log, shared by every follower in this process: one query per wake-up,
 * however many followers, fanned out from memory — each follower woken only for events it follows (its
 * conversation's, or all). It holds the newest events after `floor`; a follower whose position is before the
 * floor reads its own pages until it reaches what the tail holds.
 */
class Tail {
  floor: string | null = null;
  /** The count of the last event evicted (the floor's). */
  floorN = 0;
  readonly entries: Entry[] = [];
  readonly byConversation = new Map<string, Entry[]>();
  users = 0;
  readonly ready: Promise<void>;
  #n = 0;
  #waiters = new Map<string, Set<() => void>>();
  #reading = false;
  #again = false;
  #stop: () => void = () => {};

  constructor(
    readonly tenant: string,
    private readonly backend: Backend,
    private readonly ids: TenantEventIds,
    signal: ChangeSignal,
    private readonly onError: (error: unknown) => void,
  ) {
    this.ready = backend.events.head(tenant).then((head) => {
      this.floor = head;
      let gathering: NodeJS.Timeout | undefined;
      const unsubscribe = signal.on(tenant, () => {
        gathering ??= setTimeout(() => {
          gathering = undefined;
          void this.pump();
        }, GATHER_MS);
      });
      const poll = setInterval(() => void this.pump(), POLL_MS);
      poll.unref();
      this.#stop = () => {
        unsubscribe();
        clearInterval(poll);
        clearTimeout(gathering);
      };
    });
  }

  /** The place after everything the tail holds. */
  get end(): Place {
    const last = this.entries.at(-1);
    return last ? { n: last.n, raw: last.raw } : { n: this.floorN, raw: this.floor };
  }

  compare(a: string | null, b: string | null): number {
    return this.backend.events.compare(a, b);
  }

  /** The place of a backend position the tail covers (at or after its floor), else undefined. */
  placeOf(raw: string | null): Place | undefined {
    if (this.compare(raw, this.floor) < 0) return undefined;
    // The last entry at or before `raw`: followers come back here after a catch-up, seldom.
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.compare(this.entries[mid]!.raw, raw) > 0) hi = mid;
      else lo = mid + 1;
    }
    return { n: lo === 0 ? this.floorN : this.entries[lo - 1]!.n, raw };
  }

  /** The events after `place` (of one conversation, if given), or undefined when the tail no longer holds them. */
  after(place: Place, conversationId: string | undefined): StoreEvent[] | undefined {
    if (place.n < this.floorN) return undefined;
    const list = conversationId === undefined ? this.entries : this.byConversation.get(conversationId);
    if (!list?.length || list.at(-1)!.n <= place.n) return [];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.n > place.n) hi = mid;
      else lo = mid + 1;
    }
    // A follower that read ahead of the tail on its own has seen the first of these already.
    while (lo < list.length && this.compare(list[lo]!.raw, place.raw) <= 0) lo++;
    return list.slice(lo).map((entry) => entry.event);
  }

  /** Calls `wake` once, when the tail has read events of `conversationId` (or any, for undefined). */
  watch(conversationId: string | undefined, wake: () => void): () => void {
    const key = conversationId ?? ALL;
    let set = this.#waiters.get(key);
    if (!set) {
      set = new Set();
      this.#waiters.set(key, set);
    }
    set.add(wake);
    return () => {
      set.delete(wake);
      if (!set.size && this.#waiters.get(key) === set) this.#waiters.delete(key);
    };
  }

  /** Reads what is new, once for all followers; concurrent wake-ups make one more read, not one each. */
  async pump(): Promise<void> {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    try {
      do {
        this.#again = false;
        for (;;) {
          const page = await this.backend.events.list(this.tenant, { after: this.end.raw ?? undefined, limit: PAGE });
          if (page.length) this.#append(page);
          if (page.length < PAGE) break;
        }
      } while (this.#again);
    } catch (error) {
      this.onError(error); // the next wake-up or poll reads again; followers that read themselves see the error
    } finally {
      this.#reading = false;
    }
  }

  #append(page: StoreEvent[]): void {
    const touched = new Set<string>([ALL]);
    for (const event of page) {
      // Erased conversations' events leave the log: they leave the tail too.
      const erased = event.type === 'contact.erased' ? (event.data.conversationIds as string[] | undefined) : event.type === 'conversation.deleted' && event.conversationId ? [event.conversationId] : undefined;
      if (erased?.length) this.#forget(new Set(erased));
      const entry: Entry = { n: ++this.#n, raw: event.id, event: { ...event, id: this.ids.encode(event.id) } };
      this.entries.push(entry);
      if (event.conversationId) {
        const list = this.byConversation.get(event.conversationId);
        if (list) list.push(entry);
        else this.byConversation.set(event.conversationId, [entry]);
        touched.add(event.conversationId);
      }
    }
    if (this.entries.length > BUFFER) {
      for (const gone of this.entries.splice(0, this.entries.length - BUFFER)) {
        this.floor = gone.raw;
        this.floorN = gone.n;
        const id = gone.event.conversationId;
        const list = id ? this.byConversation.get(id) : undefined;
        if (list) {
          list.shift(); // the oldest of its conversation too
          if (!list.length) this.byConversation.delete(id!);
        }
      }
    }
    for (const key of touched) {
      const set = this.#waiters.get(key);
      if (!set) continue;
      this.#waiters.delete(key);
      for (const wake of set) wake();
    }
  }

  #forget(conversations: Set<string>): void {
    for (const id of conversations) this.byConversation.delete(id);
    for (let i = this.entries.length - 1; i >= 0; i--) if (conversations.has(this.entries[i]!.event.conversationId ?? '')) this.entries.splice(i, 1);
  }

  close(): void {
    this.#stop();
    for (const set of this.#waiters.values()) for (const wake of set) wake();
    this.#waiters.clear();
  }
}

/** The live tails of one store (every tenant view shares them): `events.follow`. */
export function createEventTails(backend: Backend, signal: ChangeSignal, codec: EventIdCodec, onError: (error: unknown) => void = () => {}) {
  const tails = new Map<string, Tail>();

  const release = (tail: Tail) => {
    if (--tail.users > 0) return;
    tail.close();
    if (tails.get(tail.tenant) === tail) tails.delete(tail.tenant);
  };

  return {
    /**
     * The tenant's events after `after` (a client's id), as they come: batches in delivery order, until `stop`
     * aborts. Followers of one tenant in this process share one tail of the log.
     */
    async *follow(tenant: string, options: { after?: string | undefined; conversationId?: string | undefined; stop: AbortSignal }): AsyncGenerator<StoreEvent[]> {
      const ids = await codec.forTenant(tenant);
      let position = options.after === undefined ? null : ids.decode(options.after);
      backend.events.compare(position, null); // a malformed cursor is refused now, before anything is sent
      let tail = tails.get(tenant);
      if (!tail) {
        tail = new Tail(tenant, backend, ids, signal, onError);
        tails.set(tenant, tail);
      }
      tail.users++;
      const latest = (a: string | null, b: string | null) => (tail!.compare(a, b) >= 0 ? a : b);
      try {
        await tail.ready.catch((error: unknown) => {
          if (tails.get(tenant) === tail) tails.delete(tenant); // the next follower starts a new one
          throw error;
        });
        const { conversationId, stop } = options;
        // One wait at a time: the tail ends it when it reads this follower's events, `stop` when the follower ends.
        let pending: (() => void) | undefined;
        let unwatch: (() => void) | undefined;
        const woken = () => {
          unwatch?.();
          unwatch = undefined;
          const resolve = pending;
          pending = undefined;
          resolve?.();
        };
        stop.addEventListener('abort', woken, { once: true });
        const next = () => new Promise<void>((resolve) => {
          if (stop.aborted) return resolve();
          pending = resolve;
          unwatch = tail!.watch(conversationId, woken);
        });
        let place: Place | undefined;
        try {
          while (!stop.aborted) {
            place ??= tail.placeOf(position);
            const events = place && tail.after(place, conversationId);
            if (place && events) {
              // Never back: a follower that read ahead on its own keeps its position until the tail passes it.
              const end = tail.end;
              place = { n: end.n, raw: latest(place.raw, end.raw) };
              position = place.raw;
              if (events.length) yield events;
              else await next();
              continue;
            }
            // Behind what the tail holds: read on alone. What the tail had read before this read is then
            // covered too, for a follower of one conversation whose own events end earlier.
            place = undefined;
            const before = tail.end.raw;
            const page = await backend.events.list(tenant, { after: position ?? undefined, limit: CATCH_UP, ...(conversationId ? { conversationId } : {}) });
            if (page.length) {
              position = page.at(-1)!.id;
              yield page.map((event) => ({ ...event, id: ids.encode(event.id) }));
            }
            // Caught up with the log as it was when the tail held `before`: on from there (or, if the tail moved
            // its floor past that during the read, read on alone again).
            if (page.length < CATCH_UP) position = latest(position, before);
          }
        } finally {
          stop.removeEventListener('abort', woken);
        }
      } finally {
        release(tail);
      }
    },
  };
}

export type EventTails = ReturnType<typeof createEventTails>;
