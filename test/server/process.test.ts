import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server-process.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';

async function killAndResend(db: string) {
  let { url, proc } = await startServer(db);
  const { id } = (await (await fetch(`${url}/v1/conversations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { id: string };
  const send = async (base: string, i: number) => {
    const response = await fetch(`${base}/v1/conversations/${id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `msg-${i}` },
      body: JSON.stringify({ role: 'user', content: `message ${i}` }),
    });
    if (response.status !== 201 && response.status !== 200) throw new Error(`status ${response.status}`);
    return ((await response.json()) as { message: { id: string; seq: number } }).message;
  };

  // 1,000 messages, 8 at a time; SIGKILL the server once 500 were acknowledged.
  const acknowledged = new Map<number, { id: string; seq: number }>();
  let next = 0;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = next++; i < 1000; i = next++) {
      try {
        acknowledged.set(i, await send(url, i));
      } catch {
        return; // the server is gone: what it did not acknowledge is resent below
      }
      if (acknowledged.size === 500) proc.kill('SIGKILL');
    }
  }));
  await exited;
  expect(acknowledged.size).toBeGreaterThanOrEqual(500);

  ({ url, proc } = await startServer(db));
  try {
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => i).map(async (i) => [i, await send(url, i)] as const));
    for (const [i, message] of results) {
      const before = acknowledged.get(i);
      if (before) expect(message).toEqual(before); // acknowledged before the kill: the same message, not a second one
    }
    const seqs: number[] = [];
    let cursor: string | null = null;
    do {
      const page = (await (await fetch(`${url}/v1/conversations/${id}/messages?limit=200${cursor ? `&cursor=${cursor}` : ''}`)).json()) as {
        data: Array<{ seq: number }>; nextCursor: string | null;
      };
      seqs.push(...page.data.map((m) => m.seq));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seqs).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  } finally {
    proc.kill('SIGTERM');
    await new Promise((resolve) => proc.once('exit', resolve));
  }
}

describe('colloquy serve, killed with SIGKILL mid-load, then everything resent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-serve-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores each of 1,000 messages exactly once, gapless, on SQLite', async () => {
    await killAndResend(`sqlite:${join(dir, 'serve.db')}`);
  }, 60_000);

  it('stores each of 1,000 messages exactly once, gapless, on PostgreSQL', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const { schema, drop } = await throwawaySchema();
    try {
      await killAndResend(`${POSTGRES_URL}?schema=${schema}`);
    } finally {
      await drop();
    }
  }, 60_000);
});
