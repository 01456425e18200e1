import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAutoReplies, type AutoReplies } from '../../src/agents/auto-reply.js';
import { createChatTurns } from '../../src/agents/chat-turn.js';
import { providersFrom } from '../../src/agents/providers.js';
import { createChannelRuntime, type ChannelRuntime } from '../../src/channels/channel-runtime.js';
import { createOutboxSender, type OutboxSender } from '../../src/channels/outbox-sender.js';
import { openStore, type Channel, type Store } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { agentOps } from '../../src/store/agent-ops.js';
import { startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api.js';
import { startFakeOpenAICompatible } from '../fakes/fake-openai-compatible.js';
import { startServer } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAICompatible>>;
const APP_SECRET = 'app-secret';
let counter = 0;

/** A WhatsApp Cloud API notification of one text message, sent now (inside the customer-service window). */
function notification(from: string, body: string, id = `wamid.auto${++counter}`, at = Date.now()) {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
      contacts: [{ profile: { name: 'Ana' }, wa_id: from }],
      messages: [{ from, id, timestamp: String(Math.floor(at / 1000)), type: 'text', text: { body } }],
    } }] }],
  });
}
const sign = (body: string) => `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`;
const texts = (graph: FakeGraphApi) => graph.sends.filter((s) => s.body.type === 'text').map((s) => s.body.text.body as string);

async function whatsappChannel(store: Store, graph: FakeGraphApi, config: Record<string, unknown>): Promise<Channel> {
  return store.channels.create({
    kind: 'whatsapp', name: `clinic-${++counter}`, config: { phoneNumberId: '106540352242922', graphApiUrl: graph.url, ...config },
    secrets: { accessToken: 'EAAG-token', appSecret: APP_SECRET, verifyToken: 'v' },
  });
}

describe('agents answering a WhatsApp channel', () => {
  let store: Store;
  let fake: Fake;
  let graph: FakeGraphApi;
  let channels: ChannelRuntime;
  let app: App;
  let sender: OutboxSender;
  let replies: AutoReplies;
  beforeAll(async () => {
    store = await openStore({ url: 'sqlite::memory:' });
    fake = await startFakeOpenAICompatible();
    graph = await startFakeGraphApi();
    const providers = providersFrom({ COLLOQUY_PROVIDER_FAKE: fake.url });
    channels = createChannelRuntime({ store });
    const turns = createChatTurns({ providers, timeoutMs: 20_000, owner: 'test-instance' });
    app = await buildApp({ store, logger: false, providers, channels, chatTurns: turns });
    sender = createOutboxSender({ channels });
    sender.start();
    replies = createAutoReplies({ store, turns, owner: 'test-instance', pollMs: 50 });
    replies.start();
  });
  afterAll(async () => {
    await replies?.stop();
    await sender?.stop();
    await app?.close();
    await channels?.close();
    await Promise.all([fake?.close(), graph?.close()]);
    await store?.close();
  });
  const deliver = (channel: Channel, body: string) => app.inject({
    method: 'POST', url: `/webhooks/whatsapp/${channel.id}`, payload: body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) },
  });

  it('answers a burst from one contact once, after the debounce, through the outbox, with the whole burst in the context', async () => {
    const agent = await store.agents.create({ name: 'receptionist', instructions: 'Book appointments.', model: 'fake:clinic' });
    const channel = await whatsappChannel(store, graph, { agentId: agent.id, replyDebounceMs: 400 });
    fake.replies.push('Hello Ana! Which day suits you?');
    const calls = fake.requests.length;
    for (const text of ['Hi', 'I am Ana', 'I need an appointment']) expect((await deliver(channel, notification('5511900000001', text))).statusCode).toBe(200);
    await waitFor('the reply sent', () => texts(graph).includes('Hello Ana! Which day suits you?'));
    expect(fake.requests.length).toBe(calls + 1);
    expect(fake.requests.at(-1)!.body.messages.map((m: { content: string }) => m.content)).toEqual(['Book appointments.', 'Hi', 'I am Ana', 'I need an appointment']);
    const conversation = (await store.conversations.list({ channelId: channel.id })).data[0]!;
    const stored = (await store.messages.list(conversation.id)).data;
    expect(stored.map((m) => m.role)).toEqual(['user', 'user', 'user', 'assistant']);
    expect(stored[3]).toMatchObject({ sender: 'agent', usage: { agentId: agent.id, totalTokens: 15 }, metadata: { replyTo: stored[2]!.id } });
    await waitFor('the reply marked sent', async () => (await store.messages.get(stored[3]!.id))!.status === 'sent');
  });

  it('the same webhook delivered 20 times at once is stored once and answered once', async () => {
    const agent = await store.agents.create({ name: 'storm', model: 'fake:storm' });
    const channel = await whatsappChannel(store, graph, { agentId: agent.id, replyDebounceMs: 100 });
    fake.replies.push('Answered once.');
    const calls = fake.requests.length;
    const body = notification('5511900000002', 'Are you open?');
    const answers = await Promise.all(Array.from({ length: 20 }, () => deliver(channel, body)));
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
    await waitFor('the reply sent', () => texts(graph).includes('Answered once.'));
    const conversation = (await store.conversations.list({ channelId: channel.id })).data[0]!;
    await waitFor('the reply marked sent', async () => (await store.messages.list(conversation.id)).data.at(-1)!.status === 'sent');
    expect((await store.messages.list(conversation.id)).data.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(fake.requests.length).toBe(calls + 1);
    expect(texts(graph).filter((t) => t === 'Answered once.')).toHaveLength(1);
  });

  it('no automatic reply while a conversation has agentPaused; a human reply still goes out; resumed, the agent answers again', async () => {
    const agent = await store.agents.create({ name: 'pausable', model: 'fake:p' });
    const channel = await whatsappChannel(store, graph, { agentId: agent.id, replyDebounceMs: 50 });
    fake.replies.push('First answer.');
    await deliver(channel, notification('5511900000003', 'Hello'));
    await waitFor('the first reply', () => texts(graph).includes('First answer.'));
    const conversation = (await store.conversations.list({ channelId: channel.id })).data[0]!;
    const paused = await app.inject({ method: 'PATCH', url: `/v1/conversations/${conversation.id}`, payload: { agentPaused: true } });
    expect(paused.json()).toMatchObject({ agentPaused: true });
    const calls = fake.requests.length;
    await deliver(channel, notification('5511900000003', 'Can a person help me?'));
    const waiting = (await store.messages.list(conversation.id)).data.at(-1)!;
    // Scheduling is part of the webhook's acknowledgement: had a turn been scheduled, it would be there now.
    expect(await agentOps(store).turn(waiting.id)).toBeUndefined();
    await app.inject({ method: 'POST', url: `/v1/conversations/${conversation.id}/messages`, payload: { role: 'assistant', sender: 'human', content: 'Hi, this is Maria.' } });
    await waitFor('the human reply', () => texts(graph).includes('Hi, this is Maria.'));
    await replies.sweep();
    expect(fake.requests.length).toBe(calls);
    await app.inject({ method: 'PATCH', url: `/v1/conversations/${conversation.id}`, payload: { agentPaused: false } });
    fake.replies.push('The agent again.');
    await deliver(channel, notification('5511900000003', 'Thanks'));
    await waitFor('the agent answering again', () => texts(graph).includes('The agent again.'));
  });

  it('at its budget, a channel gets no reply and an agent.refused event, or the fixed reply the budget names', async () => {
    const agent = await store.agents.create({ name: 'thrifty', model: 'fake:t' });
    const channel = await whatsappChannel(store, graph, { agentId: agent.id, replyDebounceMs: 50 });
    await store.budgets.put(`agent:${agent.id}`, { dailyTokens: 10 });
    fake.replies.push('Spends the budget.');
    await deliver(channel, notification('5511900000004', 'One'));
    await waitFor('the first reply', () => texts(graph).includes('Spends the budget.'));
    const calls = fake.requests.length;
    const conversation = (await store.conversations.list({ channelId: channel.id })).data[0]!;
    await deliver(channel, notification('5511900000004', 'Two'));
    const refusedMessage = (await store.messages.list(conversation.id)).data.at(-1)!;
    await waitFor('the refusal', async () => (await agentOps(store).turn(refusedMessage.id))?.state === 'done');
    const refusals = (await store.events.list({ conversationId: conversation.id })).data.filter((e) => e.type === 'agent.refused');
    expect(refusals.map((e) => e.data)).toEqual([expect.objectContaining({ messageId: refusedMessage.id, reason: 'budget_exceeded', scope: `agent:${agent.id}` })]);
    await store.budgets.put(`agent:${agent.id}`, { dailyTokens: 10, whenExceeded: { reply: 'We are busy; a person will answer soon.' } });
    await deliver(channel, notification('5511900000004', 'Three'));
    await waitFor('the fixed reply', () => texts(graph).includes('We are busy; a person will answer soon.'));
    expect(fake.requests.length).toBe(calls);
  });

  it('a failed automatic reply (the provider down) is scheduled again, with its attempts counted', async () => {
    const agent = await store.agents.create({ name: 'flaky', model: 'fake:f' });
    const channel = await whatsappChannel(store, graph, { agentId: agent.id, replyDebounceMs: 50 });
    fake.replies.push({ status: 500, error: 'down' }, { status: 500, error: 'down' });
    await deliver(channel, notification('5511900000006', 'Hello?'));
    const conversation = (await store.conversations.list({ channelId: channel.id })).data[0]!;
    const inbound = (await store.messages.list(conversation.id)).data[0]!;
    await waitFor('the failure recorded', async () => (await agentOps(store).turn(inbound.id))?.error !== null && (await agentOps(store).turn(inbound.id))?.error !== undefined);
    const turn = (await agentOps(store).turn(inbound.id))!;
    expect(turn).toMatchObject({ state: 'scheduled', error: { code: 'upstream_error', attempts: 1 } });
    expect(turn.dueAt).toBeGreaterThan(Date.now() + 20_000);
    const errors = (await store.events.list({ conversationId: conversation.id })).data.filter((e) => e.type === 'agent.error');
    expect(errors).toHaveLength(1);
  });

  it('a stored inbound message whose turn was never scheduled (the process stopped in between) is answered by the sweep', async () => {
    const agent = await store.agents.create({ name: 'swept', model: 'fake:s' });
    const channel = await whatsappChannel(store, graph, { agentId: agent.id, replyDebounceMs: 50 });
    // Stored while nothing listened (as by a process that died before scheduling), a minute ago.
    await replies.stop();
    const { message } = await store.ingest({ channelId: channel.id, from: { address: '5511900000005' }, externalId: 'wamid.swept', content: 'Anyone?', timestamp: Date.now() - 60_000 });
    expect(await agentOps(store).turn(message.id)).toBeUndefined();
    fake.replies.push('Found you.');
    replies = createAutoReplies({ store, turns: createChatTurns({ providers: providersFrom({ COLLOQUY_PROVIDER_FAKE: fake.url }), timeoutMs: 20_000, owner: 'restarted' }), owner: 'restarted', pollMs: 50 });
    replies.start();
    await waitFor('the swept reply', () => texts(graph).includes('Found you.'));
    expect((await agentOps(store).turn(message.id))?.state).toBe('done');
  });
});
