/**
 * HTTP benchmark: autocannon (64 connections) against `colloquy serve`, beside a bare Fastify server doing the
 * raw driver call, both as separate processes on the same database, in the same run. See bench/README.md.
 *
 *   npm run bench -- http [--backend sqlite,postgres] [--duration 10] [--memory] [--quick]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import pg from 'pg';
import { fmt, random, row, optionOf } from './measure.js';

const POSTGRES_URL = process.env.COLLOQUY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DIR = new URL('../.bench-tmp/', import.meta.url).pathname;
const ROOT = new URL('../', import.meta.url).pathname;
const CONVERSATIONS = 1_000;
const CONTENT = 'Olá! Gostaria de marcar uma consulta com a Dra. Silva na próxima terça-feira à tarde, se possível.';

/** Starts a server process and resolves with its base URL once it prints the address it listens on. */
async function start(args: string[], pattern: RegExp): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  for await (const line of lines) {
    const match = pattern.exec(line);
    if (match) {
      proc.stdout!.resume(); // keep draining: a full pipe would stall the server
      return { url: match[1]!, proc };
    }
  }
  throw new Error(`${args.join(' ')} exited before listening`);
}

const stop = async (proc: ChildProcess) => {
  proc.kill('SIGTERM');
  await new Promise((resolve) => proc.once('exit', resolve));
};

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, options: { method: 'GET' | 'POST'; path: () => string; body?: () => string; seconds?: number; amount?: number }): Promise<Load> {
  const result = await autocannon({
    url,
    connections: 64,
    ...(options.amount ? { amount: options.amount } : { duration: options.seconds ?? 10 }),
    requests: [{
      method: options.method,
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({ ...request, path: options.path(), ...(options.body ? { body: options.body() } : {}) }),
    }],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx + result.timeouts };
}

interface Database {
  url: string;
  schema: string;
  cleanup(): Promise<void>;
}

async function database(backend: string): Promise<Database> {
  mkdirSync(DIR, { recursive: true });
  if (backend === 'sqlite') {
    const path = `${DIR}http-${process.pid}-${Date.now()}.db`;
    return { url: `sqlite:${path}`, schema: '-', cleanup: async () => { for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true }); } };
  }
  const schema = `bench_http_${process.pid}_${Date.now()}`;
  return {
    url: `${POSTGRES_URL}?schema=${schema}`,
    schema,
    async cleanup() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

const serveArgs = (db: string) => ['src/cli/main.ts', 'serve', '--db', db, '--port', '0', '--rate-limit', '0', '--log-level', 'warn'];
const SERVING = / at (http:\/\/\S+)\/v1 /;

async function compare(backend: string, seconds: number) {
  const db = await database(backend);
  const colloquy = await start(serveArgs(db.url), SERVING);
  const bare = await start(['bench/bare-server.ts', backend === 'sqlite' ? db.url : POSTGRES_URL, db.schema], /^listening (\S+)/);
  try {
    const ids: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++) {
      const response = await fetch(`${colloquy.url}/v1/conversations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      ids.push(((await response.json()) as { id: string }).id);
    }
    const rawIds = Array.from({ length: CONVERSATIONS }, () => randomUUID());
    const body = () => JSON.stringify({ role: 'user', content: CONTENT });
    const lines = [];
    for (const scenario of ['append', 'read newest 20'] as const) {
      const pickBare = random(5);
      const pickColloquy = random(5);
      const method = scenario === 'append' ? 'POST' : 'GET';
      const suffix = scenario === 'append' ? '' : '?order=desc&limit=20';
      const bareResult = await load(bare.url, { method, seconds, path: () => `/v1/conversations/${rawIds[Math.floor(pickBare() * CONVERSATIONS)]}/messages${suffix}`, ...(method === 'POST' ? { body } : {}) });
      const colloquyResult = await load(colloquy.url, { method, seconds, path: () => `/v1/conversations/${ids[Math.floor(pickColloquy() * CONVERSATIONS)]}/messages${suffix}`, ...(method === 'POST' ? { body } : {}) });
      lines.push({ backend, scenario, colloquy: colloquyResult, bare: bareResult });
    }
    return lines;
  } finally {
    await stop(colloquy.proc);
    await stop(bare.proc);
    await db.cleanup();
  }
}

/** Resident memory of a server after `count` messages ingested over HTTP (distinct senders and external ids). */
async function memory(backend: string, count: number) {
  const db = await database(backend);
  const colloquy = await start(serveArgs(db.url), SERVING);
  try {
    const channel = (await (await fetch(`${colloquy.url}/v1/channels`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"whatsapp","name":"load"}' })).json()) as { id: string };
    let n = 0;
    const result = await load(colloquy.url, {
      method: 'POST', amount: count, path: () => '/v1/inbound',
      body: () => { n++; return JSON.stringify({ channelId: channel.id, from: { address: `55${n % 5000}` }, externalId: `wamid.${n}`, content: CONTENT }); },
    });
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${colloquy.proc.pid}/status`, 'utf8'))![1]) / 1024;
    return { backend, count, rps: result.rps, errors: result.errors, rssMb: rss };
  } finally {
    await stop(colloquy.proc);
    await db.cleanup();
  }
}

export async function main(args: string[]): Promise<void> {
  const option = (flag: string) => optionOf(args, flag);
  const backends = (option('--backend') ?? 'sqlite,postgres').split(',');
  const quick = args.includes('--quick');
  const seconds = Number(option('--duration') ?? (quick ? 3 : 10));

  console.log(`\nHTTP, 64 connections, ${seconds} s per run: colloquy serve vs a bare Fastify route doing the raw driver call\n`);
  console.log(row(['backend', 'scenario', 'colloquy req/s', 'p50 ms', 'p99 ms', 'bare req/s', 'p50 ms', 'p99 ms', 'colloquy/bare', 'errors']));
  console.log(row(Array(10).fill('---')));
  for (const backend of backends) {
    for (const line of await compare(backend, seconds)) {
      console.log(row([
        line.backend, line.scenario, fmt(line.colloquy.rps), line.colloquy.p50, line.colloquy.p99, fmt(line.bare.rps), line.bare.p50, line.bare.p99,
        `${fmt((100 * line.colloquy.rps) / line.bare.rps)}%`, line.colloquy.errors + line.bare.errors,
      ]));
    }
  }
  if (args.includes('--memory')) {
    const count = quick ? 10_000 : 100_000;
    console.log(`\nServer memory after ${fmt(count)} inbound messages over HTTP (64 connections)\n`);
    console.log(row(['backend', 'messages', 'req/s', 'errors', 'resident MB']));
    console.log(row(Array(5).fill('---')));
    for (const backend of backends) {
      const m = await memory(backend, count);
      console.log(row([m.backend, fmt(m.count), fmt(m.rps), m.errors, fmt(m.rssMb, 1)]));
    }
  }
}
