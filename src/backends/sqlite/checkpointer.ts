import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Runs SQLite WAL checkpoints on a worker thread with its own connection.
 * A checkpoint fsyncs the database file; done inline, that stalls the writing commit for milliseconds.
 * PASSIVE checkpoints never block writers or readers, so the event loop never waits for the disk here.
 * The main connection keeps a (high) auto-checkpoint as a safety net should this worker fall behind.
 */
export interface Checkpointer {
  stop(): Promise<void>;
}

// Plain CommonJS evaluated in the worker: no loader or transpiler is needed, whoever imports Colloquy.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 5000 });
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

export function startCheckpointer(path: string, intervalMs: number): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { driver, path, intervalMs } });
  worker.unref();
  worker.on('error', () => {}); // the inline auto-checkpoint still bounds the WAL
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      worker.ref(); // an unref'd worker would not keep the process alive while we wait for its last checkpoint
      worker.postMessage('stop');
      await exited;
    },
  };
}
