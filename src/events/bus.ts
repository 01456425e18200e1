import { randomUUID } from 'node:crypto';

/**
 * Fleet-wide wake-ups: "tenant T may have new events", so that live readers on every instance read the log.
 * Never a delivery: readers always read the durable log from their cursor, so a lost message costs latency only.
 */
export interface EventBus {
  /** Announces a commit of `tenant` to the other instances; coalesced per tick, never throws. */
  publish(tenant: string): void;
  /** Calls `listener` with the tenant of each announcement from another instance. */
  subscribe(listener: (tenant: string) => void): void;
  /** A live reader is waiting: start receiving announcements (a bus may connect only now). */
  listen(): void;
  close(): Promise<void>;
}

/** After an announcement, others wait this long and go out together: a busy instance sends ~200 a second, not one per write. */
const WINDOW_MS = 5;

/**
 * The part every bus shares: tags announcements with this instance's id and drops its own on the way back, and
 * coalesces them: the first after a quiet spell leaves at the end of its event-loop turn (no added latency), the
 * ones that follow within WINDOW_MS leave together at its end, one per tenant.
 */
export function createCoalescer(send: (payloads: string[]) => Promise<unknown>) {
  const instance = randomUUID();
  let pending = new Set<string>();
  let scheduled = false; // a send at the end of this turn
  let cooling = false; // a window is open: its end sends what came meanwhile
  const listeners: Array<(tenant: string) => void> = [];
  const flush = () => {
    scheduled = false;
    if (!pending.size) {
      cooling = false;
      return;
    }
    const tenants = [...pending];
    pending = new Set();
    send(tenants.map((each) => `${instance} ${each}`)).catch(() => {}); // the 1 s poll covers a lost one
    cooling = true;
    setTimeout(flush, WINDOW_MS).unref();
  };
  return {
    publish(tenant: string): void {
      pending.add(tenant);
      if (cooling || scheduled) return;
      scheduled = true;
      setImmediate(flush);
    },
    subscribe(listener: (tenant: string) => void): void {
      listeners.push(listener);
    },
    receive(payload: string): void {
      const space = payload.indexOf(' ');
      if (space < 0 || payload.slice(0, space) === instance) return;
      const tenant = payload.slice(space + 1);
      for (const listener of listeners) listener(tenant);
    },
  };
}
