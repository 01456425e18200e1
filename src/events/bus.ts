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

/**
 * The part every bus shares: coalesces a tick's announcements into one per tenant, tags them with this
 * instance's id and drops its own on the way back.
 */
export function createCoalescer(send: (payloads: string[]) => Promise<unknown>) {
  const instance = randomUUID();
  let pending: Set<string> | undefined;
  const listeners: Array<(tenant: string) => void> = [];
  return {
    publish(tenant: string): void {
      if (pending) {
        pending.add(tenant);
        return;
      }
      pending = new Set([tenant]);
      setImmediate(() => {
        const tenants = [...pending!];
        pending = undefined;
        send(tenants.map((each) => `${instance} ${each}`)).catch(() => {}); // the 1 s poll covers a lost one
      });
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
