/**
 * Agents benchmark: context assembly (maxTokens=8000) on a 20-message and a 20,000-message conversation, and a JSON
 * chat turn through the chat-turn runner against a bare `generateText` call with the same mock model (no latency),
 * in the same run. See bench/README.md.
 *
 *   npm run bench -- agents [--backend sqlite,postgres] [--quick]
 */
import { mkdirSync, rmSync } from 'node:fs';
import { generateText, simulateReadableStream } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { createChatTurns } from '../src/agents/chat-turn.js';
import { providersFrom } from '../src/agents/providers.js';
import { tokenizer } from '../src/context/tokens.js';
import { openStore, type Store } from '../src/index.js';
import { fmt, measure, optionOf, row } from './measure.js';

const POSTGRES_URL = process.env.COLLOQUY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DIR = new URL('../.bench-tmp/', import.meta.url).pathname;
const LINES = [
  'Olá! Gostaria de marcar uma consulta com a Dra. Silva na próxima terça-feira à tarde, se possível.',
  'Claro! A Dra. Silva tem horários às 14h e às 16h na terça. Qual prefere?',
];
const usage = { inputTokens: { total: 120, noCache: 120, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 12, text: 12, reasoning: 0 } };

/** A model that answers at once, streaming or not. */
function mockModel() {
  return new MockLanguageModelV3({
    doGenerate: async () => ({ content: [{ type: 'text', text: 'Às 14h, então.' }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] }),
    doStream: async () => ({
      stream: simulateReadableStream({
        chunks: [
          { type: 'stream-start', warnings: [] }, { type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: 'Às 14h, ' },
          { type: 'text-delta', id: 't', delta: 'então.' }, { type: 'text-end', id: 't' }, { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage },
        ],
        initialDelayInMs: null, chunkDelayInMs: null,
      }),
    }),
  });
}

/**
 * A conversation of `count` messages of about 400 tokens each (an agent's answers are long): 20 of them fill the
 * 8000-token window, so a 20-message and a 20,000-message conversation keep the same window and their ratio shows
 * what history alone costs.
 */
async function seed(store: Store, agentId: string, count: number): Promise<string> {
  const conversation = await store.conversations.create({ agentId });
  for (let k = 0; k < count; k++) await store.messages.append(conversation.id, { role: k % 2 ? 'assistant' : 'user', content: `${LINES[k % 2]} `.repeat(16) + `(${k})` });
  return conversation.id;
}

export async function main(args: string[]): Promise<void> {
  const backends = (optionOf(args, '--backend') ?? 'sqlite,postgres').split(',');
  const quick = args.includes('--quick');
  const reads = quick ? 300 : 2_000;
  const turnsCount = quick ? 300 : 2_000;
  await tokenizer();
  console.log(`## Agents (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, mock model without latency)\n`);
  console.log('| backend | workload | ops/s | p50 ms | p99 ms |');
  console.log('|---|---|---:|---:|---:|');
  for (const backend of backends) {
    mkdirSync(DIR, { recursive: true });
    const path = `${DIR}agents-${process.pid}-${Date.now()}.db`;
    const schema = `bench_agents_${process.pid}_${Date.now()}`;
    const store = await openStore(backend === 'sqlite' ? { url: `sqlite:${path}` } : { url: POSTGRES_URL, schema });
    const model = mockModel();
    try {
      const agent = await store.agents.create({ name: 'bench', instructions: 'Você agenda consultas da clínica. Seja breve.', model: 'mock:fast', params: { maxContextTokens: 8000 } });
      const small = await seed(store, agent.id, 20);
      const large = await seed(store, agent.id, quick ? 5_000 : 20_000);
      if (backend === 'postgres') {
        // As a database in service has: statistics of its tables (autovacuum would take a while to get there).
        const pg = (await import('pg')).default;
        const client = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` });
        await client.connect();
        await client.query('ANALYZE');
        await client.end();
      }
      const results: Array<[string, Awaited<ReturnType<typeof measure>>]> = [];
      for (const [name, id] of [['context, 20 messages', small], [`context, ${quick ? '5,000' : '20,000'} messages`, large]] as const) {
        await measure(100, 1, () => store.context(id, { maxTokens: 8000 }));
        results.push([name, await measure(reads, 1, () => store.context(id, { maxTokens: 8000 }))]);
      }
      // Chat turns: each in one of 200 conversations in turn, so contexts stay a realistic size.
      const turns = createChatTurns({ providers: providersFrom({}, { 'mock:fast': model }), timeoutMs: 60_000, owner: 'bench' });
      const conversations = await Promise.all(Array.from({ length: 200 }, async () => (await store.conversations.create({ agentId: agent.id })).id));
      const turn = (i: number) => turns.chat(store, agent.id, { conversationId: conversations[i % conversations.length], message: { content: `${LINES[0]} #${i}` } });
      const bare = () => generateText({ model, prompt: LINES[0]! });
      await measure(100, 1, bare);
      await measure(100, 1, turn);
      // Interleaved halves, so that a slow moment of the machine weighs on both alike.
      const bareRuns = [];
      const turnRuns = [];
      for (let half = 0; half < 2; half++) {
        bareRuns.push(await measure(turnsCount / 2, 1, bare));
        turnRuns.push(await measure(turnsCount / 2, 1, (i) => turn(i + half * turnsCount)));
      }
      const merge = (runs: Array<Awaited<ReturnType<typeof measure>>>) => ({
        ops: runs.reduce((s, r) => s + r.ops, 0), seconds: runs.reduce((s, r) => s + r.seconds, 0),
        perSecond: runs.reduce((s, r) => s + r.ops, 0) / runs.reduce((s, r) => s + r.seconds, 0),
        p50Ms: runs.reduce((s, r) => s + r.p50Ms, 0) / runs.length, p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
      });
      const bareM = merge(bareRuns);
      const turnM = merge(turnRuns);
      results.push(['bare generateText (mock)', bareM], ['JSON chat turn (mock)', turnM]);
      for (const [name, m] of results) console.log(row([backend, name, fmt(m.perSecond), fmt(m.p50Ms, 3), fmt(m.p99Ms, 3)]));
      const [c20, c20k] = [results[0]![1], results[1]![1]];
      console.log(row([backend, '**large / small context p50**', '', `**${fmt(c20k.p50Ms / c20.p50Ms, 2)}×**`, '']));
      console.log(row([backend, '**turn overhead p50 (turn − bare)**', '', `**${fmt(turnM.p50Ms - bareM.p50Ms, 3)}**`, '']));
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
}
