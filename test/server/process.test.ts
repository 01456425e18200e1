import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';

const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;

/** Starts `colloquy serve` on a free port and resolves with its base URL once it listens. */
async function startServer(db: string): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--db', db, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOST: '127.0.0.1' },
  });
  proc.stderr!.resume();
  for await (const line of createInterface({ input: proc.stdout! })) {
    const match = / at (http:\/\/\S+)\/v1 /.exec(line);
    if (match) return { url: match[1]!, proc };
  }
  throw new Error('colloquy serve exited before listening');
}

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
