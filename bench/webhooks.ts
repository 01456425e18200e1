/**
 * Outgoing webhooks benchmark. A local receiver in a process of its own answers 200 to every POST.
 *
 * - Throughput: N message.created events written first, then delivered by one deliverer (signed, the message read
 *   for each payload, the cursor and attempts written per batch), against a bare loop of the same number of POSTs
 *   with the same concurrency to the same receiver (no store, no signing): what delivery costs beyond HTTP.
 * - Latency: events written at a steady rate (default 200/s for 10 s); for each, the time from just before its
 *   append to its arrival at the receiver (one clock: the same machine).
 *
 *   npm run bench -- webhooks [--backend sqlite,postgres] [--events 5000] [--rate 200] [--seconds 10] [--quick]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { openStore, type Store } from '../src/index.js';
import { createWebhookDeliverer } from '../src/webhooks/webhook-deliverer.js';
import { fmt, optionOf, row } from './measure.js';

const POSTGRES_URL = process.env.COLLOQUY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DIR = new URL('../.bench-tmp/', import.meta.url).pathname;

/** The receiver: counts requests, keeps each webhook-id's arrival time, reports on request. */
const RECEIVER = `
const http = require('node:http');
const arrivals = new Map();
let count = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    count++;
    const id = req.headers['webhook-id'];
    if (id && !arrivals.has(id)) arrivals.set(id, Date.now());
    res.writeHead(200).end('ok');
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m === 'count') process.send({ count });
  if (m === 'arrivals') process.send({ arrivals: [...arrivals] });
  if (m === 'reset') { arrivals.clear(); count = 0; process.send({ reset: true }); }
});
`;

function startReceiver(): Promise<{ url: string; ask<T>(what: string): Promise<T>; stop(): void }> {
  mkdirSync(DIR, { recursive: true });
  const file = `${DIR}receiver-${process.pid}.cjs`;
  writeFileSync(file, RECEIVER);
  const child: ChildProcess = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve) => {
    child.once('message', (m: { port: number }) => resolve({
      url: `http://127.0.0.1:${m.port}/hook`,
      ask: <T>(what: string) => new Promise<T>((done) => {
        child.once('message', (answer) => done(answer as T));
        child.send(what);
      }),
      stop: () => {
        child.kill();
        rmSync(file, { force: true });
      },
    }));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** The same number of POSTs with the same concurrency, through a keep-alive agent: HTTP alone. */
async function bare(url: string, count: number, concurrency: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const body = JSON.stringify({ type: 'message.created', timestamp: new Date().toISOString(), data: { id: 'x'.repeat(36), content: 'Olá! Gostaria de marcar uma consulta.' } });
  let next = 0;
  const post = () => new Promise<void>((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      response.resume();
      response.on('end', resolve);
    });
    request.on('error', reject);
    request.end(body);
  });
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < count) await post();
  }));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return count / seconds;
}

async function waitCount(receiver: Awaited<ReturnType<typeof startReceiver>>, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await receiver.ask<{ count: number }>('count')).count < count) {
    if (Date.now() > deadline) throw new Error(`the receiver got fewer than ${count} deliveries in ${timeoutMs} ms`);
    await sleep(20);
  }
}

export async function main(args: string[]): Promise<void> {
  const backends = (optionOf(args, '--backend') ?? 'sqlite,postgres').split(',');
  const quick = args.includes('--quick');
  const events = Number(optionOf(args, '--events') ?? (quick ? 1_000 : 5_000));
  const rate = Number(optionOf(args, '--rate') ?? 200);
  const seconds = Number(optionOf(args, '--seconds') ?? (quick ? 3 : 10));
  const receiver = await startReceiver();
  console.log(`## Outgoing webhooks (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, receiver in its own process answering 200)\n`);
  console.log('| backend | workload | events | deliveries/s | p50 ms | p99 ms | bare POSTs/s (16 sockets) | delivery / bare |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  try {
    for (const backend of backends) {
      mkdirSync(DIR, { recursive: true });
      const path = `${DIR}webhooks-${process.pid}-${Date.now()}.db`;
      const schema = `bench_webhooks_${process.pid}_${Date.now()}`;
      const config = backend === 'sqlite' ? { url: `sqlite:${path}` } : { url: POSTGRES_URL, schema };
      const store: Store = await openStore({ ...config, allowPrivateWebhooks: true });
      try {
        const conversations = await Promise.all(Array.from({ length: 100 }, async () => (await store.conversations.create({})).id));
        // Throughput: the backlog written first, then drained.
        const endpoint = await store.webhooks.create({ url: receiver.url, events: ['message.created'] });
        for (let i = 0; i < events; i++) await store.messages.append(conversations[i % conversations.length]!, { role: 'user', content: `Olá! Gostaria de marcar uma consulta. #${i}` });
        await receiver.ask('reset');
        const deliverer = createWebhookDeliverer({ store, owner: 'bench', scanMs: 20 });
        const started = performance.now();
        deliverer.start();
        await waitCount(receiver, events, 600_000);
        const drained = (performance.now() - started) / 1000;
        await receiver.ask('reset');
        const bareRate = await bare(receiver.url, events, 16);
        console.log(row([backend, 'backlog drained', fmt(events), fmt(events / drained), '', '', fmt(bareRate), `${fmt((events / drained) / bareRate, 2)}×`]));

        // Latency at a steady rate.
        await receiver.ask('reset');
        const total = rate * seconds;
        const written = new Map<string, number>();
        const t0 = performance.now();
        for (let i = 0; i < total; i++) {
          const due = t0 + (i * 1000) / rate;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
          const at = Date.now();
          const { message } = await store.messages.append(conversations[i % conversations.length]!, { role: 'user', content: `steady #${i}` });
          written.set(message.id, at);
        }
        await waitCount(receiver, total, 120_000);
        const { arrivals } = await receiver.ask<{ arrivals: Array<[string, number]> }>('arrivals');
        // Arrivals are by webhook-id (the event id): map them back to messages through the log.
        const byEvent = new Map(arrivals);
        const latencies: number[] = [];
        let after: string | undefined = endpoint.deliveredTo ?? undefined;
        for (;;) {
          const page = await store.events.list({ ...(after ? { after } : {}), limit: 1000 });
          for (const e of page.data) {
            const sentAt = e.type === 'message.created' ? written.get(String(e.data.messageId)) : undefined;
            const arrived = byEvent.get(e.id);
            if (sentAt !== undefined && arrived !== undefined) latencies.push(arrived - sentAt);
          }
          if (page.data.length < 1000) break;
          after = page.nextCursor ?? undefined;
        }
        latencies.sort((a, b) => a - b);
        console.log(row([backend, `steady ${fmt(rate)} events/s for ${seconds} s`, fmt(latencies.length), fmt(total / ((performance.now() - t0) / 1000)), fmt(percentile(latencies, 0.5), 1), fmt(percentile(latencies, 0.99), 1), '', '']));
        await deliverer.stop();
      } finally {
        await store.close();
        if (backend === 'sqlite') for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
        else {
          const pg = (await import('pg')).default;
          const client = new pg.Client({ connectionString: POSTGRES_URL });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await client.end();
        }
      }
    }
  } finally {
    receiver.stop();
  }
}
