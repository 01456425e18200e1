import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { doctor } from '../../src/cli/doctor.js';
import { openStore } from '../../src/index.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';

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
    const result = await doctor(`sqlite:${join(dir, 'empty.db')}`);
    expect(result.ok).toBe(false);
    expect(result.checks[0]).toMatchObject({ name: 'schema', ok: false, detail: expect.stringContaining('colloquy migrate') });
  });

  it('fails when the database cannot be reached', async () => {
    const result = await doctor('postgres://postgres@127.0.0.1:1/nowhere');
    expect(result).toMatchObject({ ok: false, checks: [{ name: 'database', ok: false }] });
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
