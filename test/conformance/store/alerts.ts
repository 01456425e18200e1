import { describe, expect, it } from 'vitest';
import { alertOps } from '../../../src/store/alert-ops.js';
import { expectError, type Harness } from './harness.js';

const alert = (id: string, rule = 'channel.stale', subject = 'ch-1', raisedAt = Date.now()) =>
  ({ id, rule, subject, severity: 'warning', message: `${rule} ${subject}`, details: { n: 1 }, raisedAt });

/** What alerts store: one open alert per rule and subject, raised once and resolved once across instances. */
export function alertsCases({ fresh, second }: Harness): void {
  describe('alert storage', () => {
    it('raises an alert once, however many instances race, with its event', async () => {
      const store = fresh();
      const other = second()?.tenant(store.tenantId) ?? store;
      const t = store.tenantId;
      const ids = Array.from({ length: 10 }, () => crypto.randomUUID());
      const raised = await Promise.all(ids.map((id, i) => alertOps(i % 2 ? other : store).raise(t, alert(id))));
      expect(raised.filter(Boolean)).toHaveLength(1);
      const page = await store.alerts.list({ status: 'open' });
      expect(page.data).toEqual([expect.objectContaining({ rule: 'channel.stale', subject: 'ch-1', status: 'open', severity: 'warning', details: { n: 1 }, system: false })]);
      const events = (await store.events.list()).data.filter((e) => e.type === 'alert.raised');
      expect(events).toEqual([expect.objectContaining({ data: { alertId: page.data[0]!.id, rule: 'channel.stale', subject: 'ch-1', severity: 'warning' } })]);
      // Another subject, another alert; another tenant sees none of them.
      expect(await alertOps(store).raise(t, alert(crypto.randomUUID(), 'channel.stale', 'ch-2'))).toBeDefined();
      expect((await store.tenant(`${t}x`).alerts.list()).data).toEqual([]);
      expect(await store.tenant(`${t}x`).alerts.get(page.data[0]!.id)).toBeNull();
    });

    it('resolves once after the hold-down; a condition back within it keeps the alert open', async () => {
      const store = fresh();
      const t = store.tenantId;
      const ops = alertOps(store);
      const first = (await ops.raise(t, alert(crypto.randomUUID())))!;
      expect(await ops.clear(t, 'channel.stale', 'ch-1', 60_000)).toBeUndefined(); // clear since now: not for long enough
      await ops.raise(t, alert(crypto.randomUUID())); // back again: the hold-down starts over
      expect(await ops.clear(t, 'channel.stale', 'ch-1', 60_000)).toBeUndefined();
      const resolved = await Promise.all(Array.from({ length: 6 }, () => ops.clear(t, 'channel.stale', 'ch-1', 0)));
      expect(resolved.filter(Boolean)).toEqual([expect.objectContaining({ id: first.id, resolvedAt: expect.any(Number) })]);
      expect(await store.alerts.get(first.id)).toMatchObject({ status: 'resolved', resolvedAt: expect.any(String) });
      expect((await store.events.list()).data.map((e) => e.type).filter((type) => type.startsWith('alert.'))).toEqual(['alert.raised', 'alert.resolved']);
      // Raised again later: a new alert, the old one stays in the history.
      const again = (await ops.raise(t, alert(crypto.randomUUID(), 'channel.stale', 'ch-1', Date.now() + 1_000)))!; // later, not a tie
      expect(again.id).not.toBe(first.id);
      expect((await store.alerts.list()).data.map((a) => [a.id, a.status])).toEqual([[again.id, 'open'], [first.id, 'resolved']]);
    });

    it('pages the history newest first, keeps system alerts apart, and stores rules and addresses', async () => {
      const store = fresh();
      const t = store.tenantId;
      const ops = alertOps(store);
      for (let i = 0; i < 5; i++) await ops.raise(t, alert(crypto.randomUUID(), 'webhook.failing', `e${i}`, 1_000_000 + i));
      const one = await store.alerts.list({ limit: 2 });
      const two = await store.alerts.list({ limit: 2, cursor: one.nextCursor! });
      const three = await store.alerts.list({ limit: 2, cursor: two.nextCursor! });
      expect([...one.data, ...two.data, ...three.data].map((a) => a.subject)).toEqual(['e4', 'e3', 'e2', 'e1', 'e0']);
      expect(three.nextCursor).toBeNull();
      await expectError(store.alerts.list({ cursor: 'nonsense' }), 'invalid_argument');
      await ops.raise('*', alert(crypto.randomUUID(), 'database.degraded', `${t}-db`));
      expect((await store.alerts.list({ system: true })).data.some((a) => a.subject === `${t}-db` && a.system)).toBe(true);
      expect((await store.alerts.list()).data.some((a) => a.system)).toBe(false);

      expect(await store.alerts.rules()).toMatchObject({ overrides: {}, rules: { 'outbox.backlog': { enabled: true, thresholdSeconds: 300, holdDownSeconds: 300 } } });
      const set = await store.alerts.setRules({ 'outbox.backlog': { thresholdSeconds: 60 }, 'budget.economy': { enabled: false } });
      expect(set.rules['outbox.backlog']).toMatchObject({ thresholdSeconds: 60, holdDownSeconds: 300 });
      expect(set.rules['budget.economy'].enabled).toBe(false);
      await expectError(store.alerts.setRules({ 'no.such': {} } as never), 'invalid_argument');
      await expectError(store.alerts.setRules({ 'outbox.backlog': { thresholdSeconds: -1 } }), 'invalid_argument');
      expect(await store.alerts.settings()).toEqual({ emails: [] });
      expect(await store.alerts.setSettings({ emails: ['ops@example.com'] })).toEqual({ emails: ['ops@example.com'] });
      expect((await store.alerts.rules()).overrides).toEqual({ 'outbox.backlog': { thresholdSeconds: 60 }, 'budget.economy': { enabled: false } }); // emails left the rules alone
      await expectError(store.alerts.setSettings({ emails: ['not an address'] }), 'invalid_argument');
    });
  });
}
