import { once } from 'node:events';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
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
 * leaves the previous backups and, at worst, a temporary file, never half a backup under a backup's name). Then only
 * the newest `keep` backups are kept.
 */
export async function writeBackup(store: Store, dir: string, keep: number, now = Date.now()): Promise<{ file: string; records: number; bytes: number }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = `colloquy-backup-${new Date(now).toISOString().replace(/[:.]/g, '-')}.jsonl.gz`;
  const temp = join(dir, `.${name}.${process.pid}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  let records = 0;
  try {
    const file = createWriteStream('', { fd, autoClose: false });
    const gzip = createGzip();
    gzip.pipe(file);
    const write = async (line: string) => {
      if (!gzip.write(`${line}\n`)) await once(gzip, 'drain');
    };
    await write(JSON.stringify({ kind: BACKUP_HEADER, version: 1, colloquy: VERSION, exportedAt: new Date(now).toISOString(), backup: true }));
    for await (const record of store.exportAll({ backup: true })) {
      await write(JSON.stringify(record));
      records++;
    }
    gzip.end();
    await finished(file);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  const final = join(dir, name);
  renameSync(temp, final);
  const directory = openSync(dir, 'r');
  try {
    fsyncSync(directory); // the rename itself on the disk
  } finally {
    closeSync(directory);
  }
  const backups = readdirSync(dir).filter((f) => NAME.test(f)).sort().reverse();
  for (const old of backups.slice(keep)) rmSync(join(dir, old), { force: true });
  return { file: final, records, bytes: statSync(final).size };
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
 * by the first instance of a fleet to take the period's lease. A failed backup raises the system alert
 * `backup.failed` (e-mailed to the admin), which the next successful one resolves.
 */
export function createBackupJob(config: BackupJobConfig) {
  const log = config.log ?? (() => {});
  const s = scopeOfStore(config.store);
  const alerts = alertOps(config.store);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let done = -1;

  async function check(): Promise<void> {
    const now = s.clock();
    const period = Math.floor(now / config.everyMs);
    if (period === done) return;
    if (!(await s.backend.reports.lease(`backup:${period}`, config.owner, now + 3_600_000, now))) {
      done = period; // another instance writes this one
      return;
    }
    try {
      const { file, records, bytes } = await writeBackup(config.store, config.dir, config.keep, now);
      done = period;
      log(`backup written: ${file} (${records} records, ${bytes} bytes)`);
      const resolved = await alerts.clear(SYSTEM_TENANT, 'backup.failed', '', 0);
      if (resolved) await config.notify?.(SYSTEM_TENANT, resolved, 'resolved');
    } catch (error) {
      done = period; // tried again next period (and now raised, so an operator hears of it)
      log('the backup failed', error);
      const message = `The backup into ${config.dir} failed: ${(error as Error).message}`;
      const raised = await alerts.raise(SYSTEM_TENANT, { id: newId(), rule: 'backup.failed', subject: '', severity: SEVERITY['backup.failed'], message, details: { dir: config.dir, error: (error as Error).message }, raisedAt: now })
        .catch((raiseError) => log('the failed backup could not be recorded as an alert', raiseError));
      if (raised) await config.notify?.(SYSTEM_TENANT, raised, 'raised');
    }
  }

  const tick = () => {
    running ??= check().catch((error) => log('the backup could not be scheduled', error)).finally(() => {
      running = undefined;
    });
    return running;
  };
  return {
    check: tick,
    start(): void {
      void tick();
      timer = setInterval(() => void tick(), Math.min(60_000, config.everyMs));
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await running;
    },
  };
}
