/**
 * One SQLite connection serves every call of the process, and better-sqlite3 runs each statement synchronously.
 * A transaction that spans awaits (the shared repositories', an import's) must have the connection to itself:
 * any statement run meanwhile, a read included, would join it and see or commit its uncommitted rows. The gate
 * queues such transactions one after another, and everything else waits while one holds it.
 */
export class ConnectionGate {
  #tail: Promise<void> = Promise.resolve();
  #held: Promise<void> | undefined;

  /** Settles when no transaction holds the connection; undefined when none does now (the common case). */
  get held(): Promise<void> | undefined {
    return this.#held;
  }

  /**
   * Settles once the transactions queued so far have finished — not those queued later: first come, first
   * served, so a burst of transactions cannot starve reads and appends. Callers check `held` again when it settles.
   */
  free(): Promise<void> {
    return this.#tail;
  }

  /** Runs `fn` holding the connection, after the transactions queued before it. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => { release = resolve; });
    this.#tail = previous.then(() => mine);
    await previous;
    this.#held = mine;
    try {
      return await fn();
    } finally {
      this.#held = undefined;
      release();
    }
  }
}
