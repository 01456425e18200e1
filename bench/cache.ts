/**
 * Hot-tier benchmark: `colloquy serve` on PostgreSQL without a cache, with the in-process LRU and with Redis,
 * all in one run on one seeded database. Hot reads (the newest 20 messages, the conversation record) and
 * appends at 64 connections; database queries per request from the server's own counter. See bench/README.md.
 *
 *   npm run bench -- cache [--duration 10] [--rounds 2] [--quick]
 */
import { fmt, random, row, optionOf } from './measure.js';
import { CONTENT, REDIS_URL, SERVING, database, load, serveArgs, start, stop, type Load } from './server-load.js';

const CONVERSATIONS = 500;
const MESSAGES = 20;
const MODES = [
  { name: 'no cache', args: [] as string[] },
  { name: 'in-process LRU', args: ['--cache', 'memory'] },
  { name: 'Redis', args: ['--redis', REDIS_URL, '--redis-prefix', `bench-${process.pid}:`] },
];

/** Statements the server has sent to PostgreSQL so far (its own counter: pg_stat_* flush too lazily to diff). */
async function queries(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^colloquy_db_queries_total (\d+)/m.exec(text)![1]);
}

export async function main(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const seconds = Number(optionOf(args, '--duration') ?? (quick ? 3 : 10));
  const rounds = Number(optionOf(args, '--rounds') ?? (quick ? 1 : 2));
  const db = await database('postgres');
  const results: Array<{ mode: string; scenario: string; result: Load; perRequest: number }> = [];
  try {
    // Seed once, through the server: conversations with a history, so pages are real pages.
    const seeder = await start(serveArgs(db.url), SERVING);
    const ids: string[] = [];
    try {
      for (let i = 0; i < CONVERSATIONS; i++) {
        const response = await fetch(`${seeder.url}/v1/conversations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        ids.push(((await response.json()) as { id: string }).id);
      }
      await Promise.all(Array.from({ length: 16 }, async (_, worker) => {
        for (let i = worker; i < CONVERSATIONS * MESSAGES; i += 16) {
          await fetch(`${seeder.url}/v1/conversations/${ids[i % CONVERSATIONS]}/messages`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ role: i % 2 ? 'assistant' : 'user', content: CONTENT }),
          });
        }
      }));
    } finally {
      await stop(seeder.proc);
    }

    // Every mode's server runs at once on the same database; runs alternate between them, round after round,
    // in a rotating order, so that the database's growth and the machine's drift weigh on all modes alike.
    const servers = await Promise.all(MODES.map((mode) => start([...serveArgs(db.url), ...mode.args], SERVING)));
    try {
      const scenarios = [
        { scenario: 'read newest 20', method: 'GET' as const, path: (id: string) => `/v1/conversations/${id}/messages?order=desc&limit=20` },
        { scenario: 'conversation info', method: 'GET' as const, path: (id: string) => `/v1/conversations/${id}` },
        { scenario: 'append', method: 'POST' as const, path: (id: string) => `/v1/conversations/${id}/messages` },
      ];
      for (const s of scenarios) {
        const runs = new Map<string, { loads: Load[]; queries: number; requests: number }>();
        for (let round = 0; round < rounds; round++) {
          // Each round starts with another mode: no mode always runs first on a database the others then grew.
          for (let k = 0; k < MODES.length; k++) {
            const m = (round + k) % MODES.length;
            const mode = MODES[m]!;
            const server = servers[m]!;
            const pick = random(7 + round);
            const options = {
              method: s.method,
              path: () => s.path(ids[Math.floor(pick() * CONVERSATIONS)]!),
              ...(s.method === 'POST' ? { body: () => JSON.stringify({ role: 'user', content: CONTENT }) } : {}),
            };
            if (s.method === 'GET') await load(server.url, { ...options, seconds: 2 }); // warm: hot reads are what a cache serves
            const before = await queries(server.url);
            const result = await load(server.url, { ...options, seconds });
            const after = await queries(server.url);
            const run = runs.get(mode.name) ?? { loads: [], queries: 0, requests: 0 };
            run.loads.push(result);
            run.queries += after - before;
            run.requests += result.total;
            runs.set(mode.name, run);
          }
        }
        for (const [mode, run] of runs) {
          const mean = (pick: (l: Load) => number) => run.loads.reduce((sum, l) => sum + pick(l), 0) / run.loads.length;
          results.push({
            mode, scenario: s.scenario, perRequest: run.queries / run.requests,
            result: { rps: mean((l) => l.rps), total: run.requests, p50: mean((l) => l.p50), p99: Math.max(...run.loads.map((l) => l.p99)), errors: run.loads.reduce((sum, l) => sum + l.errors, 0) },
          });
        }
      }
    } finally {
      await Promise.all(servers.map((server) => stop(server.proc)));
    }
  } finally {
    await db.cleanup();
  }

  console.log(`\nHot tier on PostgreSQL, HTTP, 64 connections, ${rounds} × ${seconds} s per mode and scenario, modes alternating (${CONVERSATIONS} conversations of ${MESSAGES}+ messages; reads warmed for 2 s)\n`);
  console.log(row(['scenario', 'cache', 'req/s (mean)', 'p50 ms (mean)', 'p99 ms (worst)', 'DB queries / request', 'req/s vs no cache', 'errors']));
  console.log(row(Array(8).fill('---')));
  for (const scenario of ['read newest 20', 'conversation info', 'append']) {
    const base = results.find((r) => r.scenario === scenario && r.mode === 'no cache')!;
    for (const r of results.filter((each) => each.scenario === scenario)) {
      console.log(row([
        scenario, r.mode, fmt(r.result.rps), fmt(r.result.p50, 1), r.result.p99, fmt(r.perRequest, 3),
        `${fmt((100 * r.result.rps) / base.result.rps)}%`, r.result.errors,
      ]));
    }
  }
}
