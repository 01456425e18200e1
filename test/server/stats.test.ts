import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { buildApp } from '../../src/server/app.js';

describe('the stats API', () => {
  it('draws channel traffic and usage per minute, hour and day from the rollups, every bucket present', async () => {
    let now = Date.parse('2026-11-30T22:10:00Z');
    const store = await openStore({ url: 'sqlite::memory:', clock: () => now });
    const app = await buildApp({ store, logger: false });
    try {
      const [a, b] = await Promise.all(['a', 'b'].map((name) => store.channels.create({ kind: 'whatsapp', name, config: { phoneNumberId: name === 'a' ? '1081' : '1082' } })));
      const agent = await store.agents.create({ name: 'bot', model: 'openai:gpt-4o-mini' });
      let n = 0;
      const inbound = (channelId: string, externalId = `wamid.s${++n}`) =>
        app.inject({ method: 'POST', url: '/v1/inbound', payload: { channelId, from: { address: `55119000${n}` }, externalId, content: 'oi' } });
      // 22:10: two on a, one duplicate; 22:12: one on b; next day 01:30 (UTC): one on a.
      await inbound(a!.id, 'wamid.x');
      await inbound(a!.id, 'wamid.x');
      const first = (await inbound(a!.id)).json();
      await app.channels.traffic.flush();
      now += 2 * 60_000;
      await inbound(b!.id);
      await store.messages.append(first.conversation.id, { role: 'assistant', content: 'Olá', usage: { model: 'openai:gpt-4o-mini', agentId: agent.id, inputTokens: 10, outputTokens: 5, cost: 0.01 } });
      await app.channels.traffic.flush();
      now = Date.parse('2026-12-01T01:30:00Z');
      await inbound(a!.id);
      await store.messages.append(first.conversation.id, { role: 'assistant', content: 'De novo', usage: { model: 'openai:gpt-4o-mini', inputTokens: 1, outputTokens: 1 } });
      await app.channels.traffic.flush();

      const get = async (url: string) => {
        const response = await app.inject({ method: 'GET', url });
        expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
        return response.json();
      };
      const minutes = await get('/v1/stats/messages?bucket=1m&from=2026-11-30T22:09:00Z&to=2026-11-30T22:14:00Z');
      expect(minutes.series.map((p: { at: string }) => p.at.slice(11, 16))).toEqual(['22:09', '22:10', '22:11', '22:12', '22:13']);
      expect(minutes.series.map((p: { received: number; stored: number; duplicates: number }) => [p.received, p.stored, p.duplicates])).toEqual([[0, 0, 0], [3, 2, 1], [0, 0, 0], [1, 1, 0], [0, 0, 0]]);
      expect(minutes.series[1].conversationsCreated).toBe(2);
      const onlyB = await get(`/v1/stats/messages?bucket=1m&from=2026-11-30T22:09:00Z&to=2026-11-30T22:14:00Z&channelId=${b!.id}`);
      expect(onlyB.series.map((p: { received: number }) => p.received)).toEqual([0, 0, 0, 1, 0]);
      // Days in São Paulo (UTC−3): 01:30 UTC on the 1st is still the 30th there.
      const days = await get('/v1/stats/messages?bucket=1d&from=2026-11-29T12:00:00Z&to=2026-12-01T12:00:00Z&timezone=America/Sao_Paulo');
      expect(days.series.map((p: { at: string; received: number }) => [p.at, p.received])).toEqual([
        ['2026-11-29T03:00:00.000Z', 0], ['2026-11-30T03:00:00.000Z', 5], ['2026-12-01T03:00:00.000Z', 0],
      ]);
      const hours = await get('/v1/stats/usage?bucket=1h&from=2026-11-30T22:00:00Z&to=2026-12-01T02:00:00Z');
      expect(hours.series.map((p: { totalTokens: number }) => p.totalTokens)).toEqual([15, 0, 0, 2]);
      expect(hours.series[0].cost).toBe(0.01);
      const byAgent = await get(`/v1/stats/usage?bucket=1h&from=2026-11-30T22:00:00Z&to=2026-12-01T02:00:00Z&agentId=${agent.id}`);
      expect(byAgent.series.map((p: { calls: number }) => p.calls)).toEqual([1, 0, 0, 0]);
      // A range starting yesterday, ending now (the usage report took such a `from` for a message's time, 400).
      expect((await get('/v1/usage?from=2026-11-30T00:00:00Z&groupBy=agent')).total).toMatchObject({ calls: 2, totalTokens: 17 });
      // The defaults: hours over the last week, ending now.
      expect((await get('/v1/stats/messages')).series).toHaveLength(7 * 24 + 1);
      for (const bad of ['bucket=1m&from=2026-01-01T00:00:00Z', 'bucket=5m', 'from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z', 'bucket=1d&timezone=Mars/Olympus', 'channelId=nope']) {
        const response = await app.inject({ method: 'GET', url: `/v1/stats/messages?${bad}` });
        expect(response.statusCode, bad).toBe(400);
      }
    } finally {
      await app.close();
      await store.close();
    }
  });
});
