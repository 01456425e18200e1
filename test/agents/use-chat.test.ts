import { DefaultChatTransport, generateText, readUIMessageStream, type UIMessage } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providersFrom } from '../../src/agents/providers.js';
import { openStore, toModelMessages, type Store } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { startFakeOpenAICompatible } from '../fakes/fake-openai-compatible.js';

describe("the AI SDK's own chat client against Colloquy", () => {
  let store: Store;
  let app: App;
  let fake: Awaited<ReturnType<typeof startFakeOpenAICompatible>>;
  let base: string;
  beforeAll(async () => {
    store = await openStore({ url: 'sqlite::memory:' });
    fake = await startFakeOpenAICompatible();
    app = await buildApp({ store, logger: false, providers: providersFrom({ COLLOQUY_PROVIDER_FAKE: fake.url }) });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await fake?.close();
    await store?.close();
  });

  it('DefaultChatTransport (what useChat sends and reads) gets the assistant message, turn after turn, in one conversation', async () => {
    const agent = await store.agents.create({ name: 'web', model: 'fake:web' });
    const transport = new DefaultChatTransport<UIMessage>({ api: `${base}/v1/agents/${agent.id}/chat` });
    const messages: UIMessage[] = [];
    const say = async (id: string, text: string) => {
      messages.push({ id, role: 'user', parts: [{ type: 'text', text }] });
      const stream = await transport.sendMessages({ chatId: 'browser-chat-7', trigger: 'submit-message', messageId: undefined, messages, abortSignal: undefined });
      let last: UIMessage | undefined;
      for await (const message of readUIMessageStream({ stream, terminateOnError: true })) last = message;
      messages.push(last!);
      return last!;
    };
    fake.replies.push('Hello! How can I help?', 'Tuesday at 10 is free.');
    const first = await say('u1', 'Hi');
    expect(first).toMatchObject({ role: 'assistant', parts: expect.arrayContaining([expect.objectContaining({ type: 'text', text: 'Hello! How can I help?' })]) });
    expect(first.metadata).toMatchObject({ conversationId: expect.any(String), assistantMessageId: expect.any(String), usage: { totalTokens: 15 } });
    const second = await say('u2', 'Tuesday?');
    expect(second.parts).toContainEqual(expect.objectContaining({ type: 'text', text: 'Tuesday at 10 is free.' }));
    const conversation = await store.conversations.get((first.metadata as { conversationId: string }).conversationId);
    expect(conversation).toMatchObject({ chatId: 'browser-chat-7' });
    expect((await store.messages.list(conversation!.id)).data.map((m) => m.content)).toEqual(['Hi', 'Hello! How can I help?', 'Tuesday?', 'Tuesday at 10 is free.']);
  });

  it("the README's own-code example: context in, the answer and its usage back into the ledger", async () => {
    const model = new MockLanguageModelV3({
      doGenerate: async () => ({ content: [{ type: 'text', text: 'Which day?' }], finishReason: { unified: 'stop', raw: 'stop' }, warnings: [],
        usage: { inputTokens: { total: 40, noCache: 40, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 4, text: 4, reasoning: 0 } } }),
    });
    const conversation = await store.conversations.create();
    await store.messages.append(conversation.id, { role: 'system', content: 'You book appointments.' });
    await store.messages.append(conversation.id, { role: 'user', content: 'Hi! I need an appointment.', idempotencyKey: 'msg-1' });
    const window = await store.context(conversation.id, { maxTokens: 8000 });
    expect(window.system).toBe('You book appointments.');
    expect(window.messages).toEqual(toModelMessages((await store.messages.list(conversation.id)).data));
    const result = await generateText({ model, ...(window.system ? { system: window.system } : {}), messages: window.messages });
    await store.messages.append(conversation.id, { role: 'assistant', content: result.text, usage: { model: 'openai:gpt-4o-mini', inputTokens: result.usage.inputTokens ?? 0, outputTokens: result.usage.outputTokens ?? 0 } });
    expect(model.doGenerateCalls[0]!.prompt).toEqual([
      { role: 'system', content: 'You book appointments.' },
      { role: 'user', content: [{ type: 'text', text: 'Hi! I need an appointment.' }] },
    ]);
    const report = await store.usage.report({ groupBy: 'conversation' });
    expect(report.groups).toContainEqual(expect.objectContaining({ key: conversation.id, calls: 1, inputTokens: 40, outputTokens: 4, totalTokens: 44 }));
  });
});
