import type { EventBus } from './bus.js';

/**
 * Wake-up for event readers: "tenant T may have new events", from this process and, through the bus, from
 * every other instance. Never a source of truth: a woken reader reads the durable log from its cursor, so a
 * missed or spurious signal costs latency, not events.
 */
export class ChangeSignal {
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #bus: EventBus | undefined;

  constructor(bus?: EventBus) {
    this.#bus = bus;
    bus?.subscribe((tenant) => this.#wake(tenant));
  }

  on(tenant: string, listener: () => void): () => void {
    this.#bus?.listen();
    let set = this.#listeners.get(tenant);
    if (!set) {
      set = new Set();
      this.#listeners.set(tenant, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (!set.size) this.#listeners.delete(tenant);
    };
  }

  /** A commit of `tenant` in this process: wakes its readers here and announces it to the fleet. */
  emit(tenant: string): void {
    this.#wake(tenant);
    this.#bus?.publish(tenant);
  }

  #wake(tenant: string): void {
    const set = this.#listeners.get(tenant);
    if (set) for (const listener of [...set]) listener();
  }
}
