import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackupJob, parseEvery, pruneBackups, writeBackup } from '../../src/cli/backup.js';
import { importFrom } from '../../src/cli/portable.js';
import { openStore, type Store } from '../../src/index.js';
import { channelSecrets } from '../../src/store/channel-secrets.js';
import { webhookOps } from '../../src/store/webhook-ops.js';
import { scopeOfStore } from '../../src/store/store.js';

const run = promisify(execFile);
const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const KEY = 'backup-test-key-0123456789abcdefghijklmnop';
const dir = mkdtempSync(join(tmpdir(), 'colloquy-backup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything a restore must bring back, read through the store. */
async function everything(store: Store) {
  const records = [];
  for await (const r of store.exportAll({ backup: true })) {
    // A restored endpoint's cursor starts at the head of its new log: not part of what must be equal.
    records.push(r.kind === 'webhook' ? { ...r, data: { ...r.data } } : r);
  }
  return records;
}

/** The same records, but for a reply that waited in the outbox: it comes back failed (ambiguous), never resent. */
function expectRestored(before: Awaited<ReturnType<typeof everything>>, after: Awaited<ReturnType<typeof everything>>) {
  expect(after.map((r) => r.kind)).toEqual(before.map((r) => r.kind));
  const waiting = before.find((r) => r.kind === 'message' && r.data.status === 'pending' && r.data.role === 'assistant')!;
  const back = after.find((r) => r.kind === 'message' && r.data.id === (waiting.data as { id: string }).id)!;
  expect(back.data).toMatchObject({ status: 'failed', error: { code: 'exported_before_sent', reason: 'ambiguous' } });
  expect(after.map((r) => (r === back ? waiting : r))).toEqual(before);
}

async function seed(url: string) {
  const store = await openStore({ url, secretKey: KEY });
  const channel = await store.channels.create({ kind: 'whatsapp', name: 'clinic', config: { phoneNumberId: '106' }, secrets: { accessToken: 'EAAG-secret-token', appSecret: 'app-secret', verifyToken: 'v' } });
  const agent = await store.agents.create({ name: 'bot', model: 'openai:gpt-4o-mini' });
  const inbound = await store.ingest({ channelId: channel.id, from: { address: '5511988887777', name: 'Ana' }, externalId: 'wamid.b1', content: 'oi' });
  await store.messages.append(inbound.conversation.id, { role: 'assistant', content: 'Olá!', usage: { model: 'openai:gpt-4o-mini', agentId: agent.id, inputTokens: 3, outputTokens: 2 } });
  await store.state.set(inbound.conversation.id, { state: 'ask', data: { patient: 'Ana' }, expectedVersion: 0 });
  const endpoint = await store.webhooks.create({ url: 'https://203.0.113.20/hook', events: ['message.*'] });
  await store.budgets.put(`agent:${agent.id}`, { dailyTokens: 5000 });
  await store.alerts.setSettings({ emails: ['ops@clinic.test'] });
  const { secret: apiKey } = await store.keys.create({ tenant: 'default', name: 'ops' });
  return { store, channel, endpoint, apiKey };
}

describe('scheduled backups', () => {
  it('take their interval as --backup-every / COLLOQUY_BACKUP_EVERY writes it, at least a minute', () => {
    expect(['24h', '6h', '30m', '90s', '7d', '120000'].map(parseEvery)).toEqual([86_400_000, 21_600_000, 1_800_000, 90_000, 604_800_000, 120_000]);
    for (const bad of ['', 'daily', '30s', '1.5h', '-1h', '0']) expect(() => parseEvery(bad), bad).toThrow(/at least a minute/);
  });

  it('write one gzip file, mode 0600, that restores to the same records with their secrets and keys; the newest N kept', async () => {
    const source = `sqlite:${join(dir, 'source.db')}`;
    const { store, channel, endpoint, apiKey } = await seed(source);
    const backups = join(dir, 'backups');
    try {
      const first = await writeBackup(store, backups, Date.parse('2026-12-01T00:00:00Z'));
      expect(statSync(first.file).mode & 0o777).toBe(0o600);
      expect(readFileSync(first.file).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      // Secrets as stored, sealed under the key: none of them in the clear once the file is unzipped.
      const text = gunzipSync(readFileSync(first.file)).toString('utf8');
      for (const secret of ['EAAG-secret-token', 'app-secret', endpoint.secret, apiKey]) expect(text).not.toContain(secret);
      expect(text).toMatch(/"accessToken":"v1:/);
      await writeBackup(store, backups, Date.parse('2026-12-02T00:00:00Z'));
      const last = await writeBackup(store, backups, Date.parse('2026-12-03T00:00:00Z'));
      expect(pruneBackups(backups, 2)).toBe(1);
      expect(readdirSync(backups).sort()).toEqual(['colloquy-backup-2026-12-02T00-00-00-000Z.jsonl.gz', 'colloquy-backup-2026-12-03T00-00-00-000Z.jsonl.gz']);

      // The restore drill: an empty database, the same key, `colloquy import <backup>`.
      const target = `sqlite:${join(dir, 'restored.db')}`;
      await run(process.execPath, ['--import', 'tsx', cli, 'import', last.file, '--db', target], { env: { ...process.env, COLLOQUY_SECRET_KEY: KEY } });
      const restored = await openStore({ url: target, secretKey: KEY });
      try {
        expectRestored(await everything(store), await everything(restored));
        // Secrets open with the key, keys authenticate (a restored server is not open), endpoints deliver from now.
        expect(await channelSecrets(restored, channel.id)).toEqual({ accessToken: 'EAAG-secret-token', appSecret: 'app-secret', verifyToken: 'v' });
        const record = (await webhookOps(restored).get('default', endpoint.id))!;
        expect(webhookOps(restored).secrets('default', record)).toEqual([endpoint.secret]);
        expect(record.deliveredTo).toBe(await scopeOfStore(restored).backend.events.head('default')); // from the restore on
        expect((await restored.keys.count()).active).toBe(1);
      } finally {
        await restored.close();
      }
      // Twice changes nothing.
      await importFrom(target, last.file, { secretKey: KEY });
      // The wrong key, or none, is refused before anything is written: the empty database stays empty (not even made).
      const untouched = join(dir, 'untouched.db');
      await expect(importFrom(`sqlite:${untouched}`, last.file, { secretKey: 'another-key-0123456789abcdefghijklmnopqrs' })).rejects.toMatchObject({ code: 'invalid_argument', details: { reason: 'secret_key_mismatch' } });
      await expect(importFrom(`sqlite:${untouched}`, last.file, {})).rejects.toMatchObject({ code: 'invalid_argument', details: { reason: 'secret_key_missing' } });
      expect(existsSync(untouched)).toBe(false);
      // A backup record that is not what a database could hold is refused, and nothing is written.
      const bad = join(dir, 'bad.jsonl');
      writeFileSync(bad, [
        JSON.stringify({ kind: 'colloquy-export', version: 1, backup: true }),
        JSON.stringify({ kind: 'budget', tenant: 'default', data: { scope: 'agent:not-a-uuid', config: { dailyTokens: 'lots' }, createdAt: '2026-12-01T00:00:00.000Z', updatedAt: '2026-12-01T00:00:00.000Z' } }),
      ].join('\n'));
      await expect(importFrom(`sqlite:${untouched}`, bad, {})).rejects.toMatchObject({ code: 'invalid_argument' });
      expect(existsSync(untouched)).toBe(false);
      // Sealed secrets only come from a backup: an export claiming them is refused.
      const forged = join(dir, 'forged.jsonl');
      const channelData = (await everything(store)).find((r) => r.kind === 'channel')!.data as object;
      writeFileSync(forged, JSON.stringify({ kind: 'channel', tenant: 'default', data: { ...channelData, id: '0190e1b2-0000-7000-8000-0000000000aa' }, secrets: { accessToken: 'plain:x' }, sealed: true }));
      await expect(importFrom(`sqlite:${join(dir, 'forged.db')}`, forged, {})).rejects.toMatchObject({ code: 'invalid_argument' });
    } finally {
      await store.close();
    }
  }, 120_000);

  it('stop at an error mid-stream: no crash, no temporary file, the error to the caller', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    try {
      await store.conversations.create({});
      const into = join(dir, 'midstream');
      const failing = Object.create(store, {
        exportAll: { value: async function* () {
          yield* store.exportAll({ backup: true });
          throw new Error('the disk is full');
        } },
      }) as Store;
      await expect(writeBackup(failing, into)).rejects.toThrow('the disk is full');
      expect(readdirSync(into)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('are written by one instance per period, and a failed one raises backup.failed until the next succeeds', async () => {
    const url = `sqlite:${join(dir, 'jobs.db')}`;
    let now = Date.parse('2026-12-01T10:00:00Z');
    const store = await openStore({ url, clock: () => now });
    const into = join(dir, 'jobs');
    const a = createBackupJob({ store, dir: into, everyMs: 3_600_000, keep: 10, owner: 'a' });
    const b = createBackupJob({ store, dir: into, everyMs: 3_600_000, keep: 10, owner: 'b' });
    try {
      await Promise.all([a.check(), b.check()]);
      await Promise.all([a.check(), b.check()]);
      // An instance started later in the same period (a deploy, a restart) writes it no more.
      now += 50 * 60_000;
      await createBackupJob({ store, dir: into, everyMs: 3_600_000, keep: 10, owner: 'late' }).check();
      expect(readdirSync(into).filter((f) => f.endsWith('.gz'))).toHaveLength(1);
      // The next period, into a directory that cannot be made (a file stands in its way).
      const blocked = join(dir, 'not-a-dir');
      writeFileSync(blocked, 'x');
      const failing = createBackupJob({ store, dir: join(blocked, 'sub'), everyMs: 3_600_000, keep: 10, owner: 'c' });
      now = Date.parse('2026-12-01T11:00:00Z');
      await failing.check();
      const open = (await store.alerts.list({ system: true, status: 'open' })).data;
      expect(open).toEqual([expect.objectContaining({ rule: 'backup.failed', severity: 'critical', message: expect.stringMatching(/failed/) })]);
      await a.check(); // within the retry pause: nobody tries again yet
      expect(readdirSync(into).filter((f) => f.endsWith('.gz'))).toHaveLength(1);
      now += 6 * 60_000; // the cause fixed meanwhile (another instance, a good directory): this period's backup is written
      await a.check();
      expect((await store.alerts.list({ system: true, status: 'open' })).data).toEqual([]);
      expect(readdirSync(into).filter((f) => f.endsWith('.gz'))).toHaveLength(2);
      expect(readdirSync(into).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('backups on PostgreSQL', () => {
  it('restore into an empty schema to the same records', async () => {
    const { POSTGRES_URL, postgresAvailable, throwawaySchema } = await import('../helpers/services.js');
    if (!(await postgresAvailable())) return;
    const [a, b] = [await throwawaySchema(), await throwawaySchema()];
    const { store, channel } = await seed(`${POSTGRES_URL}?schema=${a.schema}`);
    try {
      const { file } = await writeBackup(store, join(dir, 'pg'));
      const target = `${POSTGRES_URL}?schema=${b.schema}`;
      await importFrom(target, file, { secretKey: KEY });
      const restored = await openStore({ url: target, secretKey: KEY });
      try {
        expectRestored(await everything(store), await everything(restored));
        expect((await channelSecrets(restored, channel.id))!.accessToken).toBe('EAAG-secret-token');
      } finally {
        await restored.close();
      }
    } finally {
      await store.close();
      await a.drop();
      await b.drop();
    }
  }, 120_000);
});
