/**
 * In-process wake-up for event readers: "tenant T may have new events". Never a source of truth: a woken
 * reader reads the durable log from its cursor, so a missed or spurious signal costs latency, not events.
 */
export class ChangeSignal {
  readonly #listeners = new Map<string, Set<() => void>>();

  on(tenant: string, listener: () => void): () => void {
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

  emit(tenant: string): void {
    const set = this.#listeners.get(tenant);
    if (set) for (const listener of [...set]) listener();
  }
}
