import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doctor } from '../../src/cli/doctor.js';
import { channelOps } from '../../src/store/channel-ops.js';
import { buildApp, type App } from '../../src/server/app.js';
import { openStore, type Store } from '../../src/index.js';
import { startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api.js';

const HOUR = 3_600_000;

describe('channel health from real traffic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-health-'));
  const url = `sqlite:${join(dir, 'health.db')}`;
  let now = Date.now();
  let store: Store;
  let app: App;
  let graph: FakeGraphApi;
  beforeAll(async () => {
    graph = await startFakeGraphApi();
    store = await openStore({ url, clock: () => now });
    app = await buildApp({ store, logger: false });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await graph?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const health = async (id: string) => (await app.inject({ url: `/v1/channels/${id}` })).json().health;

  it('says not_configured, and what is missing, until the channel has what it needs', async () => {
    const bare = await store.channels.create({ kind: 'whatsapp', name: 'bare' });
    const h = await health(bare.id);
    expect(h.status).toBe('not_configured');
    expect(h.reasons[0]).toMatch(/secrets\.appSecret, secrets\.accessToken, secrets\.verifyToken, config\.phoneNumberId/);
    await store.channels.update(bare.id, { config: { phoneNumberId: '1' }, secrets: { appSecret: 'a', accessToken: 't', verifyToken: 'v' } });
    app.channels.changed(bare.id);
    expect((await health(bare.id)).status).toBe('ok');
  });

  it('goes stale when nothing arrived for staleAfterSeconds, back to ok with the next message; each transition is one event', async () => {
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'quiet', config: { phoneNumberId: '1', staleAfterSeconds: 3600 }, secrets: { appSecret: 'a', accessToken: 't', verifyToken: 'v' } });
    const ingest = (id: string) => app.inject({ method: 'POST', url: '/v1/inbound', payload: { channelId: channel.id, from: { address: '5511900000001' }, externalId: id, content: 'oi' } });
    await ingest('w1');
    expect(await health(channel.id)).toMatchObject({ status: 'ok', counters: { received: 1, stored: 1 }, lastInboundAt: new Date(now).toISOString() });
    now += 2 * HOUR;
    const stale = await health(channel.id);
    expect(stale).toMatchObject({ status: 'stale', since: new Date(now).toISOString() });
    expect(stale.reasons[0]).toMatch(/nothing has arrived for 2 h/);
    expect((await health(channel.id)).status).toBe('stale');
    await ingest('w2');
    expect((await health(channel.id)).status).toBe('ok');
    const transitions = (await store.events.list({ limit: 1000 })).data.filter((e) => e.type === 'channel.health' && e.data.channelId === channel.id).map((e) => [e.data.previous, e.data.status]);
    expect(transitions).toEqual([[null, 'ok'], ['ok', 'stale'], ['stale', 'ok']]);
    // staleAfterSeconds 0: never stale.
    await store.channels.update(channel.id, { config: { staleAfterSeconds: 0 } });
    now += 48 * HOUR;
    expect((await health(channel.id)).status).toBe('ok');
  });

  it('is failing after a token error, in /health/detailed, /metrics and colloquy doctor (which fails)', async () => {
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'expired', config: { phoneNumberId: '1', staleAfterSeconds: 0 }, secrets: { appSecret: 'a', accessToken: 't', verifyToken: 'v' } });
    expect((await doctor(url)).ok).toBe(true);
    await channelOps(store).addTraffic(channel.id, {
      counts: { sendFailed: 1 }, sendErrors: { 190: 1 }, recentErrors: [{ code: '190', title: 'Session has expired', source: 'send', at: now }],
      lastInboundAt: null, lastOutboundAt: null, tokenError: 'set',
    });
    const h = await health(channel.id);
    expect(h).toMatchObject({ status: 'failing', sendErrors: { 190: 1 }, recentErrors: [{ code: '190', source: 'send' }] });
    expect(h.reasons[0]).toMatch(/refused the channel's token/);
    const detailed = (await app.inject({ url: '/health/detailed' })).json();
    expect(detailed.channels[channel.id]).toMatchObject({ tenant: 'default', kind: 'whatsapp', name: 'expired', status: 'failing', sendFailed: 1 });
    const metrics = (await app.inject({ url: '/metrics' })).body;
    expect(metrics).toContain(`colloquy_channel_status{channel="${channel.id}",kind="whatsapp",status="failing"} 1`);
    expect(metrics).toContain(`colloquy_outbox_depth{channel="${channel.id}"} 0`);
    const checked = await doctor(url);
    expect(checked.ok).toBe(false);
    expect(checked.checks.find((c) => c.name === 'channel')!.detail).toMatch(/default\/expired .* is failing: the provider refused the channel's token/);
  });
});
