import { generateText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providersFrom } from '../../src/agents/providers.js';
import { ColloquyError, openStore, type Store } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { startFakeOpenAICompatible } from '../fakes/fake-openai-compatible.js';

describe('model providers', () => {
  it('knows openai, anthropic and the OpenAI-compatible servers declared in the environment, case-insensitively', () => {
    const providers = providersFrom({ OPENAI_API_KEY: 'sk-test', COLLOQUY_PROVIDER_OLLAMA: 'http://127.0.0.1:11434/v1', COLLOQUY_PROVIDER_Groq2: 'https://user:pw@api.example.com/v1', COLLOQUY_PROVIDER_GROQ2_KEY: 'k' });
    expect(providers.list().map((p) => [p.name, p.kind, p.ready])).toEqual([
      ['openai', 'openai', true], ['anthropic', 'anthropic', false], ['ollama', 'openai-compatible', true], ['groq2', 'openai-compatible', true],
    ]);
    expect(JSON.stringify(providers.list())).not.toMatch(/sk-test|pw@|"k"/);
    expect(providers.status('anthropic:claude-sonnet-4-5')).toEqual({ ready: false, reason: 'ANTHROPIC_API_KEY is not set: set it to use anthropic models' });
    expect(providers.status('OLLAMA:llama3.2')).toEqual({ ready: true, reason: null });
    for (const bad of ['gpt-4o', 'mistral:large', ':x', 'openai:']) {
      const error = (() => { try { providers.check(bad); } catch (e) { return e; } return undefined; })();
      expect(error, bad).toBeInstanceOf(ColloquyError);
      expect((error as ColloquyError).code).toBe('invalid_argument');
      expect((error as ColloquyError).message).toMatch(/known provider \(openai, anthropic, ollama, groq2\)/);
    }
    expect(() => providersFrom({ COLLOQUY_PROVIDER_OPENAI: 'http://x' })).toThrow(/cannot redefine the built-in provider openai/);
    expect(() => providersFrom({ COLLOQUY_PROVIDER_X: 'not a url' })).toThrow(/is not a URL/);
  });

  it('makes real AI SDK models: generateText reaches an OpenAI-compatible server with its key; a missing key is provider_not_configured', async () => {
    const fake = await startFakeOpenAICompatible();
    try {
      const providers = providersFrom({ COLLOQUY_PROVIDER_LOCAL: fake.url, COLLOQUY_PROVIDER_LOCAL_KEY: 'local-key' });
      fake.replies.push('Olá! Com qual médico?');
      const result = await generateText({ model: await providers.languageModel('local:llama3.2'), prompt: 'Quero marcar uma consulta' });
      expect(result.text).toBe('Olá! Com qual médico?');
      expect(result.usage).toMatchObject({ inputTokens: 12, outputTokens: 3 });
      expect(fake.requests[0]).toMatchObject({ authorization: 'Bearer local-key', body: { model: 'llama3.2' } });
      await expect(providers.languageModel('openai:gpt-4o-mini')).rejects.toMatchObject({ code: 'provider_not_configured', message: expect.stringMatching(/OPENAI_API_KEY/) });
    } finally {
      await fake.close();
    }
  });

  describe('over HTTP', () => {
    let store: Store;
    let app: App;
    beforeAll(async () => {
      store = await openStore({ url: 'sqlite::memory:' });
      app = await buildApp({ store, logger: false, providers: providersFrom({ COLLOQUY_PROVIDER_LOCAL: 'http://127.0.0.1:9/v1' }) });
    });
    afterAll(async () => {
      await app?.close();
      await store?.close();
    });

    it('refuses a model of no known provider at create and update (400, naming them), and says on each agent whether it can run', async () => {
      const refused = await app.inject({ method: 'POST', url: '/v1/agents', payload: { name: 'a', model: 'gpt-4o' } });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error).toMatchObject({ code: 'invalid_argument', details: { providers: ['openai', 'anthropic', 'local'] } });
      const waiting = await app.inject({ method: 'POST', url: '/v1/agents', payload: { name: 'b', model: 'openai:gpt-4o-mini' } });
      expect(waiting.statusCode).toBe(201);
      expect(waiting.json()).toMatchObject({ model: 'openai:gpt-4o-mini', ready: false, readyReason: expect.stringMatching(/OPENAI_API_KEY/) });
      const local = (await app.inject({ method: 'PATCH', url: `/v1/agents/${waiting.json().id}`, payload: { model: 'local:llama3.2' } })).json();
      expect(local).toMatchObject({ model: 'local:llama3.2', ready: true, readyReason: null });
      expect((await app.inject({ method: 'PATCH', url: `/v1/agents/${waiting.json().id}`, payload: { model: 'nope' } })).statusCode).toBe(400);
      expect((await app.inject({ url: '/v1/agents' })).json().data[0]).toMatchObject({ ready: true });
      const detailed = (await app.inject({ url: '/health/detailed' })).json();
      expect(detailed.providers).toMatchObject({ openai: { ready: false }, local: { kind: 'openai-compatible', ready: true, baseUrl: 'http://127.0.0.1:9/v1' } });
    });
  });
});
