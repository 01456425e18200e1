import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { portableProblem, type ImportReport, type PortableRecord } from '../backends/sql/portable.js';
import { ColloquyError } from '../domain/errors.js';
import { connectRedis } from '../cache/redis/redis-client.js';
import { createRedisCache } from '../cache/redis/redis-cache.js';
import { openStore } from '../store/open-store.js';
import { VERSION } from '../version.js';

const HEADER_KIND = 'colloquy-export';

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
  try {
    const write = async (line: string) => {
      if (!sink.write(`${line}\n`)) await Promise.race([once(sink, 'drain').catch(() => undefined), pipeClosed]);
      if (failed) throw failed;
    };
    await write(JSON.stringify({ kind: HEADER_KIND, version: 1, colloquy: VERSION, exportedAt: new Date().toISOString() }));
    for await (const record of store.exportAll({ includeSecrets: options.includeSecrets ?? false })) {
      if (closed) break;
      await write(JSON.stringify(record));
      bar.tick(++n);
    }
  } finally {
    await store.close();
    if (out) {
      sink.end();
      await once(sink, 'finish');
    }
  }
  if (closed) return n;
  bar.done(`exported ${n} records${out ? ` to ${out}` : ''}${options.includeSecrets ? ', channel secrets included in the clear: keep the file safe' : ''}`);
  return n;
}

/**
 * Reads a JSON Lines export: every line is checked before anything is written, then the records are imported
 * (committed every 500; `dryRun`: one transaction, rolled back). Prints what happened to every record.
 */
export async function importFrom(
  url: string, file: string,
  options: { redis?: string | undefined; redisPrefix?: string | undefined; secretKey?: string | undefined; dryRun?: boolean } = {},
): Promise<ImportReport> {
  let withoutSecrets = 0;
  const records = async function* () {
    let number = 0;
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      number++;
      if (!line.trim()) continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        throw new ColloquyError('invalid_argument', `${file}:${number} is not JSON: expected a file written by \`colloquy export\`.`);
      }
      if ((record as { kind?: unknown })?.kind === HEADER_KIND) continue;
      const why = portableProblem(record);
      if (why) throw new ColloquyError('invalid_argument', `${file}:${number} ${why}: expected a file written by \`colloquy export\`.`);
      yield record as PortableRecord;
    }
  };
  // Pass 1: bad input writes nothing. Channels whose secrets were left out of the export are reported.
  for await (const record of records()) {
    if (record.kind === 'channel' && !record.secrets && Object.keys(record.data.secrets ?? {}).length) withoutSecrets++;
  }

  const dryRun = options.dryRun ?? false;
  const store = await openStore({ url, secretKey: options.secretKey, create: !dryRun });
  const bar = progress(dryRun ? 'checked' : 'imported');
  let report: ImportReport;
  try {
    let n = 0;
    const ticking = async function* () {
      for await (const record of records()) {
        yield record;
        bar.tick(++n);
      }
    };
    report = await store.importAll(ticking(), { dryRun });
  } finally {
    await store.close();
  }
  // The records went around the fleet's hot tier: empty it once at the end.
  if (!dryRun && options.redis && (report.inserted || report.present || report.merged)) await clearRedisCache(options.redis, options.redisPrefix);
  bar.done(`${dryRun ? 'dry run, nothing written: would import' : 'imported'} ${report.inserted} new records, ${report.present} already present, `
    + `${report.merged} contacts merged into ones already there, ${report.skipped} skipped`
    + (report.closed ? `; ${report.closed} conversations closed, each linked to the open one of its contact and channel` : ''));
  for (const problem of report.problems) process.stderr.write(`  skipped: ${problem}\n`);
  if (report.skipped > report.problems.length) process.stderr.write(`  … and ${report.skipped - report.problems.length} more skipped\n`);
  if (withoutSecrets) {
    process.stderr.write(`${withoutSecrets} channel(s) were exported without their secrets: set them again (PATCH /v1/channels/:id), or export with --include-secrets\n`);
  }
  return report;
}

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
