import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';

const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('colloquy CLI', () => {
  it('refuses to serve on a public address without API keys, saying why', () => {
    const result = run('serve', '--db', 'sqlite::memory:', '--host', '0.0.0.0', '--port', '0');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Refusing to serve on 0\.0\.0\.0 without API keys/);
  });

  it('refuses a short admin key, --open off loopback and a bad limit, saying what to do', () => {
    const short = spawnSync(process.execPath, ['--import', 'tsx', cli, 'serve', '--db', 'sqlite::memory:', '--port', '0'], {
      encoding: 'utf8', timeout: 20_000, env: { ...process.env, COLLOQUY_ADMIN_KEY: '5820' },
    });
    expect(short.status).toBe(1);
    expect(short.stderr).toMatch(/COLLOQUY_ADMIN_KEY is 4 characters long; use at least 32 random ones, such as the output of `openssl rand -base64 32`/);
    const open = run('serve', '--db', 'sqlite::memory:', '--host', '0.0.0.0', '--port', '0', '--open');
    expect(open.status).toBe(1);
    expect(open.stderr).toMatch(/--open serves without keys: only on a loopback address/);
    const limit = run('serve', '--db', 'sqlite::memory:', '--port', '0', '--headers-timeout', 'soon');
    expect(limit.status).toBe(1);
    expect(limit.stderr).toMatch(/Invalid --headers-timeout "soon"/);
    const spaced = spawnSync(process.execPath, ['--import', 'tsx', cli, 'serve', '--db', 'sqlite::memory:', '--port', '0'], {
      encoding: 'utf8', timeout: 20_000, env: { ...process.env, COLLOQUY_ADMIN_KEY: 'a key with spaces that is long enough to pass' },
    });
    expect(spaced.stderr).toMatch(/32 to 200 characters without spaces/);
    // A yes/no variable means what it says: "false" keeps the metrics behind the admin key, a typo is refused.
    const typo = spawnSync(process.execPath, ['--import', 'tsx', cli, 'serve', '--db', 'sqlite::memory:', '--port', '0'], {
      encoding: 'utf8', timeout: 20_000, env: { ...process.env, COLLOQUY_METRICS_PUBLIC: 'maybe' },
    });
    expect(typo.status).toBe(1);
    expect(typo.stderr).toMatch(/Invalid COLLOQUY_METRICS_PUBLIC "maybe": 1 or 0/);
  }, 120_000); // five processes one after the other, each compiling TypeScript

  it('creates a key that expires, and lists it as such', () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-expiring-'));
    try {
      const db = `sqlite:${join(dir, 'keys.db')}`;
      expect(run('keys', 'create', '--tenant', 'clinic', '--expires', '90d', '--db', db).status).toBe(0);
      expect(run('keys', 'create', '--tenant', 'clinic', '--expires', '2020-01-01T00:00:00Z', '--db', db).stderr).toMatch(/in the past/);
      expect(run('keys', 'list', '--db', db).stdout).toMatch(/\tactive until 20\d\d-/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('documents its commands and options', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/serve/);
    for (const command of ['migrate', 'doctor', 'export', 'import', 'keys']) expect(help.stdout).toContain(command);
    const version = run('--version');
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
    const serveHelp = run('serve', '--help');
    expect(serveHelp.stdout).toMatch(/--db <url>.*COLLOQUY_DB_URL/s);
    expect(serveHelp.stdout).toMatch(/--port <port>.*PORT/s);
  });

  it('creates, lists and revokes API keys; a key is printed once and never listed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-keys-'));
    try {
      const db = `sqlite:${join(dir, 'keys.db')}`;
      const created = run('keys', 'create', '--tenant', 'clinic', '--name', 'bot', '--db', db);
      expect(created.status).toBe(0);
      const secret = created.stdout.trim();
      expect(created.stderr).toMatch(new RegExp(`^database: ${db}\n`)); // which database it acts on: stderr, as stdout is the secret
      expect(secret).toMatch(/^cq_[A-Za-z0-9_-]{32}$/);
      const listed = run('keys', 'list', '--db', db);
      expect(listed.stdout).toMatch(/\tclinic\tbot\tcq_/);
      expect(listed.stdout).not.toContain(secret);
      const id = listed.stdout.split('\t')[0]!;
      expect(run('keys', 'revoke', id, '--db', db).stdout).toMatch(/revoked/);
      expect(run('keys', 'revoke', id, '--db', db).status).toBe(1);
      expect(run('keys', 'create', '--tenant', 'no spaces', '--db', db).status).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ends an export quietly, with status 0, when its reader closes the pipe (`colloquy export | head`), and fails loudly on a full disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-epipe-'));
    try {
      const db = `sqlite:${join(dir, 'big.db')}`;
      const store = await openStore({ url: db });
      const { id } = await store.conversations.create({});
      // Well over a pipe's 64 KiB buffer, so that the export is still writing when head has gone.
      for (let i = 0; i < 2000; i++) await store.messages.append(id, { role: 'user', content: 'x'.repeat(200) });
      await store.close();
      const piped = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" --import tsx "${cli}" export --db "${db}" | head -1`], { encoding: 'utf8', timeout: 60_000 });
      expect(piped.stderr).toBe('');
      expect(piped.status).toBe(0);
      expect(JSON.parse(piped.stdout).kind).toBe('colloquy-export');
      // A file that cannot be written is a failure that says so, never an exit 0 with half a file.
      const full = run('export', '--db', db, '--out', '/dev/full');
      expect(full.status).toBe(1);
      expect(full.stderr).toMatch(/Could not write \/dev\/full: ENOSPC.*incomplete/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migrates a database and says so', () => {
    const result = run('migrate', '--db', 'sqlite::memory:');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/applied 0001-initial, 0002-api-keys, 0003-contacts-by-tenant/);
  });
});
