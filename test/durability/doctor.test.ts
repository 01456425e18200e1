import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { doctor } from '../../src/cli/doctor.js';
import { migrate, openStore } from '../../src/index.js';
import { POSTGRES_URL, REDIS_URL, postgresAvailable, redisAvailable, throwawaySchema } from '../helpers/services.js';

async function seed(url: string) {
  const store = await openStore({ url });
  const channel = await store.channels.create({ kind: 'whatsapp', name: 'c' });
  const { conversation } = await store.ingest({ channelId: channel.id, from: { address: '1' }, externalId: 'a', content: 'a' });
  await store.ingest({ channelId: channel.id, from: { address: '1' }, externalId: 'b', content: 'b' });
  await store.conversations.create();
  await store.close();
  return conversation.id;
}

describe('colloquy doctor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-doctor-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes on a healthy SQLite database and fails on a seq gap made behind the store\'s back', async () => {
    const path = join(dir, 'a.db');
    const conversationId = await seed(`sqlite:${path}`);
    const healthy = await doctor(`sqlite:${path}`);
    expect(healthy.ok).toBe(true);
    expect(healthy.checks.find((c) => c.name === 'contents')!.detail).toBe('2 open, 0 waiting, 0 closed conversations; 2 messages');

    const raw = new Database(path);
    raw.prepare('DELETE FROM messages WHERE conversation_id = ? AND seq = 1').run(conversationId);
    raw.close();
    const broken = await doctor(`sqlite:${path}`);
    expect(broken.ok).toBe(false);
    expect(broken.checks.find((c) => c.name === 'integrity')).toMatchObject({ ok: false, detail: expect.stringContaining(conversationId) });

    const cli = spawnSync(process.execPath, ['--import', 'tsx', new URL('../../src/cli/main.ts', import.meta.url).pathname, 'doctor', '--db', `sqlite:${path}`],
      { encoding: 'utf8', timeout: 20_000 });
    expect(cli.status).toBe(1);
    expect(cli.stdout).toMatch(/✔ database: sqlite/);
    expect(cli.stdout).toMatch(/✘ integrity: 1 conversation/);
  });

  it('fails on a database that was never migrated, saying what to run', async () => {
    const path = join(dir, 'empty.db');
    new Database(path).close(); // an empty SQLite file
    const result = await doctor(`sqlite:${path}`);
    expect(result.ok).toBe(false);
    expect(result.checks[0]).toMatchObject({ name: 'schema', ok: false, detail: expect.stringContaining('colloquy migrate') });
  });

  it('reports a database that does not exist, naming it, and creates nothing', async () => {
    const path = join(dir, 'nowhere', 'missing.db');
    const result = await doctor(`sqlite:${path}`);
    expect(result).toMatchObject({ ok: false, checks: [{ name: 'database', ok: false, detail: expect.stringContaining(`There is no database at ${path}`) }] });
    expect(existsSync(path)).toBe(false);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });

  it('fails when the database cannot be reached, or does not exist on the server', async (ctx) => {
    const result = await doctor('postgres://postgres@127.0.0.1:1/nowhere');
    expect(result).toMatchObject({ ok: false, checks: [{ name: 'database', ok: false, detail: expect.stringContaining('postgres://postgres@127.0.0.1:1/nowhere') }] });
    if (!(await postgresAvailable())) return ctx.skip();
    const missing = await doctor(POSTGRES_URL.replace(/\/[^/]*$/, '/colloquy_no_such_database'));
    expect(missing.checks[0]).toMatchObject({ name: 'database', ok: false, detail: expect.stringMatching(/no such database .*createdb/) });
  });

  it('checks the Redis it is given', async () => {
    const url = `sqlite:${join(dir, 'redis.db')}`;
    await migrate({ url });
    const down = await doctor(url, { redis: 'redis://127.0.0.1:1' });
    expect(down.checks.find((c) => c.name === 'redis')).toMatchObject({ ok: false, detail: expect.stringContaining('does not answer') });
    expect(down.ok).toBe(false);
    if (!(await redisAvailable())) return;
    const up = await doctor(url, { redis: REDIS_URL });
    expect(up.checks.find((c) => c.name === 'redis')).toMatchObject({ ok: true, detail: expect.stringContaining('answers in') });
  });

  it('checks PostgreSQL the same way', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const { schema, drop } = await throwawaySchema();
    try {
      const url = `${POSTGRES_URL}?schema=${schema}`;
      const conversationId = await seed(url);
      const healthy = await doctor(url);
      expect(healthy.checks.filter((c) => !c.ok)).toEqual([]);
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`UPDATE ${schema}.conversations SET last_seq = 5 WHERE id = $1`, [conversationId]);
      await client.end();
      expect((await doctor(url)).checks.find((c) => c.name === 'integrity')!.ok).toBe(false);
    } finally {
      await drop();
    }
  });
});
