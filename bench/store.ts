/**
 * Store benchmark: appends and newest-20 reads through the store, beside the raw driver doing the equivalent
 * plain INSERT/SELECT on the same database in the same run. See bench/README.md.
 *
 *   npm run bench -- store [--backend sqlite,postgres] [--history] [--quick]
 */
import { mkdirSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { newId } from '../src/domain/ids.js';
import { openStore, type Store } from '../src/index.js';
import { rawPostgres, rawSqlite, type RawBaseline } from './raw-baseline.js';
import { fmt, measure, random, row, type Measurement, optionOf } from './measure.js';

const POSTGRES_URL = process.env.COLLOQUY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DIR = new URL('../.bench-tmp/', import.meta.url).pathname;
const CONVERSATIONS = 1_000;
const CONTENT = 'Olá! Gostaria de marcar uma consulta com a Dra. Silva na próxima terça-feira à tarde, se possível.';

interface Setup {
  store: Store;
  raw: RawBaseline;
  /** Bulk-loads `perConversation` messages (and their events) into every conversation, bypassing the store. */
  seed(perConversation: number): Promise<void>;
  cleanup(): Promise<void>;
}

async function sqliteSetup(): Promise<Setup> {
  mkdirSync(DIR, { recursive: true });
  const path = `${DIR}bench-${process.pid}-${Date.now()}.db`;
  const store = await openStore({ url: `sqlite:${path}` });
  const raw = rawSqlite(`${path}.raw`, path);
  const seeding = new Database(path);
  return {
    store,
    raw,
    async seed(per) {
      seeding.exec(`WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${per})
        INSERT INTO messages (conversation_id, seq, id, tenant_id, role, content, status, status_at, created_at)
        SELECT c.id, s.n, lower(hex(randomblob(16))), c.tenant_id, 'user', 'seed ' || s.n, 'delivered', 0, 0 FROM conversations c, s;
        UPDATE conversations SET last_seq = ${per};
        INSERT INTO events (tenant_id, type, conversation_id, data, created_at)
          SELECT tenant_id, 'message.created', conversation_id, '{}', 0 FROM messages;
        ANALYZE;`);
    },
    async cleanup() {
      await store.close();
      await raw.close();
      seeding.close();
      for (const file of [path, `${path}.raw`]) for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    },
  };
}

async function postgresSetup(): Promise<Setup> {
  const schema = `bench_${process.pid}_${Date.now()}`;
  const store = await openStore({ url: POSTGRES_URL, schema });
  const raw = await rawPostgres(POSTGRES_URL, schema);
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2, options: `-c search_path=${schema}` });
  return {
    store,
    raw,
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
      await raw.close();
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      await pool.end();
    },
  };
}

interface Line {
  backend: string;
  scenario: string;
  store: Measurement;
  lean: Measurement;
  /** The lean statement plus the conversation's counter (appends), or the store's own statement on its rows (reads). */
  equivalent?: Measurement | undefined;
}

async function comparison(setup: Setup, name: string, counts: { appends: number; reads: number; duplicates: number }): Promise<Line[]> {
  const { store, raw } = setup;
  const plain = (await Promise.all(Array.from({ length: CONVERSATIONS }, () => store.conversations.create()))).map((c) => c.id);
  // Conversations of a WhatsApp channel, one per contact: where external ids come from.
  const channel = await store.channels.create({ kind: 'whatsapp', name: 'bench' });
  const onChannel: string[] = [];
  for (let i = 0; i < CONVERSATIONS; i++) {
    const contact = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: `55${i}` } });
    onChannel.push((await store.conversations.create({ contactId: contact.id, channelId: channel.id })).id);
  }
  const rawIds = Array.from({ length: CONVERSATIONS }, () => newId());
  const countedIds = Array.from({ length: CONVERSATIONS }, () => newId()); // the equivalent's, with their counters
  await raw.conversations(countedIds);
  const rawSeq = new Map<string, number>();
  const stored: string[] = [];
  const lean = async (i: number) => {
    const conversation = rawIds[i % CONVERSATIONS]!;
    const seq = (rawSeq.get(conversation) ?? 0) + 1;
    rawSeq.set(conversation, seq);
    await raw.insert(conversation, seq, 'user', CONTENT);
    if (stored.length < counts.duplicates) stored.push(raw.lastId());
  };
  const equivalent = (i: number) => raw.insertCounted(countedIds[i % CONVERSATIONS]!, 'user', CONTENT);
  const baselines = async (concurrency: number) => ({
    lean: await measure(counts.appends, concurrency, lean),
    equivalent: await measure(counts.appends, concurrency, equivalent),
  });
  const lines: Line[] = [];
  const scenarios: Array<[string, (i: number, round: number) => Promise<unknown>]> = [
    ['append', (i) => store.messages.append(plain[i % CONVERSATIONS]!, { role: 'user', content: CONTENT })],
    ['append with external id', (i, round) => store.messages.append(onChannel[i % CONVERSATIONS]!, { role: 'user', content: CONTENT, externalId: `wamid.${round}.${i}` })],
    ['inbound message (ingest)', (i, round) => store.ingest({ channelId: channel.id, from: { address: `55${i % CONVERSATIONS}` }, externalId: `in.${round}.${i}`, content: CONTENT })],
  ];
  for (const [scenario, op] of scenarios) {
    for (const concurrency of [1, 32]) {
      const { lean: leanResult, equivalent: equivalentResult } = await baselines(concurrency);
      const storeResult = await measure(counts.appends, concurrency, (i) => op(i, concurrency));
      lines.push({ backend: name, scenario: `${scenario}, ${concurrency} in flight`, store: storeResult, lean: leanResult, equivalent: equivalentResult });
    }
  }
  // A webhook retried: the external id is stored already (by the 1-in-flight run above), nothing is written.
  for (const concurrency of [1, 32]) {
    const leanResult = await measure(counts.duplicates, concurrency, (i) => raw.insertDuplicate(stored[i % stored.length]!, rawIds[0]!, CONTENT));
    const storeResult = await measure(counts.duplicates, concurrency, (i) =>
      store.messages.append(onChannel[i % CONVERSATIONS]!, { role: 'user', content: CONTENT, externalId: `wamid.1.${i}` }));
    lines.push({ backend: name, scenario: `duplicate re-append, ${concurrency} in flight`, store: storeResult, lean: leanResult });
  }
  // Pages as large as the store's: its plain conversations got two append runs.
  await raw.fill(rawIds, (2 * counts.appends) / CONVERSATIONS, CONTENT);
  for (const concurrency of [1, 32]) {
    const pickRaw = random(7);
    const pickStore = random(7);
    const pickStored = random(7);
    const leanResult = await measure(counts.reads, concurrency, () => raw.newest(rawIds[Math.floor(pickRaw() * CONVERSATIONS)]!));
    const equivalentResult = await measure(counts.reads, concurrency, () => raw.stored(plain[Math.floor(pickStored() * CONVERSATIONS)]!, store.tenantId));
    const storeResult = await measure(counts.reads, concurrency, () =>
      store.messages.list(plain[Math.floor(pickStore() * CONVERSATIONS)]!, { order: 'desc', limit: 20 }));
    lines.push({ backend: name, scenario: `read newest 20, ${concurrency} in flight`, store: storeResult, lean: leanResult, equivalent: equivalentResult });
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
  const counts = quick ? { appends: 2_000, reads: 500, duplicates: 500 } : { appends: 20_000, reads: 5_000, duplicates: 2_000 };
  const setups: Record<string, () => Promise<Setup>> = { sqlite: sqliteSetup, postgres: postgresSetup };

  console.log(`\nStore vs raw driver — ${counts.appends} appends over ${CONVERSATIONS} conversations per scenario, ${counts.duplicates} duplicates, ${counts.reads} reads of the newest 20\n`);
  console.log(row(['backend', 'scenario', 'store ops/s', 'store p50 ms', 'store p99 ms', 'lean raw ops/s', 'equivalent raw ops/s', 'store/lean', 'store/equivalent']));
  console.log(row(Array(9).fill('---')));
  for (const name of backends) {
    const setup = await setups[name]!();
    try {
      for (const line of await comparison(setup, name, counts)) {
        const ratio = (base: Measurement | undefined) => (base ? `${fmt((100 * line.store.perSecond) / base.perSecond)}%` : '—');
        console.log(row([
          line.backend, line.scenario,
          fmt(line.store.perSecond), fmt(line.store.p50Ms, 3), fmt(line.store.p99Ms, 3),
          fmt(line.lean.perSecond), line.equivalent ? fmt(line.equivalent.perSecond) : '—', ratio(line.lean), ratio(line.equivalent),
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
