/**
 * HTTP benchmark: autocannon (64 connections) against `colloquy serve`, beside a bare Fastify server doing the
 * raw driver call, both as separate processes on the same database, in the same run. See bench/README.md.
 *
 *   npm run bench -- http [--backend sqlite,postgres] [--duration 10] [--memory] [--quick]
 */
import { newId } from '../src/domain/ids.js';
import { readFileSync } from 'node:fs';
import { fmt, random, row, optionOf } from './measure.js';
import { CONTENT, POSTGRES_URL, SERVING, database, load, serveArgs, start, stop, type Load } from './server-load.js';

const CONVERSATIONS = 1_000;

async function compare(backend: string, seconds: number) {
  const db = await database(backend);
  const colloquy = await start(serveArgs(db.url), SERVING);
  // The bare server on a file of its own (SQLite) or tables of its own (PostgreSQL): neither slows the other down;
  // its equivalent read opens colloquy's file read-only (SQLite) or reads colloquy's table in the same schema.
  const bare = await start(['bench/bare-server.ts', backend === 'sqlite' ? `${db.url}.raw` : POSTGRES_URL, db.schema,
    ...(backend === 'sqlite' ? [db.url.slice('sqlite:'.length)] : [])], /^listening (\S+)/);
  try {
    const ids: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++) {
      const response = await fetch(`${colloquy.url}/v1/conversations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      ids.push(((await response.json()) as { id: string }).id);
    }
    const rawIds = Array.from({ length: CONVERSATIONS }, () => newId());
    const countedIds = Array.from({ length: CONVERSATIONS }, () => newId());
    const post = (path: string, body: unknown) => fetch(`${bare.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await post('/counters', { conversations: countedIds });
    const body = () => JSON.stringify({ role: 'user', content: CONTENT });
    const lines: Array<{ backend: string; scenario: string; colloquy: Load; lean: Load; equivalent?: Load }> = [];
    for (const scenario of ['append', 'read newest 20'] as const) {
      const pick = () => { const next = random(5); return () => Math.floor(next() * CONVERSATIONS); };
      const method = scenario === 'append' ? 'POST' : 'GET';
      const suffix = scenario === 'append' ? '' : '?order=desc&limit=20';
      const run = (base: string, list: string[], query = '') => {
        const at = pick();
        return load(base, { method, seconds, path: () => `/v1/conversations/${list[at()]}/messages${suffix}${query}`, ...(method === 'POST' ? { body } : {}) });
      };
      if (scenario === 'read newest 20') {
        // The bare read table gets as many messages per conversation as the append run gave colloquy's.
        const perConversation = Math.max(20, Math.round(lines[0]!.colloquy.total / CONVERSATIONS));
        await post('/fill', { conversations: rawIds, perConversation, content: CONTENT });
      }
      const lean = await run(bare.url, rawIds);
      // Appends: the counted INSERT; reads: colloquy's own statement on colloquy's own rows.
      const equivalent = scenario === 'append' ? await run(bare.url, countedIds, '?counted=1') : await run(bare.url, ids, '&stored=1');
      const colloquyResult = await run(colloquy.url, ids);
      lines.push({ backend, scenario, colloquy: colloquyResult, lean, ...(equivalent ? { equivalent } : {}) });
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
  console.log(row(['backend', 'scenario', 'colloquy req/s', 'p50 ms', 'p99 ms', 'lean bare req/s', 'equivalent bare req/s', 'colloquy/lean', 'colloquy/equivalent', 'errors']));
  console.log(row(Array(10).fill('---')));
  for (const backend of backends) {
    for (const line of await compare(backend, seconds)) {
      const ratio = (base: Load | undefined) => (base ? `${fmt((100 * line.colloquy.rps) / base.rps)}%` : '—');
      console.log(row([
        line.backend, line.scenario, fmt(line.colloquy.rps), line.colloquy.p50, line.colloquy.p99, fmt(line.lean.rps),
        line.equivalent ? fmt(line.equivalent.rps) : '—', ratio(line.lean), ratio(line.equivalent),
        line.colloquy.errors + line.lean.errors + (line.equivalent?.errors ?? 0),
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
