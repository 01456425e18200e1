import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, createWriteStream } from 'node:fs';
import { periodic } from '../periodic.js';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { SEVERITY, SYSTEM_TENANT } from '../domain/alert.js';
import { ColloquyError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { alertOps } from '../store/alert-ops.js';
import { scopeOfStore, type Store } from '../store/store.js';
import type { AlertRecord } from '../backends/backend.js';
import { VERSION } from '../version.js';

export const BACKUP_HEADER = 'colloquy-export';
const NAME = /^colloquy-backup-[0-9TZ-]+\.jsonl\.gz$/;
const TEMP = /^\.colloquy-backup-.*\.tmp$/;

/** How long a backup being written holds its period (renewed meanwhile), and how long a failed one waits to be tried again. */
const WRITING_MS = 15 * 60_000;
const RETRY_MS = 5 * 60_000;

/** `24h`, `30m`, `90s`, `7d` (or plain milliseconds) → milliseconds, at least a minute. */
export function parseEvery(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  const ms = match ? Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 'ms') as 'ms'] : NaN;
  if (!(ms >= 60_000)) throw new ColloquyError('invalid_argument', `Invalid backup interval "${value}": a duration of at least a minute, such as 24h, 6h, 30m or 7d.`);
  return ms;
}

/**
 * Writes one backup of the whole database into `dir`: the JSON Lines of `colloquy export` with everything a complete
 * restore needs (secrets sealed as stored, API keys by their hashes, webhook endpoints, budgets, alert settings),
 * gzip-compressed, mode 0600, written to a temporary file, flushed to the disk and renamed into place (a crash
 * leaves the previous backups and, at worst, a temporary file the next backup removes; never half a backup under a
 * backup's name).
 */
export async function writeBackup(store: Store, dir: string, now = Date.now()): Promise<{ file: string; records: number; bytes: number }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // What a crash (or a full disk) left mid-write before: gone before anything new is written.
  for (const stale of readdirSync(dir).filter((f) => TEMP.test(f))) rmSync(join(dir, stale), { force: true });
  const name = `colloquy-backup-${new Date(now).toISOString().replace(/[:.]/g, '-')}.jsonl.gz`;
  const temp = join(dir, `.${name}.${process.pid}.tmp`);
  let records = 0;
  async function* lines() {
    yield `${JSON.stringify({ kind: BACKUP_HEADER, version: 1, colloquy: VERSION, exportedAt: new Date(now).toISOString(), backup: true })}\n`;
    for await (const record of store.exportAll({ backup: true })) {
      records++;
      yield `${JSON.stringify(record)}\n`;
    }
  }
  try {
    // One pipeline: an error anywhere (the database, a full disk) ends it and lands here, never as an uncaught one.
    await pipeline(Readable.from(lines()), createGzip(), createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
    const fd = openSync(temp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  const final = join(dir, name);
  renameSync(temp, final);
  const directory = openSync(dir, 'r');
  try {
    fsyncSync(directory); // the rename itself on the disk
  } finally {
    closeSync(directory);
  }
  return { file: final, records, bytes: statSync(final).size };
}

/** Keeps the newest `keep` backups of `dir` (by the time in their names). */
export function pruneBackups(dir: string, keep: number): number {
  const backups = readdirSync(dir).filter((f) => NAME.test(f)).sort().reverse();
  for (const old of backups.slice(keep)) rmSync(join(dir, old), { force: true });
  return Math.max(0, backups.length - keep);
}

export interface BackupJobConfig {
  store: Store;
  dir: string;
  everyMs: number;
  keep: number;
  /** This instance's name in the period's lease. */
  owner: string;
  /** Told of `backup.failed` raised or resolved (the alert monitor e-mails it). */
  notify?: ((tenant: string, alert: AlertRecord, what: 'raised' | 'resolved') => Promise<void>) | undefined;
  log?: ((message: string, error?: unknown) => void) | undefined;
}

/**
 * Scheduled backups: one per period of `everyMs` (periods counted from the epoch, so every instance agrees), written
 * by the first instance of a fleet to take the period's lease, then the newest `keep` kept. A failed backup raises
 * the system alert `backup.failed` (e-mailed to the admin) and is tried again 5 min later, by any instance; the next
 * successful one resolves it. An instance that dies while writing loses the period to another within 15 min.
 */
export function createBackupJob(config: BackupJobConfig) {
  const log = config.log ?? (() => {});
  const s = scopeOfStore(config.store);
  const alerts = alertOps(config.store);

  async function check(): Promise<void> {
    const now = s.clock();
    const period = Math.floor(now / config.everyMs);
    const name = `backup:${period}`;
    // The period's lease: held 15 min while writing (renewed), to the period's end once written (no instance, however
    // late it starts, writes it again), 5 min after a failure (then any instance tries again).
    if (!(await s.backend.reports.lease(name, config.owner, now + WRITING_MS, now))) return;
    const renew = setInterval(() => void s.backend.reports.lease(name, config.owner, s.clock() + WRITING_MS, s.clock()).catch(() => {}), WRITING_MS / 3);
    renew.unref();
    let written: Awaited<ReturnType<typeof writeBackup>>;
    try {
      written = await writeBackup(config.store, config.dir, now);
    } catch (error) {
      clearInterval(renew);
      log('the backup failed', error);
      await s.backend.reports.lease(name, config.owner, s.clock() + RETRY_MS, s.clock()).catch(() => {});
      const message = `The backup into ${config.dir} failed: ${(error as Error).message}`;
      const raised = await alerts.raise(SYSTEM_TENANT, { id: newId(), rule: 'backup.failed', subject: '', severity: SEVERITY['backup.failed'], message, details: { dir: config.dir, error: (error as Error).message }, raisedAt: now })
        .catch((raiseError) => log('the failed backup could not be recorded as an alert', raiseError));
      if (raised) await config.notify?.(SYSTEM_TENANT, raised, 'raised');
      return;
    }
    clearInterval(renew);
    await s.backend.reports.lease(name, config.owner, (period + 1) * config.everyMs, s.clock()).catch((error) => log('the backup lease could not be extended', error));
    log(`backup written: ${written.file} (${written.records} records, ${written.bytes} bytes)`);
    // After the backup is safe: what fails from here is no failed backup.
    try {
      pruneBackups(config.dir, config.keep);
    } catch (error) {
      log('old backups could not be pruned', error);
    }
    const resolved = await alerts.clear(SYSTEM_TENANT, 'backup.failed', '', 0).catch(() => undefined);
    if (resolved) await config.notify?.(SYSTEM_TENANT, resolved, 'resolved');
  }

  const job = periodic(check, { intervalMs: Math.min(60_000, config.everyMs), onError: (error) => log('the backup could not be scheduled', error) });
  return {
    check: job.run,
    start: job.start,
    stop: job.stop,
  };
}
