// CI step: the built package, installed without optional dependencies (so without the native better-sqlite3),
// serves on PostgreSQL, and asking it for SQLite says in one line what to install.
//   node scripts/check-package.mjs   (COLLOQUY_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';

const POSTGRES_URL = process.env.COLLOQUY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dir = mkdtempSync(join(tmpdir(), 'colloquy-package-'));
const schema = `package_check_${process.pid}`;
const fail = (message) => {
  throw new Error(`check-package: ${message}`);
};

/** Starts `colloquy serve`; resolves with its URL once it listens, or with its exit code and stderr if it exits first. */
function serve(bin, db) {
  const child = spawn(bin, ['serve', '--db', db, '--port', '0', '--log-level', 'warn'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = / at (http:\/\/\S+)\/v1 /.exec(line);
      if (match) resolve({ url: match[1], child });
    });
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

try {
  const [{ filename }] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'colloquy-package-check', private: true }));
  execFileSync('npm', ['install', '--omit=optional', '--no-audit', '--no-fund', join(dir, filename)], { cwd: dir, stdio: 'inherit' });
  if (existsSync(join(dir, 'node_modules', 'better-sqlite3'))) fail('better-sqlite3 was installed although optional dependencies were omitted');
  const bin = join(dir, 'node_modules', '.bin', 'colloquy');

  const server = await serve(bin, `${POSTGRES_URL}?schema=${schema}`);
  if (!server.url) fail(`colloquy serve on PostgreSQL exited with ${server.code}: ${server.stderr}`);
  try {
    const ready = await fetch(`${server.url}/health/ready`);
    if (ready.status !== 200) fail(`/health/ready answered ${ready.status}`);
    const created = await fetch(`${server.url}/v1/conversations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    if (created.status !== 201) fail(`POST /v1/conversations answered ${created.status}: ${await created.text()}`);
    const page = await fetch(`${server.url}/dashboard/`);
    const html = await page.text();
    const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    if (page.status !== 200 || !script) fail(`the packaged dashboard is missing: GET /dashboard/ answered ${page.status}`);
    if ((await fetch(`${server.url}${script}`)).status !== 200) fail(`the packaged dashboard's script ${script} is missing`);
  } finally {
    server.child.kill('SIGTERM');
  }

  const sqlite = await serve(bin, 'sqlite:./colloquy.db');
  if (sqlite.url) {
    sqlite.child.kill('SIGTERM');
    fail('colloquy serve opened SQLite without better-sqlite3');
  }
  const lines = sqlite.stderr.trim().split('\n');
  if (sqlite.code !== 1 || lines.length !== 1 || !lines[0].includes('npm install better-sqlite3')) {
    fail(`asking for SQLite without the driver should fail with one line naming what to install; got exit ${sqlite.code}: ${sqlite.stderr}`);
  }
  console.log(`check-package: ${filename} installed without optional dependencies serves on PostgreSQL with its dashboard; for SQLite it says: ${lines[0]}`);
} finally {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => client.end());
  rmSync(dir, { recursive: true, force: true });
}
