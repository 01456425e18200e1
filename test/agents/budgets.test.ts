import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providersFrom } from '../../src/agents/providers.js';
import { budgetDay } from '../../src/domain/budget.js';
import { openStore, type Store } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { startFakeOpenAICompatible } from '../fakes/fake-openai-compatible.js';
import { postgresAvailable, POSTGRES_URL, throwawaySchema } from '../helpers/services.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAICompatible>>;

describe('budget days', () => {
  it('start at midnight in the budget timezone, across offsets and daylight-saving changes', () => {
    const at = Date.parse('2026-03-29T12:00:00Z'); // Europe/Lisbon moves to summer time that night
    expect(budgetDay(at, 'UTC')).toEqual({ day: '2026-03-29', start: Date.parse('2026-03-29T00:00:00Z'), end: Date.parse('2026-03-30T00:00:00Z') });
    expect(budgetDay(at, 'Europe/Lisbon')).toEqual({ day: '2026-03-29', start: Date.parse('2026-03-29T00:00:00Z'), end: Date.parse('2026-03-29T23:00:00Z') });
    expect(budgetDay(Date.parse('2026-12-01T02:00:00Z'), 'America/Sao_Paulo')).toMatchObject({ day: '2026-11-30', start: Date.parse('2026-11-30T03:00:00Z') });
    expect(budgetDay(Date.parse('2026-12-01T20:00:00Z'), 'Asia/Kolkata')).toMatchObject({ day: '2026-12-02', start: Date.parse('2026-12-01T18:30:00Z') });
    // Santiago's summer time begins at midnight on 2024-09-08: that day starts at 01:00 local (04:00 UTC), and the
    // last hour of the 7th is still the 7th, with its reset ahead.
    const santiago = budgetDay(Date.parse('2024-09-08T03:30:00Z'), 'America/Santiago');
    expect(santiago).toEqual({ day: '2024-09-07', start: Date.parse('2024-09-07T04:00:00Z'), end: Date.parse('2024-09-08T04:00:00Z') });
    expect(budgetDay(Date.parse('2024-09-08T04:00:00Z'), 'America/Santiago')).toMatchObject({ day: '2024-09-08', start: Date.parse('2024-09-08T04:00:00Z'), end: Date.parse('2024-09-09T03:00:00Z') });
  });
});

describe('budgets', () => {
  let dir: string;
  let fake: Fake;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'colloquy-budgets-'));
    fake = await startFakeOpenAICompatible();
  });
  afterAll(async () => {
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = async (url: string, schema?: string) => {
    const store = await openStore({ url, ...(schema ? { schema } : {}) });
    const app = await buildApp({ store, logger: false, providers: providersFrom({ COLLOQUY_PROVIDER_FAKE: fake.url }) });
    return { store, app, close: async () => { await app.close(); await store.close(); } };
  };
  const chat = (app: App, agentId: string, content: string) => app.inject({ method: 'POST', url: `/v1/agents/${agentId}/chat`, payload: { message: { content } } });

  it('are set, read and removed per scope, and refuse what is not one', async () => {
    const { app, store, close } = await open('sqlite::memory:');
    try {
      const agent = await store.agents.create({ name: 'a', model: 'fake:x' });
      expect((await app.inject({ method: 'GET', url: '/v1/budgets/tenant' })).statusCode).toBe(404);
      const put = await app.inject({ method: 'PUT', url: `/v1/budgets/agent:${agent.id}`, payload: { dailyTokens: 1000, timezone: 'Europe/Lisbon' } });
      expect(put.statusCode).toBe(200);
      expect(put.json()).toMatchObject({ scope: `agent:${agent.id}`, dailyTokens: 1000, timezone: 'Europe/Lisbon' });
      expect((await app.inject({ method: 'GET', url: `/v1/budgets/agent:${agent.id}` })).json()).toMatchObject({ dailyTokens: 1000 });
      expect((await app.inject({ method: 'GET', url: '/v1/budgets' })).json().data).toHaveLength(1);
      for (const [url, payload] of [
        ['/v1/budgets/team', { dailyTokens: 1 }], ['/v1/budgets/tenant', { dailyTokens: -1 }], ['/v1/budgets/tenant', { timezone: 'Mars/Olympus' }],
        ['/v1/budgets/tenant', { whenExceeded: 'shout' }], ['/v1/budgets/tenant', { economyAt: 2 }],
      ] as const) {
        const res = await app.inject({ method: 'PUT', url, payload });
        expect(res.statusCode, url + JSON.stringify(payload)).toBe(400);
      }
      expect((await app.inject({ method: 'PUT', url: '/v1/budgets/agent:0190a0a0-0000-7000-8000-000000000000', payload: { dailyTokens: 1 } })).statusCode).toBe(404);
      expect((await app.inject({ method: 'DELETE', url: `/v1/budgets/agent:${agent.id}` })).statusCode).toBe(204);
      expect((await app.inject({ method: 'DELETE', url: `/v1/budgets/agent:${agent.id}` })).statusCode).toBe(404);
    } finally {
      await close();
    }
  });

  it('switch to economy mode near the limit and refuse at it, counted in the database across a restart', async () => {
    const url = `sqlite:${join(dir, 'budget.db')}`;
    let opened = await open(url);
    const agent = await opened.store.agents.create({ name: 'clinic', model: 'fake:full', params: { maxContextTokens: 4000 } });
    // Each turn costs 15 tokens (the fake's usage): 2 turns = 30 of 36 = 83% ≥ economyAt 0.8.
    await opened.app.inject({ method: 'PUT', url: `/v1/budgets/agent:${agent.id}`, payload: { dailyTokens: 36, economy: { model: 'fake:cheap', maxOutputTokens: 50, lastMessages: 2 } } });
    for (const content of ['one', 'two']) expect((await chat(opened.app, agent.id, content)).statusCode).toBe(200);
    expect(fake.requests.at(-1)!.body.model).toBe('full');
    const economy = await chat(opened.app, agent.id, 'three');
    expect(economy.statusCode).toBe(200);
    expect(fake.requests.at(-1)!.body).toMatchObject({ model: 'cheap', max_tokens: 50 });
    expect(economy.json().assistantMessage).toMatchObject({ metadata: { economy: true }, usage: { model: 'fake:cheap' } });
    const events = (await opened.store.events.list({})).data.filter((e) => e.type.startsWith('budget.'));
    expect(events.map((e) => e.type)).toEqual(['budget.economy']);
    // A restart forgets nothing: 45 of 36 tokens are spent.
    await opened.close();
    opened = await open(url);
    try {
      const calls = fake.requests.length;
      const refused = await chat(opened.app, agent.id, 'four');
      expect(refused.statusCode).toBe(429);
      expect(refused.json().error).toMatchObject({ code: 'budget_exceeded', details: { scope: `agent:${agent.id}`, resetAt: new Date(budgetDay(Date.now(), 'UTC').end).toISOString() } });
      expect(fake.requests.length).toBe(calls);
      await chat(opened.app, agent.id, 'five');
      const marks = (await opened.store.events.list({})).data.filter((e) => e.type.startsWith('budget.')).map((e) => e.type);
      expect(marks).toEqual(['budget.economy', 'budget.exceeded']);
      const usage = (await opened.app.inject({ method: 'GET', url: '/v1/usage?groupBy=model' })).json();
      expect(usage.groups.map((g: { key: string; totalTokens: number }) => [g.key, g.totalTokens])).toEqual([['fake:full', 30], ['fake:cheap', 15]]);
      expect(usage.total).toMatchObject({ calls: 3, totalTokens: 45 });
    } finally {
      await opened.close();
    }
  });

  it('hold across two instances: 20 turns, 8 at a time, overshoot by at most the turns in flight, then both refuse', async (context) => {
    if (!(await postgresAvailable())) return context.skip();
    const { schema, drop } = await throwawaySchema();
    const a = await open(POSTGRES_URL, schema);
    const b = await open(POSTGRES_URL, schema);
    try {
      const agent = await a.store.agents.create({ name: 'fleet', model: 'fake:fleet' });
      await a.app.inject({ method: 'PUT', url: '/v1/budgets/tenant', payload: { dailyTokens: 60, economyAt: 1 } });
      // 20 turns, by 4 workers on each instance: at most 8 in flight at any time.
      let next = 0;
      const answers: Array<{ statusCode: number }> = [];
      const worker = async (app: App) => {
        while (next < 20) answers.push(await chat(app, agent.id, `turn ${next++}`));
      };
      await Promise.all([a.app, b.app].flatMap((app) => Array.from({ length: 4 }, () => worker(app))));
      expect(answers.filter((r) => r.statusCode !== 200 && r.statusCode !== 429)).toEqual([]);
      const served = answers.filter((r) => r.statusCode === 200).length;
      const spent = (await a.store.usage.report({ groupBy: 'agent' })).total.totalTokens;
      expect(spent).toBe(served * 15);
      // A turn starts only while less than the limit is spent, and at most 7 others are running then: each adds 15.
      expect(spent).toBeGreaterThanOrEqual(60);
      expect(spent).toBeLessThan(60 + 8 * 15);
      expect(served).toBeLessThan(20);
      for (const app of [a.app, b.app]) expect((await chat(app, agent.id, 'after')).statusCode).toBe(429);
    } finally {
      await a.close();
      await b.close();
      await drop();
    }
  });
});
