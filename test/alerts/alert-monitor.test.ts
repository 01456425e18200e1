import { createServer, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertMonitor } from '../../src/alerts/alert-monitor.js';
import { createMailer, type Mailer } from '../../src/alerts/mailer.js';
import { createHealthMonitor } from '../../src/channels/channel-health.js';
import { createChannelRuntime } from '../../src/channels/channel-runtime.js';
import { openStore, type Store } from '../../src/index.js';
import { buildApp } from '../../src/server/app.js';
import { channelOps } from '../../src/store/channel-ops.js';
import { scopeOfStore } from '../../src/store/store.js';
import { webhookOps } from '../../src/store/webhook-ops.js';
import { startFakeSmtp } from '../fakes/fake-smtp.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const MINUTE = 60_000;

/** A store on a clock the test moves, its channel runtime, health monitor and alert monitor, e-mailing `mailer`. */
async function rig(url: string, mailer: Mailer | undefined, extra: { adminEmails?: string[]; selfCheckMs?: number } = {}) {
  let now = Date.parse('2026-12-01T12:00:00Z');
  const store = await openStore({ url, clock: () => now });
  const channels = createChannelRuntime({ store });
  const health = createHealthMonitor(channels);
  const alerts = createAlertMonitor({ store, health, mailer, selfCheckMs: 0, ...extra });
  return {
    store, channels, health, alerts,
    advance: (ms: number) => (now += ms),
    now: () => now,
    async close() {
      await alerts.stop();
      await channels.close();
      await store.close();
    },
  };
}

describe('alerts', () => {
  let smtp: Awaited<ReturnType<typeof startFakeSmtp>>;
  let mailer: Mailer;
  beforeAll(async () => {
    smtp = await startFakeSmtp();
    mailer = createMailer(smtp.url, 'Colloquy <alerts@colloquy.test>');
  });
  afterAll(async () => {
    mailer.close();
    await smtp.close();
  });

  it('raises a stale channel once, keeps it through a flap, resolves it once after the hold-down, and e-mails both', async () => {
    const r = await rig('sqlite::memory:', mailer);
    try {
      const { store } = r;
      await store.alerts.setSettings({ emails: ['ops@clinic.test'] });
      await store.alerts.setRules({ 'channel.stale': { holdDownSeconds: 600 } });
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'clinic', config: { phoneNumberId: '1065', staleAfterSeconds: 300 }, secrets: { accessToken: 't', appSecret: 's', verifyToken: 'v' } });
      const inbound = () => channelOps(store).addTraffic(channel.id, { counts: { received: 1, stored: 1 }, sendErrors: {}, recentErrors: [], lastInboundAt: r.now(), lastOutboundAt: null });
      await r.alerts.check();
      expect((await store.alerts.list()).data).toEqual([]);
      r.advance(10 * MINUTE); // nothing arrived for 10 min: stale
      for (let i = 0; i < 3; i++) await r.alerts.check();
      const open = (await store.alerts.list({ status: 'open' })).data;
      expect(open).toEqual([expect.objectContaining({ rule: 'channel.stale', subject: channel.id, severity: 'warning', message: expect.stringMatching(/clinic.*stale/) })]);
      await waitFor('the raised alert e-mailed', () => smtp.mails.length >= 1);
      expect(smtp.mails[0]).toMatchObject({ to: ['ops@clinic.test'], subject: expect.stringMatching(/^\[Colloquy\] warning: Channel "clinic"/) });

      // A message arrives (clear), the channel goes quiet again within the hold-down (back): still the one alert.
      await inbound();
      await r.alerts.check();
      r.advance(6 * MINUTE);
      await r.alerts.check(); // stale again: the hold-down starts over once it clears
      await inbound();
      await r.alerts.check(); // clear from here
      r.advance(9 * MINUTE);
      await inbound();
      await r.alerts.check(); // clear for 9 min of the 10
      expect((await store.alerts.list({ status: 'open' })).data.map((a) => a.id)).toEqual([open[0]!.id]);
      r.advance(2 * MINUTE);
      await inbound();
      await r.alerts.check();
      await r.alerts.check();
      const all = (await store.alerts.list()).data;
      expect(all).toEqual([expect.objectContaining({ id: open[0]!.id, status: 'resolved' })]);
      const types = (await store.events.list({ limit: 1000 })).data.map((e) => e.type).filter((t) => t.startsWith('alert.'));
      expect(types).toEqual(['alert.raised', 'alert.resolved']);
      await waitFor('the resolution e-mailed', () => smtp.mails.length >= 2);
      expect(smtp.mails[1]!.subject).toMatch(/^\[Colloquy\] resolved: /);
      expect(smtp.mails).toHaveLength(2);
    } finally {
      await r.close();
    }
  });

  it('raises outbox, webhook, budget and ingest-error alerts from their conditions, per the rules in force', async () => {
    const r = await rig('sqlite::memory:', undefined);
    try {
      const { store } = r;
      const s = scopeOfStore(store);
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'shop', config: { phoneNumberId: '1066', staleAfterSeconds: 0 }, secrets: { accessToken: 't', appSecret: 's', verifyToken: 'v' } });
      const ops = channelOps(store);
      // Ingest errors: 12 of 40 received in the window.
      await ops.addTraffic(channel.id, { counts: { received: 10 }, sendErrors: {}, recentErrors: [], lastInboundAt: r.now(), lastOutboundAt: null });
      // A reply waiting in the outbox (no sender runs here).
      const inbound = await store.ingest({ channelId: channel.id, from: { address: '5511999990000' }, externalId: 'wamid.alert1', content: 'oi' });
      await store.messages.append(inbound.conversation.id, { role: 'assistant', content: 'Olá!' });
      await r.alerts.check();
      r.advance(6 * MINUTE);
      await ops.addTraffic(channel.id, { counts: { received: 40, errors: 12 }, sendErrors: {}, recentErrors: [], lastInboundAt: r.now(), lastOutboundAt: null });
      // A webhook endpoint whose retries ran out, and a budget exceeded today.
      const endpoint = await store.webhooks.create({ url: 'https://203.0.113.5/hook', events: ['*'] });
      const record = (await webhookOps(store).claim(store.tenantId, endpoint.id, 'x', MINUTE))!;
      await webhookOps(store).progress(store.tenantId, record, 'x', { deliveredTo: record.deliveredTo, attempts: 80, failingSince: r.now() - 3 * 86_400_000, nextAttemptAt: 0, lastError: { error: 'HTTP 500' }, lastSuccessAt: null, disable: 'retries ran out' }, []);
      const retrying = await store.webhooks.create({ url: 'https://203.0.113.6/hook', events: ['*'] });
      const second = (await webhookOps(store).claim(store.tenantId, retrying.id, 'x', MINUTE))!;
      await webhookOps(store).progress(store.tenantId, second, 'x', { deliveredTo: second.deliveredTo, attempts: 5, failingSince: r.now() - MINUTE, nextAttemptAt: r.now() + MINUTE, lastError: { error: 'HTTP 502' }, lastSuccessAt: null }, []);
      await store.budgets.put('tenant', { dailyTokens: 1000 });
      await s.backend.budgets.mark(store.tenantId, 'tenant', 'exceeded', '2026-12-01', {}, r.now());
      // An agent's budget in economy mode today, and a channel whose token Meta refused.
      const agent = await store.agents.create({ name: 'frugal', model: 'openai:gpt-4o-mini' });
      await store.budgets.put(`agent:${agent.id}`, { dailyTokens: 1000 });
      await s.backend.budgets.mark(store.tenantId, `agent:${agent.id}`, 'economy', '2026-12-01', {}, r.now());
      const expired = await store.channels.create({ kind: 'whatsapp', name: 'expired', config: { phoneNumberId: '1067', staleAfterSeconds: 0 }, secrets: { accessToken: 't', appSecret: 's', verifyToken: 'v' } });
      await ops.addTraffic(expired.id, { counts: { sendFailed: 1 }, sendErrors: { 190: 1 }, recentErrors: [{ code: '190', title: 'Session has expired', source: 'send', at: r.now() }], lastInboundAt: null, lastOutboundAt: null, tokenError: 'set' });
      await r.alerts.check();
      const rules = (await store.alerts.list({ status: 'open' })).data.map((a) => [a.rule, a.subject]).sort();
      expect(rules).toEqual([['budget.economy', `agent:${agent.id}`], ['budget.exceeded', 'tenant'], ['channel.failing', expired.id], ['ingest.errors', channel.id], ['outbox.backlog', channel.id], ['webhook.disabled', endpoint.id], ['webhook.failing', retrying.id]].sort());
      expect((await store.alerts.list({ status: 'open' })).data.find((a) => a.rule === 'channel.failing')!.message).toMatch(/expired.*is failing: .*token/);
      // A rule turned off resolves its alert (after its hold-down: 0 for budgets).
      await store.alerts.setRules({ 'budget.exceeded': { enabled: false }, 'budget.economy': { enabled: false } });
      await r.alerts.check();
      expect((await store.alerts.list({ status: 'open' })).data.map((a) => a.rule).sort()).toEqual(['channel.failing', 'ingest.errors', 'outbox.backlog', 'webhook.disabled', 'webhook.failing']);
      // Alerts reach webhooks and streams as events carrying the alert itself.
      const app = await buildApp({ store, logger: false });
      try {
        const page = await app.inject({ method: 'GET', url: '/v1/events?include=data&limit=200', headers: { accept: 'application/json' } });
        const raised = page.json().data.filter((e: { type: string }) => e.type === 'alert.raised');
        expect(raised.map((e: { data: { rule: string; status: string } }) => e.data.rule).sort()).toEqual(['budget.economy', 'budget.exceeded', 'channel.failing', 'ingest.errors', 'outbox.backlog', 'webhook.disabled', 'webhook.failing']);
        expect(raised[0].data).toMatchObject({ id: expect.any(String), message: expect.any(String), raisedAt: expect.any(String) });
        const listed = await app.inject({ method: 'GET', url: '/v1/alerts?status=open' });
        expect(listed.json().data).toHaveLength(5);
        expect((await app.inject({ method: 'GET', url: '/v1/alerts/rules' })).json().rules['budget.exceeded'].enabled).toBe(false);
        expect((await app.inject({ method: 'PUT', url: '/v1/alerts/rules', payload: { 'outbox.backlog': { thresholdSeconds: 'soon' } } })).statusCode).toBe(400);
        expect((await app.inject({ method: 'GET', url: `/v1/alerts/${listed.json().data[0].id}` })).json().status).toBe('open');
        expect((await app.inject({ method: 'GET', url: '/v1/alerts/0190e1b2-0000-7000-8000-000000000000' })).statusCode).toBe(404);
        // Where they are e-mailed, over HTTP: set, read back, refused when not addresses.
        expect((await app.inject({ method: 'PUT', url: '/v1/alerts/settings', payload: { emails: ['ops@shop.test', 'owner@shop.test'] } })).json()).toEqual({ emails: ['ops@shop.test', 'owner@shop.test'] });
        expect((await app.inject({ method: 'GET', url: '/v1/alerts/settings' })).json()).toEqual({ emails: ['ops@shop.test', 'owner@shop.test'] });
        const bad = await app.inject({ method: 'PUT', url: '/v1/alerts/settings', payload: { emails: ['not an address'] } });
        expect(bad.statusCode).toBe(400);
        expect(bad.json().error.code).toBe('invalid_argument');
        expect((await store.alerts.settings()).emails).toEqual(['ops@shop.test', 'owner@shop.test']);
      } finally {
        await app.close();
      }
    } finally {
      await r.close();
    }
  });

  it('e-mails a database outage to the admin at once and records it when the database is back', async () => {
    if (!(await postgresAvailable())) return;
    const { schema, drop } = await throwawaySchema();
    // PostgreSQL through a proxy the test can cut.
    const target = new URL(POSTGRES_URL);
    const sockets = new Set<Socket>();
    let up = true;
    const proxy = createServer((client) => {
      if (!up) return void client.destroy();
      const upstream = new Socket();
      upstream.connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as { port: number }).port;
    const url = `postgres://${target.username}@127.0.0.1:${port}${target.pathname}?schema=${schema}`;
    const before = smtp.mails.length;
    const r = await rig(url, mailer, { adminEmails: ['admin@colloquy.test'] });
    try {
      await r.alerts.check();
      up = false;
      for (const s of sockets) s.destroy();
      await r.alerts.check();
      await r.alerts.check();
      await waitFor('the outage e-mailed', () => smtp.mails.length > before);
      const mail = smtp.mails.at(-1)!;
      expect(mail).toMatchObject({ to: ['admin@colloquy.test'], subject: expect.stringMatching(/critical: The database does not answer/) });
      expect(smtp.mails.length - before).toBe(1); // once, not per check
      up = true;
      await waitFor('the outage recorded once the database is back', async () => {
        await r.alerts.check();
        return (await r.store.alerts.list({ system: true }).catch(() => ({ data: [] }))).data.some((a) => a.rule === 'database.degraded');
      });
      const [recorded] = (await r.store.alerts.list({ system: true })).data.filter((a) => a.rule === 'database.degraded');
      expect(recorded).toMatchObject({ system: true, severity: 'critical', status: 'open' });
      r.advance(2 * MINUTE);
      await r.alerts.check();
      expect((await r.store.alerts.get(recorded!.id))).toBeNull(); // system alerts are not a tenant's
      expect((await r.store.alerts.list({ system: true })).data.find((a) => a.id === recorded!.id)!.status).toBe('resolved');
    } finally {
      up = true;
      await r.close();
      for (const s of sockets) s.destroy();
      proxy.close();
      await drop();
    }
  }, 60_000);
});

describe('system alerts', () => {
  it('raise the self-check\'s problems and a failing Redis for the admin, not for a tenant', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const Database = (await import('better-sqlite3')).default;
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-alerts-'));
    const file = join(dir, 'a.db');
    // Redis that is not there: the hot tier degrades, the database serves everything.
    const store = await openStore({ url: `sqlite:${file}`, redis: 'redis://127.0.0.1:1' });
    const channels = createChannelRuntime({ store });
    const alerts = createAlertMonitor({ store, health: createHealthMonitor(channels), selfCheckMs: 1 });
    try {
      const c = await store.conversations.create({});
      for (let i = 0; i < 3; i++) await store.messages.append(c.id, { role: 'user', content: `m${i}` });
      // A gap in seq, made behind Colloquy's back.
      const db = new Database(file);
      db.prepare('DELETE FROM messages WHERE conversation_id = ? AND seq = 2').run(c.id);
      db.close();
      await waitFor('the hot tier degraded', async () => {
        await store.conversations.get(c.id);
        return store.cacheStats()?.status === 'degraded';
      });
      await alerts.check();
      const system = (await store.alerts.list({ system: true, status: 'open' })).data;
      expect(system.map((a) => a.rule).sort()).toEqual(['doctor.problems', 'redis.degraded']);
      expect(system.find((a) => a.rule === 'doctor.problems')!.details.problems).toEqual([expect.stringMatching(/not seq 1\.\.lastSeq/)]);
      expect((await store.alerts.list()).data).toEqual([]);
    } finally {
      await alerts.stop();
      await channels.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
