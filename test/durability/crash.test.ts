import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';

const child = new URL('./append-child.ts', import.meta.url).pathname;

/** Starts the appending child, SIGKILLs it once `acks` appends were acknowledged, returns what it acknowledged. */
async function appendThenKill(url: string, schema: string, conversationId: string, acks: number) {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, url, schema, conversationId], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acknowledged: Array<{ seq: number; id: string }> = [];
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  for await (const line of createInterface({ input: proc.stdout })) {
    const [, seq, id] = line.split(' ');
    acknowledged.push({ seq: Number(seq), id: id! });
    if (acknowledged.length === acks) proc.kill('SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');
  return acknowledged;
}

async function crashCase(url: string, schema: string) {
  const store = await openStore({ url, ...(schema !== '-' ? { schema } : {}) });
  const conversation = await store.conversations.create();
  await store.close();
  const acknowledged = await appendThenKill(url, schema, conversation.id, 300);
  expect(acknowledged.length).toBeGreaterThanOrEqual(300);

  const reopened = await openStore({ url, ...(schema !== '-' ? { schema } : {}) });
  try {
    const stored = (await reopened.messages.list(conversation.id, { limit: 1000 })).data;
    const byId = new Map(stored.map((m) => [m.id, m.seq]));
    for (const ack of acknowledged) expect(byId.get(ack.id)).toBe(ack.seq);
    expect(stored.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1));
    expect((await reopened.conversations.get(conversation.id))!.lastSeq).toBe(stored.length);
  } finally {
    await reopened.close();
  }
}

describe('acknowledged means durable: SIGKILL right after acknowledgements', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loses no acknowledged append on a SQLite file', async () => {
    await crashCase(`sqlite:${join(dir, 'crash.db')}`, '-');
  });

  it('loses no acknowledged append on PostgreSQL', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const { schema, drop } = await throwawaySchema();
    try {
      await crashCase(POSTGRES_URL, schema);
    } finally {
      await drop();
    }
  });
});
