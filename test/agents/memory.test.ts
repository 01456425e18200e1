import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryTools } from '../../src/agents/memory-tool.js';
import { providersFrom } from '../../src/agents/providers.js';
import { openStore, type Store } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { startFakeOpenAICompatible } from '../fakes/fake-openai-compatible.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAICompatible>>;

describe('working memory, tool steps and the rolling summary', () => {
  let store: Store;
  let app: App;
  let fake: Fake;
  beforeAll(async () => {
    store = await openStore({ url: 'sqlite::memory:' });
    fake = await startFakeOpenAICompatible();
    app = await buildApp({ store, logger: false, providers: providersFrom({ COLLOQUY_PROVIDER_FAKE: fake.url }), agentTimeoutMs: 20_000 });
  });
  afterAll(async () => {
    await app?.close();
    await fake?.close();
    await store?.close();
  });
  const chat = (agentId: string, payload: object) => app.inject({ method: 'POST', url: `/v1/agents/${agentId}/chat`, payload });

  it('lets the model write the state with update_state; the tool step is stored as a tool message and replays into the next turn', async () => {
    const agent = await store.agents.create({ name: 'memory', instructions: 'Book appointments.', model: 'fake:m', params: { memory: true } });
    fake.replies.push({ toolCalls: [{ name: 'update_state', arguments: { state: 'booking', data: { doctor: 'Silva' } } }] }, 'Booked with Dr. Silva.');
    const before = fake.requests.length;
    const res = await chat(agent.id, { message: { content: 'Dr. Silva please' } });
    expect(res.statusCode).toBe(200);
    const { conversation, assistantMessage } = res.json();
    expect(assistantMessage).toMatchObject({ content: 'Booked with Dr. Silva.', usage: { inputTokens: 24, outputTokens: 6 } });
    expect(await store.state.get(conversation.id)).toMatchObject({ state: 'booking', data: { doctor: 'Silva' }, version: 1 });
    const messages = (await store.messages.list(conversation.id)).data;
    expect(messages.map((m) => m.role)).toEqual(['user', 'tool', 'assistant']);
    expect(messages[1]!.parts).toEqual([
      { type: 'tool-call', toolCallId: expect.any(String), toolName: 'update_state', input: { state: 'booking', data: { doctor: 'Silva' } } },
      { type: 'tool-result', toolCallId: expect.any(String), toolName: 'update_state', output: { type: 'json', value: { ok: true, state: 'booking', data: { doctor: 'Silva' }, version: 1 } } },
    ]);
    // The memory was in the instructions, empty at first.
    expect(fake.requests[before]!.body.messages[0].content).toMatch(/Working memory of this conversation.*"data":\{\}/s);
    expect(fake.requests[before]!.body.tools.map((t: { function: { name: string } }) => t.function.name)).toEqual(['update_state']);
    const events = (await store.events.list({ conversationId: conversation.id })).data.map((e) => e.type);
    expect(events).toContain('state.updated');

    fake.replies.push('Anything else?');
    await chat(agent.id, { conversationId: conversation.id, message: { content: 'Thanks' } });
    const replayed = fake.requests.at(-1)!.body.messages;
    expect(replayed[0].content).toMatch(/"state":"booking".*"doctor":"Silva"/s);
    expect(replayed.slice(1).map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant', 'user']);
    expect(replayed[2].tool_calls[0].function).toEqual({ name: 'update_state', arguments: JSON.stringify({ state: 'booking', data: { doctor: 'Silva' } }) });
    expect(JSON.parse(replayed[3].content)).toMatchObject({ ok: true, version: 1 });
  });

  it('update_state writes with compare-and-set: a lost race is retried once on the fresh state, a second is reported to the model', async () => {
    const conversation = await store.conversations.create();
    let races = 1;
    // A store whose every state write first loses a race to another writer, `races` times.
    const racing = {
      ...store,
      state: {
        get: store.state.get,
        set: async (id: string, input: Parameters<Store['state']['set']>[1]) => {
          if (races-- > 0) await store.state.set(id, { data: { ...(await store.state.get(id)).data, [`other${races}`]: true }, expectedVersion: input.expectedVersion });
          return store.state.set(id, input);
        },
      },
    } as Store;
    const update = memoryTools(racing, conversation.id).update_state!;
    const run = (input: object) => update.execute!(input, { toolCallId: 't', messages: [] }) as Promise<Record<string, unknown>>;
    const first = await run({ data: { name: 'Ana' } });
    expect(first).toMatchObject({ ok: true, version: 2, data: { other0: true, name: 'Ana' } });
    races = 2;
    const second = await run({ state: 'done' });
    expect(second).toMatchObject({ ok: false, error: expect.stringMatching(/changed while you wrote it/), data: { other0: true, name: 'Ana', other1: true } });
    expect((await store.state.get(conversation.id)).state).toBe(null);
  });

  it('folds what no longer fits into a rolling summary, stored with the seq it covers, placed before the kept messages', async () => {
    const agent = await store.agents.create({ name: 'summarizer', model: 'fake:s', params: { summarize: true, summaryModel: 'fake:cheap', maxContextTokens: 120 } });
    const conversation = await store.conversations.create({ agentId: agent.id });
    for (let i = 1; i <= 20; i++) {
      await store.messages.append(conversation.id, { role: i % 2 ? 'user' : 'assistant', content: `Line ${i}: the patient Ana prefers mornings and Dr. Silva.` });
    }
    fake.replies.push('Ana prefers mornings with Dr. Silva.', 'Morning it is.');
    const before = fake.requests.length;
    const res = await chat(agent.id, { conversationId: conversation.id, message: { content: 'When can I come?' } });
    expect(res.statusCode).toBe(200);
    const [summaryCall, turnCall] = fake.requests.slice(before);
    expect(summaryCall!.body.model).toBe('cheap');
    expect(summaryCall!.body.messages.at(-1).content).toMatch(/Line 1: the patient Ana/);
    expect(turnCall!.body.messages[0]).toEqual({ role: 'system', content: 'Summary of the earlier conversation:\nAna prefers mornings with Dr. Silva.' });
    const window = (await app.inject({ method: 'GET', url: `/v1/conversations/${conversation.id}/context?maxTokens=120` })).json();
    expect(window.summary).toBe('Ana prefers mornings with Dr. Silva.');
    expect(window.summaryToSeq).toBeGreaterThan(0);
    // What the summary covers is not repeated; what follows it is kept from its next seq on, as far as it fits.
    expect(window.fromSeq).toBeGreaterThan(window.summaryToSeq);
    // The summary's call is in the ledger on its own, under its model.
    expect(res.json().usage).toMatchObject({ model: 'fake:s', inputTokens: 12, outputTokens: 3 });
    const byModel = (await store.usage.report({ groupBy: 'model' })).groups.map((g) => [g.key, g.calls, g.totalTokens]);
    expect(byModel).toContainEqual(['fake:cheap', 1, 15]);
  });
});
