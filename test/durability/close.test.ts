import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';

describe('closing a SQLite store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-close-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finishes its last checkpoint and lets a script exit normally', () => {
    const child = new URL('./close-child.ts', import.meta.url).pathname;
    const result = spawnSync(process.execPath, ['--import', 'tsx', child, join(dir, 'a.db')], { encoding: 'utf8', timeout: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('closed\n');
    expect(result.status).toBe(0);
  });

  it('may be closed twice', async () => {
    const store = await openStore({ url: `sqlite:${join(dir, 'b.db')}` });
    await store.close();
    await store.close();
  });
});
