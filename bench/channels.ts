/**
 * Channels benchmark (bench/README.md):
 * - inbound: signed WhatsApp webhook deliveries of one text message each vs POST /v1/inbound of the same messages,
 *   autocannon with 64 connections against one `colloquy serve`, alternated over the rounds;
 * - outbound: a full outbox drained by `colloquy serve` against a local fake Graph API: sends per second, and
 *   whether every conversation's messages left in order.
 *
 *   npm run bench -- channels [--backend sqlite,postgres] [--duration 10] [--rounds 2] [--messages 5000] [--only inbound|outbound] [--quick]
 */
import { createHmac } from 'node:crypto';
import { openStore } from '../src/index.js';
import { startFakeGraphApi } from '../test/fakes/fake-graph-api.js';
import { fmt, optionOf, row } from './measure.js';
import { CONTENT, SERVING, database, load, serveArgs, start, stop, type Load } from './server-load.js';

const APP_SECRET = 'bench-app-secret';
const SENDERS = 1_000;

const notification = (wamid: string, from: string) => JSON.stringify({
  object: 'whatsapp_business_account',
  entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
    messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
    contacts: [{ profile: { name: 'Cliente' }, wa_id: from }],
    messages: [{ from, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: CONTENT } }],
  } }] }],
});

async function inbound(backend: string, seconds: number, rounds: number) {
  const db = await database(backend);
  const server = await start(serveArgs(db.url), SERVING);
  try {
    const channel = (await (await fetch(`${server.url}/v1/channels`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'whatsapp', name: 'bench', config: { phoneNumberId: '106540352242922' }, secrets: { appSecret: APP_SECRET, accessToken: 't', verifyToken: 'v' } }),
    })).json()) as { id: string };
    let n = 0;
    const sender = () => `5511${String(n % SENDERS).padStart(9, '0')}`;
    const webhook = () => load(server.url, {
      method: 'POST', seconds, path: () => `/webhooks/whatsapp/${channel.id}`,
      body: () => notification(`wamid.bench${++n}`, sender()),
      headers: (body) => ({ 'x-hub-signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}` }),
    });
    const api = () => load(server.url, {
      method: 'POST', seconds, path: () => '/v1/inbound',
      body: () => JSON.stringify({ channelId: channel.id, from: { address: sender(), name: 'Cliente' }, externalId: `wamid.bench${++n}`, content: CONTENT, timestamp: Date.now() }),
    });
    // A short warm-up of both paths (JIT, connections, SQLite pages), not counted.
    await load(server.url, { method: 'POST', seconds: 1, path: () => `/webhooks/whatsapp/${channel.id}`, body: () => notification(`wamid.warm${++n}`, sender()),
      headers: (body) => ({ 'x-hub-signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}` }) });
    await load(server.url, { method: 'POST', seconds: 1, path: () => '/v1/inbound',
      body: () => JSON.stringify({ channelId: channel.id, from: { address: sender() }, externalId: `wamid.warm${++n}`, content: CONTENT }) });
    const results: Array<{ round: number; webhook: Load; api: Load }> = [];
    for (let round = 1; round <= rounds; round++) {
      // Alternating which goes first, so that neither always runs on the larger database.
      if (round % 2) {
        const w = await webhook();
        results.push({ round, webhook: w, api: await api() });
      } else {
        const a = await api();
        results.push({ round, api: a, webhook: await webhook() });
      }
    }
    return results;
  } finally {
    await stop(server.proc);
    await db.cleanup();
  }
}

async function outbound(backend: string, messages: number) {
  const db = await database(backend);
  const graph = await startFakeGraphApi();
  try {
    const store = await openStore({ url: db.url });
    const conversations = Math.max(1, Math.round(messages / 5));
    try {
      const channel = await store.channels.create({
        kind: 'whatsapp', name: 'bench', config: { phoneNumberId: '106540352242922', graphApiUrl: graph.url, sendsPerSecond: 10_000, recipientBurst: 10_000 },
        secrets: { accessToken: 'EAAG-token', appSecret: APP_SECRET, verifyToken: 'v' },
      });
      const ids = [];
      for (let c = 0; c < conversations; c++) {
        const { conversation } = await store.ingest({ channelId: channel.id, from: { address: `5511${String(c).padStart(9, '0')}` }, externalId: `wamid.in${c}`, content: 'oi', timestamp: Date.now() - 60_000 });
        ids.push(conversation.id);
      }
      for (let k = 0; k < messages; k++) await store.messages.append(ids[k % conversations]!, { role: 'assistant', content: `c${k % conversations}-m${String(Math.floor(k / conversations)).padStart(4, '0')}` });
    } finally {
      await store.close();
    }
    const started = performance.now();
    const server = await start(serveArgs(db.url), SERVING);
    try {
      while (graph.sends.length < messages) await new Promise((resolve) => setTimeout(resolve, 20));
      const first = graph.sends[0]!.at;
      const last = graph.sends.at(-1)!.at;
      const byConversation = new Map<string, string[]>();
      for (const s of graph.sends) {
        const [c] = (s.body.text.body as string).split('-');
        byConversation.set(c!, [...(byConversation.get(c!) ?? []), s.body.text.body]);
      }
      const inOrder = [...byConversation.values()].every((list) => list.every((v, i) => i === 0 || list[i - 1]! < v));
      const distinct = new Set(graph.sends.map((s) => s.body.text.body)).size;
      return { backend, messages, conversations, seconds: (last - first) / 1000, startToDrain: (performance.now() - started) / 1000, inOrder, duplicates: graph.sends.length - distinct };
    } finally {
      await stop(server.proc);
    }
  } finally {
    await graph.close();
    await db.cleanup();
  }
}

export async function main(args: string[]): Promise<void> {
  const option = (flag: string) => optionOf(args, flag);
  const backends = (option('--backend') ?? 'sqlite').split(',');
  const quick = args.includes('--quick');
  const seconds = Number(option('--duration') ?? (quick ? 3 : 10));
  const rounds = Number(option('--rounds') ?? 2);
  const messages = Number(option('--messages') ?? (quick ? 1_000 : 5_000));
  const only = option('--only');
  if (only !== 'outbound') await inboundTable(backends, seconds, rounds);
  if (only !== 'inbound') await outboundTable(backends, messages);
}

async function inboundTable(backends: string[], seconds: number, rounds: number) {
  console.log(`\nInbound: signed WhatsApp webhook deliveries (one text message each) vs POST /v1/inbound, 64 connections, ${seconds} s per run, ${rounds} rounds alternated\n`);
  console.log(row(['backend', 'round', 'webhook req/s', 'p50 ms', 'p99 ms', 'inbound req/s', 'p50 ms', 'p99 ms', 'webhook/inbound', 'p99 ratio', 'errors']));
  console.log(row(Array(11).fill('---')));
  for (const backend of backends) {
    for (const r of await inbound(backend, seconds, rounds)) {
      console.log(row([
        backend, r.round, fmt(r.webhook.rps), r.webhook.p50, r.webhook.p99, fmt(r.api.rps), r.api.p50, r.api.p99,
        `${fmt((100 * r.webhook.rps) / r.api.rps)}%`, `${fmt(r.webhook.p99 / Math.max(1, r.api.p99), 2)}×`, r.webhook.errors + r.api.errors,
      ]));
    }
  }
}

async function outboundTable(backends: string[], messages: number) {
  console.log(`\nOutbound: ${fmt(messages)} queued replies drained by colloquy serve against a local fake Graph API (pacing raised out of the way)\n`);
  console.log(row(['backend', 'messages', 'conversations', 'sends/s', 'first→last send s', 'start→drained s', 'in order per conversation', 'sent twice']));
  console.log(row(Array(8).fill('---')));
  for (const backend of backends) {
    const o = await outbound(backend, messages);
    console.log(row([o.backend, fmt(o.messages), fmt(o.conversations), fmt(o.messages / o.seconds), fmt(o.seconds, 2), fmt(o.startToDrain, 2), o.inOrder ? 'yes' : 'NO', o.duplicates]));
  }
}
