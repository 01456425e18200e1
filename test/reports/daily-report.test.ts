import { describe, expect, it } from 'vitest';
import { createMailer } from '../../src/alerts/mailer.js';
import { createOutboxSender } from '../../src/channels/outbox-sender.js';
import { openStore } from '../../src/index.js';
import { createReportScheduler } from '../../src/reports/report-scheduler.js';
import { buildApp } from '../../src/server/app.js';
import { alertOps } from '../../src/store/alert-ops.js';
import { startFakeGraphApi } from '../fakes/fake-graph-api.js';
import { startFakeSmtp } from '../fakes/fake-smtp.js';
import { storeUrls } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const targets = storeUrls;

describe.each(targets)('daily reports ($name)', (target) => {
  it('count a day of fixed traffic per channel, first responses, usage by agent and alerts, once, as an event and by e-mail', async () => {
    const opened = await target.open();
    if (!opened) return;
    let now = Date.parse('2026-11-30T09:00:00Z');
    const store = await openStore({ url: opened.url, clock: () => now });
    const app = await buildApp({ store, logger: false, reportTimezone: 'UTC' });
    const smtp = await startFakeSmtp();
    const mailer = createMailer(smtp.url, 'reports@colloquy.test');
    try {
      await store.alerts.setSettings({ emails: ['owner@clinic.test'] });
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'clinic', config: { phoneNumberId: '1077' }, secrets: { accessToken: 't', appSecret: 's', verifyToken: 'v' } });
      const agent = await store.agents.create({ name: 'receptionist', model: 'openai:gpt-4o-mini' });
      const inbound = (address: string, externalId: string) => app.inject({ method: 'POST', url: '/v1/inbound', payload: { channelId: channel.id, from: { address }, externalId, content: 'oi' } });
      const ana = (await inbound('5511900000001', 'wamid.r1')).json();
      expect((await inbound('5511900000001', 'wamid.r1')).json().duplicate).toBe(true);
      const bia = (await inbound('5511900000002', 'wamid.r2')).json();
      now += 30_000;
      await store.messages.append(ana.conversation.id, { role: 'assistant', content: 'Olá Ana', usage: { model: 'openai:gpt-4o-mini', agentId: agent.id, inputTokens: 100, outputTokens: 20, cost: 0.001 } });
      now += 90_000;
      await store.messages.append(bia.conversation.id, { role: 'assistant', content: 'Olá Bia' });
      await alertOps(store).raise(store.tenantId, { id: crypto.randomUUID(), rule: 'channel.stale', subject: channel.id, severity: 'warning', message: 'Channel "clinic" is stale', details: {}, raisedAt: now });
      await app.channels.traffic.flush();
      // Before the day is over the report is partial and not stored.
      const partial = (await app.inject({ method: 'GET', url: '/v1/reports/daily?date=2026-11-30' })).json();
      expect(partial).toMatchObject({ date: '2026-11-30', final: false });

      now = Date.parse('2026-12-01T06:59:00Z');
      const scheduler = createReportScheduler({ store, owner: 'a', hour: 7, timezone: 'UTC', mailer });
      const other = createReportScheduler({ store, owner: 'b', hour: 7, timezone: 'UTC', mailer });
      await scheduler.check();
      expect((await store.events.list({ limit: 1000 })).data.filter((e) => e.type === 'report.daily')).toEqual([]); // not before 07:00
      now = Date.parse('2026-12-01T07:01:00Z');
      await Promise.all([scheduler.check(), other.check()]);
      await scheduler.check();
      const events = (await store.events.list({ limit: 1000 })).data.filter((e) => e.type === 'report.daily');
      expect(events).toEqual([expect.objectContaining({ data: { date: '2026-11-30' } })]);

      const report = (await app.inject({ method: 'GET', url: '/v1/reports/daily?date=2026-11-30' })).json();
      expect(report).toMatchObject({
        date: '2026-11-30', timezone: 'UTC', from: '2026-11-30T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', final: true,
        channels: [{
          channelId: channel.id, name: 'clinic', kind: 'whatsapp', received: 3, stored: 2, duplicates: 1, rejected: 0, errors: 0,
          conversations: { new: 2, reopened: 0 }, firstResponses: 2, medianFirstResponseSeconds: 75,
        }],
        usage: { total: { calls: 1, inputTokens: 100, outputTokens: 20, totalTokens: 120, cost: 0.001 }, byAgent: [{ agentId: agent.id, name: 'receptionist', totalTokens: 120 }] },
        alerts: { raised: 1, list: [{ rule: 'channel.stale', message: 'Channel "clinic" is stale' }] },
      });
      // Yesterday is the default; a webhook of report.daily carries the report itself.
      expect((await app.inject({ method: 'GET', url: '/v1/reports/daily' })).json().date).toBe('2026-11-30');
      const full = await app.inject({ method: 'GET', url: '/v1/events?include=data&limit=200', headers: { accept: 'application/json' } });
      expect(full.json().data.find((e: { type: string }) => e.type === 'report.daily').data).toMatchObject({ date: '2026-11-30', channels: [{ stored: 2 }] });
      await waitFor('the report e-mailed', () => smtp.mails.length >= 1);
      expect(smtp.mails).toHaveLength(1);
      expect(smtp.mails[0]).toMatchObject({ to: ['owner@clinic.test'], subject: '[Colloquy] daily report 2026-11-30' });
      expect(smtp.mails[0]!.raw).toContain('median first response: 75 s');
      for (const date of ['2026-13-01', 'yesterday', '2026-02-30x', '2026-02-31', '0999-01-01']) expect((await app.inject({ method: 'GET', url: `/v1/reports/daily?date=${date}` })).statusCode).toBe(400);
    } finally {
      mailer.close();
      await smtp.close();
      await app.close();
      await store.close();
      await opened.drop();
    }
  });

  it('count sends by outcome, rejected deliveries, ingest errors and reopened conversations, on the local day of the timezone, made at 07:00 local on a daylight-saving day', async () => {
    const opened = await target.open();
    if (!opened) return;
    // Europe/Berlin: 2026-03-28 runs from 23:00Z to 23:00Z; on 2026-03-29 clocks go forward at 02:00, so 07:00 local is 05:00Z.
    let now = Date.parse('2026-03-28T10:00:00Z');
    const store = await openStore({ url: opened.url, clock: () => now });
    const app = await buildApp({ store, logger: false, reportTimezone: 'Europe/Berlin' });
    const graph = await startFakeGraphApi();
    // The lease outlasts any stall: the test moves the store's clock a second per look.
    const sender = createOutboxSender({ channels: app.channels, pollMs: 20, timeoutMs: 2_000, backoffMs: 10, leaseMs: 3_600_000 });
    sender.start();
    try {
      const channel = await store.channels.create({
        kind: 'whatsapp', name: 'shop', config: { phoneNumberId: '1077', graphApiUrl: graph.url },
        secrets: { accessToken: 'EAAG-token', appSecret: 's', verifyToken: 'v' },
      });
      const inbound = (address: string, externalId: string) => app.inject({ method: 'POST', url: '/v1/inbound', payload: { channelId: channel.id, from: { address }, externalId, content: 'oi' } });
      const ana = (await inbound('5511900000001', 'wamid.d1')).json();
      // Three replies: sent at once; refused with a rate limit, then sent; refused for good.
      graph.script.push({ ok: true }, { error: 130429, status: 400, title: 'Rate limit hit' }, { ok: true }, { error: 131026, status: 400, title: 'Message undeliverable' });
      for (const content of ['one', 'two', 'three']) {
        const { message } = await store.messages.append(ana.conversation.id, { role: 'assistant', content });
        await waitFor(`reply ${content} settled`, async () => {
          now += 1_000; // the retry comes due on the store's clock
          return (await store.messages.get(message.id))!.status !== 'pending';
        });
      }
      expect(graph.sends.filter((send) => send.body.type === 'text')).toHaveLength(4);
      // A delivery that is not from Meta; an inbound message the store refuses; the closed conversation reopened.
      const forged = await app.inject({ method: 'POST', url: `/webhooks/whatsapp/${channel.id}`, headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' }, payload: '{"object":"whatsapp_business_account","entry":[]}' });
      expect(forged.statusCode).toBe(401);
      expect((await app.inject({ method: 'POST', url: '/v1/inbound', payload: { channelId: channel.id, from: { address: 'not a phone number' }, externalId: 'wamid.d2', content: 'oi' } })).statusCode).toBeGreaterThanOrEqual(400);
      await store.conversations.update(ana.conversation.id, { status: 'closed' });
      expect((await inbound('5511900000001', 'wamid.d3')).json()).toMatchObject({ reopened: true });
      await app.channels.traffic.flush();

      const scheduler = createReportScheduler({ store, owner: 'a', hour: 7, timezone: 'Europe/Berlin' });
      now = Date.parse('2026-03-29T04:59:00Z'); // 06:59 local
      await scheduler.check();
      expect((await store.events.list({ limit: 1000 })).data.filter((e) => e.type === 'report.daily')).toEqual([]);
      now = Date.parse('2026-03-29T05:01:00Z'); // 07:01 local, six hours after local midnight
      await scheduler.check();
      expect((await store.events.list({ limit: 1000 })).data.filter((e) => e.type === 'report.daily')).toEqual([expect.objectContaining({ data: { date: '2026-03-28' } })]);
      const report = (await app.inject({ method: 'GET', url: '/v1/reports/daily?date=2026-03-28' })).json();
      expect(report).toMatchObject({
        date: '2026-03-28', timezone: 'Europe/Berlin', from: '2026-03-27T23:00:00.000Z', to: '2026-03-28T23:00:00.000Z', final: true,
        channels: [{ channelId: channel.id, received: 3, stored: 2, duplicates: 0, rejected: 1, errors: 1, sends: { sent: 2, failed: 1, retried: 1 }, conversations: { new: 1, reopened: 1 } }],
      });
      // Autumn: clocks go back at 03:00 on 2026-10-25, so 07:00 local is 06:00Z, eight hours after local midnight.
      const daily = async (date: string) => (await store.events.list({ limit: 1000 })).data.filter((e) => e.type === 'report.daily' && e.data.date === date);
      now = Date.parse('2026-10-25T05:30:00Z'); // 06:30 local
      await scheduler.check();
      expect(await daily('2026-10-24')).toEqual([]);
      now = Date.parse('2026-10-25T06:01:00Z'); // 07:01 local
      await scheduler.check();
      expect(await daily('2026-10-24')).toHaveLength(1);
    } finally {
      await sender.stop();
      await graph.close();
      await app.close();
      await store.close();
      await opened.drop();
    }
  });
});
