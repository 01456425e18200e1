import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { providersFrom } from '../../src/agents/providers.js';
import { openStore, type Store } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { tokensOf } from '../../src/context/tokens.js';
import { startFakeOpenAICompatible } from '../fakes/fake-openai-compatible.js';
import { storeTargets } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAICompatible>>;

/** The `data:` parts of a UI message stream, `[DONE]` as the string. */
const streamParts = (body: string) => body.split('\n\n').filter((block) => block.startsWith('data: ')).map((block) => {
  const data = block.slice(6);
  return data === '[DONE]' ? data : JSON.parse(data);
});

for (const target of storeTargets) {
  describe(`chat turns on ${target.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let app: App;
    let fake: Fake;
    let agentId: string;

    beforeAll(async () => {
      const opened = await target.open();
      if (!opened) return;
      ({ store, cleanup } = opened);
      fake = await startFakeOpenAICompatible();
      app = await buildApp({ store, logger: false, providers: providersFrom({ COLLOQUY_PROVIDER_FAKE: fake.url }), agentTimeoutMs: 20_000 });
      const created = await app.inject({ method: 'POST', url: '/v1/agents', payload: { name: 'receptionist', instructions: 'You book appointments.', model: 'fake:clinic-1' } });
      expect(created.statusCode).toBe(201);
      agentId = created.json().id;
    });
    afterAll(async () => {
      await app?.close();
      await fake?.close();
      await store?.close();
      await cleanup?.();
    });
    afterEach(() => {
      fake.replies.length = 0;
    });

    const chat = (payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: `/v1/agents/${agentId}/chat`, payload: payload as object, headers });

    it('answers a JSON turn: the user message, then the answer with its usage, in a new conversation; the ledger has it', async () => {
      fake.replies.push('Which day suits you?');
      const before = fake.requests.length;
      const res = await chat({ message: { content: 'I need an appointment' } });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({
        duplicate: false,
        conversation: { agentId, lastSeq: 2 },
        userMessage: { role: 'user', content: 'I need an appointment', seq: 1 },
        assistantMessage: { role: 'assistant', content: 'Which day suits you?', seq: 2, usage: { provider: 'fake', model: 'fake:clinic-1', agentId, inputTokens: 12, outputTokens: 3, totalTokens: 15 } },
        usage: { inputTokens: 12, outputTokens: 3 },
      });
      // The agent's instructions went as the system message, the history as messages.
      expect(fake.requests.length).toBe(before + 1);
      expect(fake.requests.at(-1)!.body.messages).toEqual([
        { role: 'system', content: 'You book appointments.' },
        { role: 'user', content: 'I need an appointment' },
      ]);
      const usage = await app.inject({ method: 'GET', url: `/v1/usage?groupBy=conversation` });
      expect(usage.json().groups).toContainEqual(expect.objectContaining({ key: body.conversation.id, calls: 1, inputTokens: 12, outputTokens: 3, totalTokens: 15 }));
      const events = (await store.events.list({ conversationId: body.conversation.id })).data.map((e) => e.type);
      expect(events).toEqual(expect.arrayContaining(['conversation.created', 'message.created', 'usage.recorded']));
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toContain(`colloquy_agent_tokens_total{agent="${agentId}",model="fake:clinic-1",kind="input"} 12`);
      expect(metrics).toContain(`colloquy_agent_tokens_total{agent="${agentId}",model="fake:clinic-1",kind="output"} 3`);
    });

    it('streams the AI SDK UI message stream, as useChat reads it, and stores the whole answer', async () => {
      fake.replies.push('Tuesday at ten is free.');
      const res = await chat({ message: { content: 'Tuesday?' }, stream: true });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(res.headers['x-vercel-ai-ui-message-stream']).toBe('v1');
      const parts = streamParts(res.body);
      expect(parts.at(-1)).toBe('[DONE]');
      const types = parts.slice(0, -1).map((p) => p.type);
      expect(types[0]).toBe('start');
      expect(types.at(-1)).toBe('finish');
      expect(types).toContain('text-delta');
      const text = parts.filter((p) => p.type === 'text-delta').map((p) => p.delta).join('');
      expect(text).toBe('Tuesday at ten is free.');
      const start = parts[0];
      const finish = parts.at(-2);
      expect(finish.messageMetadata).toMatchObject({ conversationId: start.messageMetadata.conversationId, assistantMessageId: expect.any(String), usage: { totalTokens: 15 } });
      const stored = await store.messages.get(finish.messageMetadata.assistantMessageId);
      expect(stored).toMatchObject({ role: 'assistant', content: 'Tuesday at ten is free.', usage: { totalTokens: 15 } });
    });

    it("takes useChat's own body: the chat id is kept on the conversation, the last user UIMessage is the new message", async () => {
      fake.replies.push('Hello!', 'Your name is Ana.');
      const first = await chat({ id: 'chat-ana-1', trigger: 'submit-message', messages: [{ id: 'ui-1', role: 'user', parts: [{ type: 'text', text: 'Hi, ' }, { type: 'text', text: 'I am Ana' }] }] });
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-vercel-ai-ui-message-stream']).toBe('v1');
      const conversationId = streamParts(first.body)[0].messageMetadata.conversationId;
      const conversation = await store.conversations.get(conversationId);
      expect(conversation).toMatchObject({ chatId: 'chat-ana-1', agentId });
      const second = await chat({
        id: 'chat-ana-1', trigger: 'submit-message',
        messages: [
          { id: 'ui-1', role: 'user', parts: [{ type: 'text', text: 'Hi, I am Ana' }] },
          { id: 'ui-2', role: 'assistant', parts: [{ type: 'text', text: 'Hello!' }] },
          { id: 'ui-3', role: 'user', parts: [{ type: 'text', text: 'What is my name?' }] },
        ],
      });
      expect(streamParts(second.body)[0].messageMetadata.conversationId).toBe(conversationId);
      const history = (await store.messages.list(conversationId)).data.map((m) => [m.role, m.content, m.idempotencyKey]);
      expect(history).toEqual([['user', 'Hi, I am Ana', 'ui-1'], ['assistant', 'Hello!', expect.stringMatching(/^reply:/)], ['user', 'What is my name?', 'ui-3'], ['assistant', 'Your name is Ana.', expect.stringMatching(/^reply:/)]]);
      // The model saw the stored history, not the client's copy of it.
      expect(fake.requests.at(-1)!.body.messages.map((m: { content: string }) => m.content)).toEqual(['You book appointments.', 'Hi, I am Ana', 'Hello!', 'What is my name?']);
    });

    it('a retry with the same message id makes no second model call, also when it arrives while the turn runs', async () => {
      fake.replies.push({ text: 'Booked for Tuesday.', chunkDelayMs: 30 });
      const before = fake.requests.length;
      const answers = await Promise.all(Array.from({ length: 5 }, () => chat({ message: { id: 'retry-me', content: 'Book Tuesday' } })));
      expect(answers.map((a) => a.statusCode), answers.map((a) => a.body).join('\n')).toEqual([200, 200, 200, 200, 200]);
      const bodies = answers.map((a) => a.json());
      expect(new Set(bodies.map((b) => b.assistantMessage.id)).size).toBe(1);
      expect(new Set(bodies.map((b) => b.conversation.id)).size).toBe(1);
      expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);
      expect(fake.requests.length).toBe(before + 1);
      const later = await chat({ message: { id: 'retry-me', content: 'Book Tuesday' }, stream: true });
      const parts = streamParts(later.body);
      expect(parts.filter((p) => p.type === 'text-delta').map((p) => p.delta).join('')).toBe('Booked for Tuesday.');
      expect(parts.at(-2).messageMetadata).toMatchObject({ duplicate: true, assistantMessageId: bodies[0].assistantMessage.id });
      expect(fake.requests.length).toBe(before + 1);
      const messages = (await store.messages.list(bodies[0].conversation.id)).data;
      expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    });

    it('a retry of an answered message gets the stored answer even once the budget is spent', async () => {
      fake.replies.push('Stored before the budget ran out.');
      const first = await chat({ message: { id: 'over-budget', content: 'Hello' } });
      expect(first.statusCode).toBe(200);
      await store.budgets.put(`agent:${agentId}`, { dailyTokens: 1 });
      try {
        const calls = fake.requests.length;
        const retried = await chat({ message: { id: 'over-budget', content: 'Hello' } });
        expect(retried.json()).toMatchObject({ duplicate: true, assistantMessage: { id: first.json().assistantMessage.id } });
        expect((await chat({ message: { id: 'new-one', content: 'Hello' } })).statusCode).toBe(429);
        expect(fake.requests.length).toBe(calls);
      } finally {
        await store.budgets.delete(`agent:${agentId}`);
      }
    });

    it('runs two turns of one conversation one after the other: the second sees the first answer', async () => {
      const conversationId = (await store.conversations.create({ agentId })).id;
      fake.replies.push({ text: 'First answer.', chunkDelayMs: 20 }, { text: 'Second answer.', chunkDelayMs: 20 });
      const before = fake.requests.length;
      const [a, b] = await Promise.all([
        chat({ conversationId, message: { id: 'turn-a', content: 'A?' } }),
        chat({ conversationId, message: { id: 'turn-b', content: 'B?' } }),
      ]);
      expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
      const sent = fake.requests.slice(before).map((r) => r.body.messages.map((m: { content: string }) => m.content).slice(1));
      // Both user messages were stored before either model call; the later call also carries the earlier answer.
      expect(sent[1]).toContain('First answer.');
      const roles = (await store.messages.list(conversationId)).data.map((m) => m.role);
      expect(roles).toEqual(['user', 'user', 'assistant', 'assistant']);
    });

    it('a provider error stores no answer: 502 for a 5xx, 422 with its message for a refused request, and an agent.error event', async () => {
      const conversationId = (await store.conversations.create({ agentId })).id;
      fake.replies.push({ status: 500, error: 'overloaded' }, { status: 500, error: 'overloaded' });
      const failed = await chat({ conversationId, message: { id: 'e1', content: 'Hello?' } });
      expect(failed.statusCode).toBe(502);
      expect(failed.json().error).toMatchObject({ code: 'upstream_error' });
      fake.replies.push({ status: 400, error: "This model's maximum context length is 8192 tokens" });
      const refused = await chat({ conversationId, message: { id: 'e2', content: 'Again' } });
      expect(refused.statusCode).toBe(422);
      expect(refused.json().error).toMatchObject({ code: 'provider_rejected', message: expect.stringMatching(/maximum context length is 8192/) });
      const messages = (await store.messages.list(conversationId)).data;
      expect(messages.map((m) => m.role)).toEqual(['user', 'user']);
      const events = (await store.events.list({ conversationId })).data.filter((e) => e.type === 'agent.error');
      expect(events.map((e) => e.data)).toEqual([
        expect.objectContaining({ messageId: messages[0]!.id, code: 'upstream_error' }),
        expect.objectContaining({ messageId: messages[1]!.id, code: 'provider_rejected' }),
      ]);
      // A retry of the failed message runs the turn again, now answered.
      fake.replies.push('Here I am.');
      const retried = await chat({ conversationId, message: { id: 'e1', content: 'Hello?' } });
      expect(retried.json()).toMatchObject({ duplicate: false, assistantMessage: { content: 'Here I am.' } });
    });

    it('an error after the stream started is an error part, then the end; nothing is stored', async () => {
      const conversationId = (await store.conversations.create({ agentId })).id;
      fake.replies.push({ status: 503, error: 'down' }, { status: 503, error: 'down' });
      const res = await chat({ conversationId, message: { content: 'Hi' }, stream: true });
      expect(res.statusCode).toBe(200);
      const parts = streamParts(res.body);
      expect(parts.some((p) => p.type === 'error' && /provider failed \(503\)/.test(p.errorText))).toBe(true);
      expect(parts.at(-1)).toBe('[DONE]');
      expect((await store.messages.list(conversationId)).data.map((m) => m.role)).toEqual(['user']);
    });

    it('answers what a client sends wrong with a clear 4xx, and a missing agent with 404', async () => {
      expect((await chat({})).json().error).toMatchObject({ code: 'invalid_argument' });
      expect((await chat({ messages: [{ id: 'x', role: 'assistant', parts: [] }] })).statusCode).toBe(400);
      const missing = await app.inject({ method: 'POST', url: '/v1/agents/0190a0a0-0000-7000-8000-000000000000/chat', payload: { message: { content: 'x' } } });
      expect(missing.statusCode).toBe(404);
      const closed = await store.conversations.create({ agentId });
      await store.conversations.update(closed.id, { status: 'closed' });
      expect((await chat({ conversationId: closed.id, message: { content: 'x' } })).json().error.code).toBe('conversation_closed');
    });

    it('a message larger than the context window is refused with 422 before any model call; a malformed image URL is left out', async () => {
      const conversationId = (await store.conversations.create({ agentId })).id;
      const calls = fake.requests.length;
      const huge = await chat({ conversationId, message: { content: 'word '.repeat(9000) } });
      expect(huge.statusCode).toBe(422);
      expect(huge.json().error).toMatchObject({ code: 'provider_rejected', message: expect.stringMatching(/does not fit the agent's context window of 8000 tokens/) });
      expect(fake.requests.length).toBe(calls);
      await store.messages.append(conversationId, { role: 'user', content: 'see this', parts: [{ type: 'image', url: 'http://[' }, { type: 'image', url: 'https://example.com/x.png' }] });
      const window = await app.inject({ method: 'GET', url: `/v1/conversations/${conversationId}/context?maxTokens=500` });
      expect(window.statusCode).toBe(200);
      expect(window.json().messages.at(-1)).toEqual({ role: 'user', content: [{ type: 'text', text: 'see this' }, { type: 'image', image: 'https://example.com/x.png' }] });
      const badEconomy = await app.inject({ method: 'PUT', url: `/v1/budgets/agent:${agentId}`, payload: { dailyTokens: 100, economy: { model: 'nowhere:small' } } });
      expect(badEconomy.statusCode).toBe(400);
    });

    it('a provider without its key answers 503 provider_not_configured naming the variable', async () => {
      const agent = await store.agents.create({ name: `needs-key-${target.name}`, model: 'openai:gpt-4o-mini' });
      const res = await app.inject({ method: 'POST', url: `/v1/agents/${agent.id}/chat`, payload: { message: { content: 'x' } } });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toMatchObject({ code: 'provider_not_configured', message: expect.stringMatching(/OPENAI_API_KEY/) });
    });

    it('counts tokens at append and assembles the context from the newest messages that fit', async () => {
      const conversationId = (await store.conversations.create({ agentId })).id;
      for (let i = 0; i < 30; i++) await store.messages.append(conversationId, { role: i % 2 ? 'assistant' : 'user', content: `message number ${i} about the appointment` });
      await store.messages.append(conversationId, { role: 'system', content: 'The clinic closes at 18:00.' });
      const stored = (await store.messages.list(conversationId, { limit: 100 })).data;
      for (const m of stored) expect(m.tokens).toBe(await tokensOf(m));
      const res = await app.inject({ method: 'GET', url: `/v1/conversations/${conversationId}/context?maxTokens=100` });
      expect(res.statusCode).toBe(200);
      const window = res.json();
      expect(window.truncated).toBe(true);
      expect(window.tokens.total).toBeLessThanOrEqual(100);
      expect(window.toSeq).toBe(31);
      expect(window.system).toBe('You book appointments.\n\nThe clinic closes at 18:00.');
      const kept = stored.filter((m) => m.seq >= window.fromSeq && m.role !== 'system');
      expect(window.messages).toEqual(kept.map((m) => ({ role: m.role, content: m.content })));
      expect(window.tokens.messages).toBe(kept.reduce((sum, m) => sum + m.tokens!, 0));
      // One more message would not have fitted.
      const next = stored.find((m) => m.seq === window.fromSeq - 1)!;
      expect(window.tokens.total + next.tokens!).toBeGreaterThan(100);
      const all = (await app.inject({ method: 'GET', url: `/v1/conversations/${conversationId}/context?maxTokens=100000` })).json();
      expect(all).toMatchObject({ truncated: false, fromSeq: 1, toSeq: 31 });
      expect((await app.inject({ method: 'GET', url: `/v1/conversations/${conversationId}/context?maxTokens=0` })).statusCode).toBe(400);
    });

    it('reads as many pages as the budget needs, newest first, and stops exactly at it', async () => {
      const conversationId = (await store.conversations.create()).id;
      for (let i = 0; i < 400; i++) await store.messages.append(conversationId, { role: 'user', content: i % 7 ? `short ${i}` : `a somewhat longer message number ${i}, to vary the sizes a little` });
      const all = (await store.messages.list(conversationId, { order: 'desc', limit: 1000 })).data;
      for (const maxTokens of [30, 900, 2500]) {
        const window = await store.context(conversationId, { maxTokens });
        let used = 0;
        let fit = 0;
        for (const m of all) {
          if (used + m.tokens! > maxTokens) break;
          used += m.tokens!;
          fit++;
        }
        expect(window.messages, String(maxTokens)).toHaveLength(fit);
        expect(window.tokens.total).toBe(used);
        expect(window).toMatchObject({ truncated: true, toSeq: 400, fromSeq: 401 - fit });
      }
      expect((await store.context(conversationId, { maxTokens: 100_000, lastMessages: 50 })).messages).toHaveLength(50);
    });
  });
}

describe('a streamed turn whose client disconnects', () => {
  let store: Store;
  let app: App;
  let fake: Fake;
  beforeAll(async () => {
    store = await openStore({ url: 'sqlite::memory:' });
    fake = await startFakeOpenAICompatible();
    app = await buildApp({ store, logger: false, providers: providersFrom({ COLLOQUY_PROVIDER_FAKE: fake.url }) });
    await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await fake?.close();
    await store?.close();
  });

  it('runs to the end and stores the whole answer', async () => {
    const agent = await store.agents.create({ name: 'slow', model: 'fake:slow' });
    const text = 'This answer arrives slowly, piece by piece, long after the client has gone away.';
    fake.replies.push({ text, chunkDelayMs: 25 });
    const address = app.server.address() as { port: number };
    const abort = new AbortController();
    const res = await fetch(`http://127.0.0.1:${address.port}/v1/agents/${agent.id}/chat`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: { content: 'Tell me' }, stream: true }), signal: abort.signal,
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('text-delta')) seen += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const conversationId = JSON.parse(seen.split('\n\n')[0]!.slice(6)).messageMetadata.conversationId as string;
    await waitFor('the answer stored', async () => (await store.messages.list(conversationId)).data.length === 2);
    const answer = (await store.messages.list(conversationId)).data[1]!;
    expect(answer).toMatchObject({ role: 'assistant', content: text, usage: { totalTokens: 15 } });
  });
});

describe('a turn that outlives the turn timeout', () => {
  it('answers 504 upstream_timeout and stores no answer', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    const fake = await startFakeOpenAICompatible();
    const app = await buildApp({ store, logger: false, providers: providersFrom({ COLLOQUY_PROVIDER_FAKE: fake.url }), agentTimeoutMs: 400 });
    try {
      const agent = await store.agents.create({ name: 'slow', model: 'fake:slow' });
      fake.replies.push({ text: 'too late', chunkDelayMs: 3000 });
      const res = await app.inject({ method: 'POST', url: `/v1/agents/${agent.id}/chat`, payload: { message: { id: 'late', content: 'Hello?' } } });
      expect(res.statusCode).toBe(504);
      expect(res.json().error).toMatchObject({ code: 'upstream_timeout' });
      const conversations = (await store.conversations.list()).data;
      expect(conversations).toHaveLength(1);
      expect((await store.messages.list(conversations[0]!.id)).data.map((m) => m.role)).toEqual(['user']);
    } finally {
      await app.close();
      await fake.close();
      await store.close();
    }
  });
});
