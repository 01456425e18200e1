import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportTo, importFrom } from '../../src/cli/portable.js';
import { openStore, type Channel } from '../../src/index.js';
import { channelSecrets } from '../../src/store/channel-secrets.js';
import { expectError } from '../conformance/store-conformance.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';

const KEY = 'k'.repeat(16) + 'correct-horse-battery-staple';
const OTHER_KEY = 'o'.repeat(16) + 'another-key-entirely-yes';
const TOKEN = 'EAAG-a-very-secret-access-token';
const APP_SECRET = 'the-app-secret-4c1d';

/** Every byte SQLite wrote for a database: the file and its WAL. */
const bytesOf = (path: string) => Buffer.concat([path, `${path}-wal`].flatMap((p) => {
  try {
    return [readFileSync(p)];
  } catch {
    return [];
  }
}));

describe('channel secrets at rest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-secrets-'));
  /** A database whose secrets were sealed with KEY; each test reads it, none changes its secrets. */
  const path = join(dir, 'sealed.db');
  let channel: Channel;
  beforeAll(async () => {
    const store = await openStore({ url: `sqlite:${path}`, secretKey: KEY });
    channel = await store.channels.create({ kind: 'whatsapp', name: 'clinic', secrets: { accessToken: TOKEN, appSecret: APP_SECRET } });
    await store.channels.update(channel.id, { secrets: { verifyToken: 'verify-token-value' } });
    await store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are encrypted with COLLOQUY_SECRET_KEY: the file reveals nothing, the same key reads them back', async () => {
    const bytes = bytesOf(path);
    for (const value of [TOKEN, APP_SECRET, 'verify-token-value']) expect(bytes.includes(value)).toBe(false);
    const raw = new Database(path, { readonly: true });
    const stored = JSON.parse((raw.prepare('SELECT secrets FROM channels WHERE id = ?').get(channel.id) as { secrets: string }).secrets);
    raw.close();
    expect(Object.keys(stored).sort()).toEqual(['accessToken', 'appSecret', 'verifyToken']);
    expect(Object.values(stored).every((v) => String(v).startsWith('v1:'))).toBe(true);

    const again = await openStore({ url: `sqlite:${path}`, secretKey: KEY });
    expect(await channelSecrets(again, channel.id)).toEqual({ accessToken: TOKEN, appSecret: APP_SECRET, verifyToken: 'verify-token-value' });
    await again.close();
  });

  it('refuses a wrong or a short key at start, saying what to do', async () => {
    const wrong = await expectError(openStore({ url: `sqlite:${path}`, secretKey: OTHER_KEY }), 'invalid_argument', { reason: 'secret_key_mismatch' });
    expect(wrong.message).toMatch(/COLLOQUY_SECRET_KEY is not the key/);
    const short = await expectError(openStore({ url: 'sqlite::memory:', secretKey: 'short' }), 'invalid_argument', { reason: 'secret_key_too_short' });
    expect(short.message).toMatch(/at least 32 characters.*openssl rand/);
  });

  it('without the key: the store opens, reads say which secrets are set, their values stay sealed', async () => {
    const store = await openStore({ url: `sqlite:${path}` });
    try {
      expect((await store.channels.get(channel.id))!.secrets).toEqual({ accessToken: true, appSecret: true, verifyToken: true });
      await expectError(channelSecrets(store, channel.id), 'unavailable', { reason: 'secret_key_missing' });
      // New secrets cannot be written in the clear beside encrypted ones.
      await expectError(store.channels.update(channel.id, { secrets: { accessToken: 'x' } }), 'invalid_argument', { reason: 'secret_key_missing' });
      expect((await store.channels.create({ kind: 'web', name: 'no secrets' })).secrets).toEqual({});
    } finally {
      await store.close();
    }
  });

  it('encrypts the secrets set before a key was, once the key is given', async () => {
    const path = join(dir, 'later.db');
    const plain = await openStore({ url: `sqlite:${path}` });
    const channel = await plain.channels.create({ kind: 'telegram', name: 'bot', secrets: { botToken: TOKEN } });
    expect(await channelSecrets(plain, channel.id)).toEqual({ botToken: TOKEN });
    await plain.close();
    const sealed = await openStore({ url: `sqlite:${path}`, secretKey: KEY });
    await sealed.close();
    // The old plaintext may linger in freed pages until they are reused: VACUUM drops them (the README says so).
    const raw = new Database(path);
    const stored = (raw.prepare('SELECT secrets FROM channels').get() as { secrets: string }).secrets;
    raw.exec('VACUUM');
    raw.close();
    expect(stored).not.toContain(TOKEN);
    expect(bytesOf(path).includes(TOKEN)).toBe(false);
    const again = await openStore({ url: `sqlite:${path}`, secretKey: KEY });
    expect(await channelSecrets(again, channel.id)).toEqual({ botToken: TOKEN });
    await again.close();
  });

  it('are exported only when asked, and sealed again with the target key on import', async () => {
    const source = `sqlite:${path}`;
    const without = join(dir, 'without.jsonl');
    const withSecrets = join(dir, 'with.jsonl');
    await exportTo(source, without, { secretKey: KEY });
    await exportTo(source, withSecrets, { includeSecrets: true, secretKey: KEY });
    expect(readFileSync(without, 'utf8')).not.toContain(TOKEN);
    const channelLine = readFileSync(without, 'utf8').split('\n').map((l) => l && JSON.parse(l)).find((r) => r?.kind === 'channel');
    expect(channelLine).not.toHaveProperty('secrets');
    expect(channelLine.data.secrets).toEqual({ accessToken: true, appSecret: true, verifyToken: true });
    expect(readFileSync(withSecrets, 'utf8')).toContain(TOKEN);
    await expectError(exportTo(source, join(dir, 'nokey.jsonl'), { includeSecrets: true }), 'unavailable', { reason: 'secret_key_missing' });

    const targetPath = join(dir, 'target.db');
    await importFrom(`sqlite:${targetPath}`, withSecrets, { secretKey: OTHER_KEY });
    expect(bytesOf(targetPath).includes(TOKEN)).toBe(false);
    const target = await openStore({ url: `sqlite:${targetPath}`, secretKey: OTHER_KEY });
    expect(await channelSecrets(target, channel.id)).toMatchObject({ accessToken: TOKEN, appSecret: APP_SECRET });
    await target.close();
  });

  it('are never written in the clear once another instance has set a key up', async () => {
    const shared = join(dir, 'rolling-key.db');
    const before = await openStore({ url: `sqlite:${shared}` }); // started before the key was introduced
    const keyed = await openStore({ url: `sqlite:${shared}`, secretKey: KEY });
    try {
      await expectError(before.channels.create({ kind: 'web', name: 'x', secrets: { token: TOKEN } }), 'invalid_argument', { reason: 'secret_key_missing' });
      const made = await keyed.channels.create({ kind: 'web', name: 'y', secrets: { token: TOKEN } });
      expect(await channelSecrets(keyed, made.id)).toEqual({ token: TOKEN });
    } finally {
      await before.close();
      await keyed.close();
    }
    expect(bytesOf(shared).includes(TOKEN)).toBe(false);
  });

  it('write nothing when opened as the database is (migrate: false: doctor, export)', async () => {
    const plain = join(dir, 'never-keyed.db');
    const writer = await openStore({ url: `sqlite:${plain}` });
    const made = await writer.channels.create({ kind: 'web', name: 'x', secrets: { token: TOKEN } });
    await writer.close();
    const reader = await openStore({ url: `sqlite:${plain}`, migrate: false, secretKey: KEY });
    expect(await channelSecrets(reader, made.id)).toEqual({ token: TOKEN });
    await reader.close();
    const raw = new Database(plain, { readonly: true });
    expect(raw.prepare('SELECT count(*) AS n FROM colloquy_settings WHERE name <> \'handles-normalized\'').get()).toEqual({ n: 0 });
    expect((raw.prepare('SELECT secrets FROM channels').get() as { secrets: string }).secrets).toContain(`plain:${TOKEN}`);
    raw.close();
  });

  it('are encrypted at rest on PostgreSQL too, and refused with a wrong key', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const { schema, drop } = await throwawaySchema();
    try {
      const store = await openStore({ url: POSTGRES_URL, schema, secretKey: KEY });
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'clinic', secrets: { accessToken: TOKEN } });
      await store.close();
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      const { rows } = await client.query(`SELECT secrets::text AS s FROM ${schema}.channels`);
      const settings = await client.query(`SELECT value FROM ${schema}.colloquy_settings`);
      await client.end();
      expect(rows[0].s).not.toContain(TOKEN);
      expect(JSON.stringify(settings.rows)).not.toContain(KEY);
      await expectError(openStore({ url: POSTGRES_URL, schema, secretKey: OTHER_KEY }), 'invalid_argument', { reason: 'secret_key_mismatch' });
      const again = await openStore({ url: POSTGRES_URL, schema, secretKey: KEY });
      expect(await channelSecrets(again, channel.id)).toEqual({ accessToken: TOKEN });
      // An instance starting (and resealing values left in the clear) while another rotates a secret loses no rotation.
      const sql = new pg.Client({ connectionString: POSTGRES_URL });
      await sql.connect();
      try {
        for (let round = 0; round < 5; round++) {
          await sql.query(`UPDATE ${schema}.channels SET secrets = secrets || '{"appSecret": "plain:left-in-the-clear"}'::jsonb WHERE id = $1`, [channel.id]);
          let last = '';
          const rotations = (async () => {
            for (let i = 0; i < 10; i++) {
              await again.channels.update(channel.id, { secrets: { accessToken: `rotated-${round}-${i}` } });
              last = `rotated-${round}-${i}`;
            }
          })();
          const starting = openStore({ url: POSTGRES_URL, schema, secretKey: KEY });
          await rotations;
          await (await starting).close();
          expect(await channelSecrets(again, channel.id)).toEqual({ accessToken: last, appSecret: 'left-in-the-clear' });
        }
        const { rows: after } = await sql.query(`SELECT secrets::text AS s FROM ${schema}.channels WHERE id = $1`, [channel.id]);
        expect(after[0].s).not.toContain('plain:');
      } finally {
        await sql.end();
        await again.close();
      }
    } finally {
      await drop();
    }
  });
});
