import { signal } from '@preact/signals';
import { api } from './api.js';
import type { StoreEvent } from './types.js';

type Listener = (event: StoreEvent) => void;
const listeners = new Set<Listener>();
/** connecting, live, or down (retrying): shown in the header so that a stale screen never passes for a live one. */
export const liveStatus = signal<'connecting' | 'live' | 'down'>('connecting');
/**
 * Bumped when the pages must read their state again: the stream started later than the pages read theirs (its
 * first token could not be had), so what happened in between is not in it.
 */
export const resyncs = signal(0);

const EVENT_TYPES = [
  'message.created', 'message.status', 'message.edited', 'conversation.created', 'conversation.updated', 'conversation.deleted',
  'conversation.restored', 'state.updated', 'channel.health', 'alert.raised', 'alert.resolved', 'usage.recorded',
  'budget.economy', 'budget.exceeded', 'agent.error', 'agent.refused', 'contact.erased', 'contact.merged',
];

let source: EventSource | null = null;
/** Where the stream resumes: the last event received, else where it started. */
let position: { after: string | null } | null = null;
/** The pages were let go before the stream had a starting point: they must read again once it has one. */
let releasedEarly = false;
let retry: ReturnType<typeof setTimeout> | undefined;
/** Each start and stop is a new generation: a token that arrives for an earlier one is dropped. */
let generation = 0;
let running = false;
let ready: () => void = () => undefined;

/**
 * One stream of the tenant's events (`?include=data`: each event carries its object) for every page. A stream token
 * keeps the key out of the URL. The first stream starts at the log's head as the token was issued (the pages read
 * their state after that, so nothing is missed); after a drop the browser resumes with Last-Event-ID by itself, and
 * when the token is refused (expired, the server restarted) a new one resumes after the last event received.
 */
async function open(mine: number): Promise<void> {
  liveStatus.value = 'connecting';
  try {
    const { url, after } = await api<{ url: string; after: string | null }>('/v1/events/tokens', { method: 'POST', body: { ttlSeconds: 3600 } });
    if (mine !== generation) return;
    if (position === null) {
      position = { after };
      if (releasedEarly) resyncs.value++;
    }
    ready();
    const es = new EventSource(`${url}&include=data${position.after ? `&after=${encodeURIComponent(position.after)}` : ''}`);
    source = es;
    es.onopen = () => { if (source === es) liveStatus.value = 'live'; };
    es.onerror = () => {
      if (source !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // Refused (a 401 once the token expired, or no server): a new token, after a pause.
        es.close();
        source = null;
        liveStatus.value = 'down';
        schedule(mine);
      } else {
        liveStatus.value = 'connecting'; // the browser reconnects by itself, with Last-Event-ID
      }
    };
    const deliver = (message: MessageEvent<string>) => {
      if (source !== es) return;
      let event: StoreEvent;
      try {
        event = JSON.parse(message.data) as StoreEvent;
      } catch {
        return;
      }
      position = { after: message.lastEventId || event.id };
      for (const listener of listeners) listener(event);
    };
    for (const type of EVENT_TYPES) es.addEventListener(type, deliver as never);
  } catch {
    if (mine !== generation) return;
    if (position === null) releasedEarly = true;
    ready(); // the pages show what they can read meanwhile; the stream keeps trying
    liveStatus.value = 'down';
    schedule(mine);
  }
}

function schedule(mine: number): void {
  clearTimeout(retry);
  retry = setTimeout(() => { if (mine === generation) void open(mine); }, 2_000);
}

/** Whether an event's data stands for no record to show: erased, or hidden in the trash (`{ id, trashed: true }`). */
export const withoutRecord = (data: Record<string, unknown>): boolean => data.erased === true || data.trashed === true;

/** Calls `listener` with every event until the returned function is called. */
export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Starts the stream; resolves once its starting point is known (or could not be had), when pages may read their state. */
export function startLive(): Promise<void> {
  if (running) return Promise.resolve();
  running = true;
  const mine = ++generation;
  const started = new Promise<void>((resolve) => { ready = resolve; });
  void open(mine);
  return started;
}

export function stopLive(): void {
  running = false;
  generation++;
  clearTimeout(retry);
  source?.close();
  source = null;
  position = null;
  releasedEarly = false;
  liveStatus.value = 'connecting';
}
