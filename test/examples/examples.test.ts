import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
/** Runs an example as a user does from a checkout (`npx tsx examples/…`), in a directory of its own. */
const run = (cwd: string, example: string, ...args: string[]) => {
  const result = spawnSync(join(root, 'node_modules/.bin/tsx'), ['--tsconfig', join(root, 'tsconfig.json'), join(root, 'examples', example), ...args], {
    cwd, encoding: 'utf8', timeout: 60_000,
  });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
};

describe('examples/', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-examples-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('quick-start.ts is the README\'s library quick start, and runs twice to the same end (the retry is stored once)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /As a library[^\n]*\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(readFileSync(join(root, 'examples/quick-start.ts'), 'utf8'));
    const expected = '1 user: Quero marcar uma consulta\n2 assistant: Com qual médico?\nstate: choosing_doctor\n';
    expect(run(dir, 'quick-start.ts')).toBe(expected);
    expect(run(dir, 'quick-start.ts')).toBe(expected);
  });

  it('booking-bot.ts keeps its place across processes, and a retried message changes nothing', () => {
    const bot = (id: string, text: string) => run(dir, 'booking-bot.ts', id, text).trim();
    expect(bot('m1', 'hi')).toMatch(/What is your name/);
    expect(bot('m2', 'Ana')).toBe('Thanks, Ana. Which doctor: Silva or Souza?');
    expect(bot('m3', 'the dentist')).toMatch(/^Sorry/);
    expect(bot('m4', 'Dr. Souza please')).toMatch(/^Dr\. Souza\. When/);
    expect(bot('m4', 'Dr. Souza please')).toMatch(/already handled/);
    expect(bot('m2', 'Ana')).toMatch(/already handled/);
    expect(bot('m5', 'Friday 10:00')).toBe('Booked: Ana with Dr. Souza, Friday 10:00. See you then!');
    expect(bot('m6', 'when was it?')).toBe('You are booked with Dr. Souza, Friday 10:00. Send "new" to book another.');
  }, 180_000); // eight processes one after the other, each compiling TypeScript: minutes on a busy machine
});
