import type { Database } from 'better-sqlite3';
import type { ConnectionGate } from './connection-gate.js';

/**
 * Group commit for the hot writes: calls made in the same event-loop turn share one IMMEDIATE transaction,
 * each inside its own savepoint (a failing call rolls back only itself), and every caller is answered only
 * after the shared COMMIT. Pages that every append touches (the right edges of the message-id and event
 * indexes, the activity index) are then written once per batch instead of once per message.
 * The batch is flushed on a microtask, so a lone caller hardly waits and callers resumed together batch
 * together; when the previous event-loop turn saw several calls (requests arriving in separate I/O
 * callbacks), it waits for the end of the turn instead, to gather them. A batch never runs while a transaction
 * holds the connection gate: it waits for it.
 */
export function groupCommit<A extends unknown[], R>(db: Database, gate: ConnectionGate, fn: (...args: A) => R): (...args: A) => Promise<R> {
  const one = db.transaction(fn); // nested inside the batch: a savepoint
  const all = db.transaction((calls: Array<{ args: A }>) =>
    calls.map(({ args }) => {
      try {
        return { value: one(...args) };
      } catch (error) {
        // SQLITE_FULL, IOERR, … roll back the whole transaction, not just the savepoint: abort the batch, or
        // the calls after it would commit on their own while the batch reports failure.
        if (!db.inTransaction) throw error;
        return { error };
      }
    }));
  let queue: Array<{ args: A; resolve: (value: R) => void; reject: (error: unknown) => void }> = [];
  const flush = (): void => {
    if (gate.held) {
      void gate.free().then(flush);
      return;
    }
    const calls = queue;
    queue = [];
    if (calls.length === 0) return; // taken by a flush that waited for the gate
    if (calls.length === 1) {
      // Alone: a plain transaction, without the savepoint a batch gives each call.
      const [call] = calls as [(typeof calls)[number]];
      try {
        call.resolve(one.immediate(...call.args));
      } catch (error) {
        call.reject(error);
      }
      return;
    }
    let results: Array<{ value?: R; error?: unknown }>;
    try {
      results = all.immediate(calls);
    } catch (error) {
      for (const call of calls) call.reject(error); // the COMMIT failed: nobody is acknowledged
      return;
    }
    results.forEach((result, i) => ('error' in result ? calls[i]!.reject(result.error) : calls[i]!.resolve(result.value as R)));
  };
  let busy = false; // the previous turn had several calls
  let callsThisTurn = 0;
  const endTurn = () => {
    busy = callsThisTurn > 1;
    callsThisTurn = 0;
  };
  return (...args: A): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      if (callsThisTurn++ === 0) setImmediate(endTurn);
      if (queue.push({ args, resolve, reject }) === 1) {
        if (busy) setImmediate(flush);
        else queueMicrotask(flush);
      }
    });
}
