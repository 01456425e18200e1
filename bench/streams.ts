/**
 * Open event streams against append throughput. `colloquy serve` takes appends (autocannon, to 1,000
 * conversations) with no stream open; then with N streams (default 5,000) open, each following one
 * conversation (`GET /v1/events?conversationId=`, as web chats do): first conversations that get no appends
 * meanwhile (what holding streams costs), then the appended ones (holding and delivering: each append reaches
 * N / 1,000 streams). Then the delivery latency: sequential probe appends, each timed from its acknowledgement
 * until every stream of its conversation has the event.
 */
import { request, type IncomingMessage } from 'node:http';
import { CONTENT, database, load, SERVING, serveArgs, start, stop, type Load } from './server-load.js';
import { fmt, optionOf, random, row } from './measure.js';

const CONVERSATIONS = 1_000;

interface Stream {
  conversation: string;
  /** Arrival time of each message id seen (message.created). */
  seen: Map<string, number>;
  response?: IncomingMessage;
}

function openStream(base: string, stream: Stream): Promise<void> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${base}/v1/events?conversationId=${stream.conversation}`);
    const req = request(url, { headers: { accept: 'text/event-stream' }, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => reject(new Error(`stream answered ${response.statusCode}: ${body}`)));
        return;
      }
      stream.response = response;
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const at = block.indexOf('"messageId":"');
          if (at >= 0) stream.seen.set(block.slice(at + 13, at + 49), performance.now());
        }
      });
      response.on('error', () => {});
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
}

async function json(base: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${base}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return response.json();
}

async function run(backend: string, count: number, seconds: number, probes: number) {
  const db = await database(backend);
  const { url: base, proc } = await start([...serveArgs(db.url), '--max-streams-per-key', String(count + 10), '--max-streams', String(count + 10), '--max-connections', String(count + 1_000)], SERVING);
  try {
    const conversations: string[] = [];
    const quiet: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++) conversations.push((await json(base, '/v1/conversations', {})).id);
    for (let i = 0; i < CONVERSATIONS; i++) quiet.push((await json(base, '/v1/conversations', {})).id);
    const rand = random(7);
    const append = { method: 'POST' as const, path: () => `/v1/conversations/${conversations[Math.floor(rand() * CONVERSATIONS)]}/messages`, body: () => JSON.stringify({ role: 'user', content: CONTENT }), seconds };
    // A first run on a fresh database is faster than any after it (fewer pages, a short WAL): warm up as long as a run.
    await load(base, append);

    const open = async (on: string[]) => {
      const streams: Stream[] = Array.from({ length: count }, (_, i) => ({ conversation: on[i % CONVERSATIONS]!, seen: new Map() }));
      // 50 at a time: each new stream first reads its conversation's events so far (a reconnect storm is gentler).
      for (let i = 0; i < streams.length; i += 50) await Promise.all(streams.slice(i, i + 50).map((s) => openStream(base, s)));
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // every stream caught up and waiting
      return streams;
    };
    // Runs with streams alternate with runs without, so that the database's growth over the runs (and the
    // machine's drift) weighs on both sides alike: each is compared with the mean of the runs on either side.
    const none = [await load(base, append)];
    const quietRuns: Load[] = [];
    for (let round = 0; round < 2; round++) {
      const idle = await open(quiet);
      quietRuns.push(await load(base, append));
      for (const s of idle) s.response?.destroy();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      none.push(await load(base, append));
    }
    const streams = await open(conversations);
    const withStreams = await load(base, append);
    for (const s of streams) s.response?.destroy();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    none.push(await load(base, append));
    streams.splice(0, streams.length, ...(await open(conversations)));
    const cost = (runs: Load[], first: number) => 100 - (100 / runs.length) * runs.reduce((sum, run, i) => sum + (2 * run.rps) / (none[first + i]!.rps + none[first + i + 1]!.rps), 0);
    const latencies: number[] = [];
    let missing = 0;
    for (let p = 0; p < probes; p++) {
      const conversation = conversations[p % CONVERSATIONS]!;
      const followers = streams.filter((s) => s.conversation === conversation);
      const answer = await json(base, `/v1/conversations/${conversation}/messages`, { role: 'user', content: 'probe' });
      const acked = performance.now();
      const id = answer.message.id as string;
      const deadline = acked + 5_000;
      while (followers.some((s) => !s.seen.has(id)) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
      if (followers.some((s) => !s.seen.has(id))) missing++;
      latencies.push(Math.max(...followers.map((s) => (s.seen.get(id) ?? deadline) - acked)));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    latencies.sort((a, b) => a - b);
    for (const s of streams) s.response?.destroy();
    return { backend, count, none, quietRuns, withStreams, quietCost: cost(quietRuns, 0), receivingCost: cost([withStreams], 2), p50: latencies[Math.floor(latencies.length / 2)]!, p99: latencies[Math.floor(latencies.length * 0.99)]!, missing };
  } finally {
    await stop(proc);
    await db.cleanup();
  }
}

export async function main(args: string[]): Promise<void> {
  const option = (flag: string) => optionOf(args, flag);
  const backends = (option('--backend') ?? 'sqlite,postgres').split(',');
  const quick = args.includes('--quick');
  const count = Number(option('--streams') ?? (quick ? 500 : 5_000));
  const seconds = Number(option('--duration') ?? (quick ? 3 : 10));
  const probes = quick ? 50 : 200;
  console.log(`\nEvent streams: append throughput (autocannon, 64 connections, ${seconds} s) without and with ${fmt(count)} open streams, each following one of ${fmt(CONVERSATIONS)} conversations; then ${probes} probe appends, each timed until every stream of its conversation has it\n`);
  console.log(row(['backend', 'streams', 'append req/s, none open (4 runs)', 'streams open, quiet (2 runs)', 'cost', 'streams open, receiving', 'cost', 'delivery p50 ms', 'delivery p99 ms', 'probes missed', 'errors']));
  console.log(row(Array(11).fill('---')));
  for (const backend of backends) {
    const r = await run(backend, count, seconds, probes);
    const errors = (l: Load) => l.errors;
    console.log(row([
      r.backend, fmt(r.count), r.none.map((l) => fmt(l.rps)).join(', '), r.quietRuns.map((l) => fmt(l.rps)).join(', '), `${fmt(r.quietCost, 1)}%`,
      fmt(r.withStreams.rps), `${fmt(r.receivingCost, 1)}%`,
      fmt(r.p50, 1), fmt(r.p99, 1), r.missing, [...r.none, ...r.quietRuns, r.withStreams].reduce((n, l) => n + errors(l), 0),
    ]));
  }
}
