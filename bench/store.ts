/**
 * Store benchmark: appends and newest-20 reads through the store, beside the raw driver doing the equivalent
 * plain INSERT/SELECT on the same database in the same run. See bench/README.md.
 *
 *   npm run bench -- store [--backend sqlite,postgres] [--history] [--quick]
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import pg from 'pg';
import { openStore, type Store } from '../src/index.js';
import { RAW_INSERT_PG, RAW_NEWEST_PG, RAW_SCHEMA, rawSqlite } from './raw-baseline.js';
import { fmt, measure, random, row, type Measurement, optionOf } from './measure.js';

const POSTGRES_URL = process.env.COLLOQUY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DIR = new URL('../.bench-tmp/', import.meta.url).pathname;
const CONVERSATIONS = 1_000;
const CONTENT = 'Olá! Gostaria de marcar uma consulta com a Dra. Silva na próxima terça-feira à tarde, se possível.';

/** The raw driver doing the same work with one plain statement, no contracts. */
interface Raw {
  insert(conversation: string, seq: number): Promise<void>;
  newest(conversation: string): Promise<unknown[]>;
}

interface Setup {
  store: Store;
  raw: Raw;
  /** Bulk-loads `perConversation` messages (and their events) into every conversation, bypassing the store. */
  seed(perConversation: number): Promise<void>;
  cleanup(): Promise<void>;
}


async function sqliteSetup(): Promise<Setup> {
  mkdirSync(DIR, { recursive: true });
  const path = `${DIR}bench-${process.pid}-${Date.now()}.db`;
  const store = await openStore({ url: `sqlite:${path}` });
  // Same file, same pragmas as the store.
  const { db, insert, newest } = rawSqlite(path);
  return {
    store,
    raw: {
      insert: async (conversation, seq) => void insert(conversation, seq, 'user', CONTENT),
      newest: async (conversation) => newest(conversation),
    },
    async seed(per) {
      db.exec(`WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${per})
        INSERT INTO messages (conversation_id, seq, id, tenant_id, role, content, status, status_at, created_at)
        SELECT c.id, s.n, lower(hex(randomblob(16))), c.tenant_id, 'user', 'seed ' || s.n, 'delivered', 0, 0 FROM conversations c, s;
        UPDATE conversations SET last_seq = ${per};
        INSERT INTO events (tenant_id, type, conversation_id, data, created_at)
          SELECT tenant_id, 'message.created', conversation_id, '{}', 0 FROM messages;
        ANALYZE;`);
    },
    async cleanup() {
      await store.close();
      db.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    },
  };
}

async function postgresSetup(): Promise<Setup> {
  const schema = `bench_${process.pid}_${Date.now()}`;
  const store = await openStore({ url: POSTGRES_URL, schema });
  // Same database, same pool size as the store (10).
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 10, options: `-c search_path=${schema}` });
  for (const sql of RAW_SCHEMA) await pool.query(sql);
  return {
    store,
    raw: {
      insert: async (conversation, seq) =>
        void (await pool.query(RAW_INSERT_PG, [
          randomUUID(), conversation, seq, 'user', CONTENT, Date.now(),
        ])),
      newest: async (conversation) =>
        (await pool.query(RAW_NEWEST_PG, [conversation])).rows,
    },
    async seed(per) {
      await pool.query(`INSERT INTO messages (conversation_id, seq, id, tenant_id, role, content, status, status_at, created_at)
        SELECT c.id, s, gen_random_uuid(), c.tenant_id, 'user', 'seed ' || s, 'delivered', 0, 0
        FROM conversations c CROSS JOIN generate_series(1, ${per}) s`);
      await pool.query(`UPDATE conversations SET last_seq = ${per}`);
      await pool.query(`INSERT INTO events (tenant_id, type, conversation_id, data, created_at)
        SELECT tenant_id, 'message.created', conversation_id, '{}', 0 FROM messages`);
      await pool.query('ANALYZE');
    },
    async cleanup() {
      await store.close();
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      await pool.end();
    },
  };
}

interface Line {
  backend: string;
  scenario: string;
  store: Measurement;
  raw: Measurement;
}

async function comparison(setup: Setup, name: string, counts: { appends: number; reads: number }): Promise<Line[]> {
  const { store, raw } = setup;
  const conversations = await Promise.all(Array.from({ length: CONVERSATIONS }, () => store.conversations.create()));
  const ids = conversations.map((c) => c.id);
  const rawIds = Array.from({ length: CONVERSATIONS }, () => randomUUID());
  const rawSeq = new Map<string, number>();
  const rawAppend = (i: number) => {
    const conversation = rawIds[i % CONVERSATIONS]!;
    const seq = (rawSeq.get(conversation) ?? 0) + 1;
    rawSeq.set(conversation, seq);
    return raw.insert(conversation, seq);
  };
  const storeAppend = (i: number) => store.messages.append(ids[i % CONVERSATIONS]!, { role: 'user', content: CONTENT });
  const lines: Line[] = [];
  for (const concurrency of [1, 32]) {
    const rawResult = await measure(counts.appends, concurrency, rawAppend);
    const storeResult = await measure(counts.appends, concurrency, storeAppend);
    lines.push({ backend: name, scenario: `append, ${concurrency} in flight`, store: storeResult, raw: rawResult });
  }
  for (const concurrency of [1, 32]) {
    const pickRaw = random(7);
    const pickStore = random(7);
    const rawResult = await measure(counts.reads, concurrency, () => raw.newest(rawIds[Math.floor(pickRaw() * CONVERSATIONS)]!));
    const storeResult = await measure(counts.reads, concurrency, () =>
      store.messages.list(ids[Math.floor(pickStore() * CONVERSATIONS)]!, { order: 'desc', limit: 20 }));
    lines.push({ backend: name, scenario: `read newest 20, ${concurrency} in flight`, store: storeResult, raw: rawResult });
  }
  return lines;
}

/** Append and read-newest cost at two history sizes: indexes, not scans, should keep them flat. */
async function history(open: () => Promise<Setup>, name: string, sizes: number[], ops: number) {
  const results: Array<{ size: number; append: Measurement; read: Measurement }> = [];
  for (const size of sizes) {
    const setup = await open();
    try {
      const ids = (await Promise.all(Array.from({ length: CONVERSATIONS }, () => setup.store.conversations.create()))).map((c) => c.id);
      const started = Date.now();
      await setup.seed(size / CONVERSATIONS);
      process.stderr.write(`  ${name}: seeded ${fmt(size)} messages in ${fmt((Date.now() - started) / 1000, 1)} s\n`);
      const pick = random(11);
      const append = await measure(ops, 1, (i) => setup.store.messages.append(ids[(i * 7919) % CONVERSATIONS]!, { role: 'user', content: CONTENT }));
      const read = await measure(ops, 1, () => setup.store.messages.list(ids[Math.floor(pick() * CONVERSATIONS)]!, { order: 'desc', limit: 20 }));
      results.push({ size, append, read });
    } finally {
      await setup.cleanup();
    }
  }
  return results;
}

export async function main(args: string[]): Promise<void> {
  const option = (flag: string) => optionOf(args, flag);
  const backends = (option('--backend') ?? 'sqlite,postgres').split(',');
  const quick = args.includes('--quick');
  const counts = quick ? { appends: 2_000, reads: 500 } : { appends: 20_000, reads: 5_000 };
  const setups: Record<string, () => Promise<Setup>> = { sqlite: sqliteSetup, postgres: postgresSetup };

  console.log(`\nStore vs raw driver — ${counts.appends} appends over ${CONVERSATIONS} conversations, ${counts.reads} reads of the newest 20\n`);
  console.log(row(['backend', 'scenario', 'store ops/s', 'store p50 ms', 'store p99 ms', 'raw ops/s', 'raw p50 ms', 'raw p99 ms', 'store/raw']));
  console.log(row(Array(9).fill('---')));
  for (const name of backends) {
    const setup = await setups[name]!();
    try {
      for (const line of await comparison(setup, name, counts)) {
        console.log(row([
          line.backend, line.scenario,
          fmt(line.store.perSecond), fmt(line.store.p50Ms, 3), fmt(line.store.p99Ms, 3),
          fmt(line.raw.perSecond), fmt(line.raw.p50Ms, 3), fmt(line.raw.p99Ms, 3),
          `${fmt((100 * line.store.perSecond) / line.raw.perSecond)}%`,
        ]));
      }
    } finally {
      await setup.cleanup();
    }
  }

  if (args.includes('--history')) {
    const sizes = quick ? [10_000, 100_000] : [10_000, 1_000_000];
    const ops = quick ? 1_000 : 5_000;
    console.log(`\nCost against stored history — ${ops} sequential appends and newest-20 reads after seeding\n`);
    console.log(row(['backend', 'stored messages', 'append ops/s', 'append p99 ms', 'read ops/s', 'read p99 ms']));
    console.log(row(Array(6).fill('---')));
    for (const name of backends) {
      const results = await history(setups[name]!, name, sizes, ops);
      for (const r of results) {
        console.log(row([name, fmt(r.size), fmt(r.append.perSecond), fmt(r.append.p99Ms, 3), fmt(r.read.perSecond), fmt(r.read.p99Ms, 3)]));
      }
      const [small, large] = results;
      console.log(row([name, 'ratio small/large', `${fmt(small!.append.perSecond / large!.append.perSecond, 2)}×`, '', `${fmt(small!.read.perSecond / large!.read.perSecond, 2)}×`, '']));
    }
  }
}
