import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { ImportReport } from '../backends/sql/portable-import.js';
import { portableProblem, type PortableRecord } from '../backends/sql/portable.js';
import { ColloquyError } from '../domain/errors.js';
import { connectRedis } from '../cache/redis/redis-client.js';
import { createRedisCache } from '../cache/redis/redis-cache.js';
import { openStore } from '../store/open-store.js';
import { VERSION } from '../version.js';
import { keyFits } from '../store/secret-box.js';
import { BACKUP_HEADER } from './backup.js';

const HEADER_KIND = BACKUP_HEADER;

/** Progress on a terminal only: `\r` updates are noise in a log file. */
const progress = (verb: string) => {
  const tty = process.stderr.isTTY;
  return {
    tick(n: number) {
      if (tty && n % 1000 === 0) process.stderr.write(`\r${verb} ${n} records…`);
    },
    done(text: string) {
      process.stderr.write(`${tty ? '\r' : ''}${text}\n`);
    },
  };
};

/**
 * Streams every record as JSON Lines (a header line first) to `out` or stdout. Channel secrets are written
 * only with `includeSecrets`, in the clear (the file is then as sensitive as the tokens in it).
 */
export async function exportTo(url: string, out: string | undefined, options: { includeSecrets?: boolean; secretKey?: string | undefined } = {}): Promise<number> {
  const store = await openStore({ url, migrate: false, create: false, secretKey: options.secretKey });
  const sink: Writable = out ? createWriteStream(out) : process.stdout;
  const bar = progress('exported');
  let n = 0;
  // A reader that stops early (`colloquy export | head`) closes the pipe: that ends the export, it is no failure.
  let closed = false;
  let failed: Error | undefined;
  const pipeClosed = new Promise<void>((resolve) => sink.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') closed = true;
    else failed = error;
    resolve();
  }));
  const writeFailed = (error: Error) =>
    new ColloquyError('unavailable', `Could not write ${out ?? 'the export'}: ${error.message}. The export is incomplete.`, { reason: 'write_failed' });
  try {
    const write = async (line: string) => {
      if (!sink.write(`${line}\n`)) await Promise.race([once(sink, 'drain').catch(() => undefined), pipeClosed]);
      if (failed) throw writeFailed(failed);
    };
    await write(JSON.stringify({ kind: HEADER_KIND, version: 1, colloquy: VERSION, exportedAt: new Date().toISOString() }));
    for await (const record of store.exportAll({ includeSecrets: options.includeSecrets ?? false })) {
      if (closed) break;
      await write(JSON.stringify(record));
      bar.tick(++n);
    }
  } finally {
    await store.close();
    // A file is complete only once flushed: a write error (a full disk) surfaces here, never a silent exit 0.
    if (out && !failed) {
      sink.end();
      await Promise.race([finished(sink).catch((error: Error) => void (failed ??= error)), pipeClosed]);
    }
    if (out && failed) sink.destroy();
  }
  if (failed) throw writeFailed(failed);
  if (closed) return n;
  bar.done(`exported ${n} records${out ? ` to ${out}` : ''}${options.includeSecrets ? ', channel secrets included in the clear: keep the file safe' : ''}`);
  return n;
}

/**
 * Reads a JSON Lines export: every line is checked (JSON, envelope, each record's data against its schema)
 * before anything is written, then the records are imported, committed every 500 (`dryRun`: on a copy, or in
 * one transaction rolled back). Prints what happened to every record.
 */
export async function importFrom(
  url: string, file: string,
  options: { redis?: string | undefined; redisPrefix?: string | undefined; secretKey?: string | undefined; dryRun?: boolean } = {},
): Promise<ImportReport> {
  let withoutSecrets = 0;
  let backup = false;
  // A backup (`colloquy serve --backup-dir`) is gzip-compressed: read through gunzip, whatever its name.
  const gzipped = await isGzip(file);
  const records = async function* () {
    let number = 0;
    const lines = linesOf(file, gzipped);
    for await (const line of lines) {
      number++;
      if (!line.trim()) continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        throw new ColloquyError('invalid_argument', `${file}:${number} is not JSON: expected a file written by \`colloquy export\`.`);
      }
      if ((record as { kind?: unknown })?.kind === HEADER_KIND) {
        backup = (record as { backup?: unknown }).backup === true;
        continue;
      }
      const why = portableProblem(record);
      if (why) throw new ColloquyError('invalid_argument', `${file}:${number} ${why}: expected a file written by \`colloquy export\`.`);
      yield record as PortableRecord;
    }
  };
  // Pass 1: bad input writes nothing. Channels whose secrets were left out of the export are reported.
  const setup: Record<string, string> = {};
  for await (const record of records()) {
    if (record.kind === 'channel' && !record.secrets && Object.keys(record.data.secrets ?? {}).length) withoutSecrets++;
    if (record.kind === 'setting') setup[record.data.name] = record.data.value;
  }
  if (!backup && Object.keys(setup).length) throw new ColloquyError('invalid_argument', `${file} has sealing settings but is no backup: expected a file written by \`colloquy export\` or a backup.`);
  // A backup sealed under a key opens with that key only: checked before anything is written.
  if (setup.secret_key_check !== undefined) {
    if (!options.secretKey) throw new ColloquyError('invalid_argument', `${file} holds secrets sealed with a COLLOQUY_SECRET_KEY: set the key they were sealed with to restore it.`, { reason: 'secret_key_missing' });
    if (!setup.secret_key_salt || !keyFits(options.secretKey, setup.secret_key_salt, setup.secret_key_check)) {
      throw new ColloquyError('invalid_argument', `COLLOQUY_SECRET_KEY is not the key the secrets of ${file} were sealed with: nothing was written.`, { reason: 'secret_key_mismatch' });
    }
  }

  const dryRun = options.dryRun ?? false;
  // A dry run writes nothing, migrations included: a database that needs them says so (`colloquy migrate`).
  // A backup brings its secrets sealed with the sealing setup they were made under: it is restored without the key
  // (which would set a setup of its own up on an empty database first), and the key is checked against it after.
  const store = await openStore({ url, secretKey: backup ? undefined : options.secretKey, ...(dryRun ? { create: false, migrate: false } : {}), log: () => {} });
  const bar = progress(dryRun ? 'checked' : 'imported');
  let report: ImportReport;
  let committed: ImportReport | undefined;
  try {
    let n = 0;
    const ticking = async function* () {
      for await (const record of records()) {
        yield record;
        bar.tick(++n);
      }
    };
    report = await store.as('cli').importAll(ticking(), { dryRun, backup, committed: (so_far) => (committed = so_far) });
  } catch (error) {
    // What committed before the failure stays (an import again finds it present): say how much.
    if (committed) process.stderr.write(`\nbefore the failure, ${summary(committed)} were committed; fix the cause and import again: what is there is found present\n`);
    throw error;
  } finally {
    await store.close();
  }
  if (backup && !dryRun && options.secretKey) {
    // The restored secrets open with this key (a wrong one is refused here, with the database restored), and any
    // stored in the clear are sealed with it.
    await (await openStore({ url, secretKey: options.secretKey })).close();
  }
  // The records went around the fleet's hot tier: empty it once at the end.
  if (!dryRun && options.redis && (report.inserted || report.present || report.merged)) await clearRedisCache(options.redis, options.redisPrefix);
  bar.done(`${dryRun ? 'dry run, nothing written: would import' : 'imported'} ${summary(report)}`
    + (report.closed ? `; ${report.closed} conversations closed, each linked to the open one of its contact and channel` : '')
    + (report.adjusted ? `; ${report.adjusted} imported with a link or key left out` : ''));
  for (const note of report.notes) process.stderr.write(`  ${note}\n`);
  const noted = report.skipped + report.adjusted;
  if (noted > report.notes.length) process.stderr.write(`  … and about ${noted - report.notes.length} more\n`);
  if (withoutSecrets) {
    process.stderr.write(`${withoutSecrets} channel(s) were exported without their secrets: set them again (PATCH /v1/channels/:id), or export with --include-secrets\n`);
  }
  return report;
}

/**
 * The lines of a file, through gunzip when it is compressed. Read as an async iteration of the stream, so that a
 * damaged or cut-short gzip file is an error of the loop (naming the file), never an unhandled stream error.
 */
async function* linesOf(file: string, gzipped: boolean): AsyncGenerator<string> {
  const input = gzipped ? createReadStream(file).pipe(createGunzip()) : createReadStream(file);
  let rest = '';
  const decoder = new StringDecoder('utf8'); // a character split across two chunks stays one
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      const text = rest + decoder.write(chunk);
      const parts = text.split('\n');
      rest = parts.pop()!;
      for (const part of parts) yield part.endsWith('\r') ? part.slice(0, -1) : part;
    }
  } catch (error) {
    if (!gzipped || (error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
    throw new ColloquyError('invalid_argument', `${file} is not a complete gzip file (${(error as Error).message}): use another backup.`);
  }
  rest += decoder.end();
  if (rest) yield rest;
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return false; // reading it says why
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

const summary = (r: ImportReport) =>
  `${r.inserted} new records, ${r.present} already present, ${r.merged} merged with records already there (contacts sharing a handle, agents sharing a name), ${r.skipped} skipped`;

async function clearRedisCache(url: string, prefix: string | undefined): Promise<void> {
  const client = connectRedis(url, { timeoutMs: 10_000 });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('error', (error) => reject(new ColloquyError('unavailable', `Redis did not answer; empty the hot tier by restarting it or deleting the keys under "${prefix ?? 'colloquy:'}": ${error.message}`)));
    });
    await createRedisCache(client, prefix ? { prefix } : {}).clear();
  } finally {
    client.disconnect();
  }
}
