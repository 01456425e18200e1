import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeBackup } from '../../src/cli/backup.js';
import * as E from '../../src/domain/entities.js';
import { openStore } from '../../src/index.js';

const root = new URL('../../', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The ```sh blocks of a README section, as written. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

const section = (title: string) => {
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
};

const freePort = async () => {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
};

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describe('the README', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-readme-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("Quick start: its shell blocks run as pasted against a fresh `npm start`, twice, without an error or a second channel", async () => {
    const [setup, ...client] = shellBlocks(section('Quick start'));
    const commands = setup!.split('\n').map((line) => line.replace(/#.*/, '').trim()).filter(Boolean);
    expect(commands).toEqual(['npm install', 'npm start', 'npm test']);
    expect(client.length).toBeGreaterThan(0);
    // `npm install` builds dist/ (its prepare script); build it here instead of reinstalling. `npm test` is this run.
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });

    const port = await freePort();
    // The database goes to a temporary file, not ./data of the checkout; PORT and COLLOQUY_DB_URL are the documented variables.
    const server = spawn('npm', ['start'], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT: String(port), COLLOQUY_DB_URL: `sqlite:${join(dir, 'quickstart.db')}` },
    });
    const logs: string[] = [];
    server.stdout!.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    server.stderr!.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    const exited = once(server, 'exit');
    const base = `http://127.0.0.1:${port}`;
    try {
      for (let tries = 0; ; tries++) {
        if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) break;
        if (tries > 600 || server.exitCode !== null) throw new Error(`npm start did not serve:\n${logs.join('')}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }

      const runs: string[] = [];
      for (let run = 0; run < 2; run++) {
        for (const block of client) {
          const out = execFileSync('bash', ['-c', block.replaceAll('localhost:8080', `localhost:${port}`)], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
          expect(out).not.toMatch(/"error":\{|undefined/);
          runs.push(out);
        }
      }
      const ids = runs.map((out) => new RegExp(`^channel (${UUID}), conversation (${UUID})$`, 'm').exec(out)?.slice(1));
      expect(ids[0]).toHaveLength(2);
      expect(ids.at(-1)).toEqual(ids[0]);

      const channels = (await (await fetch(`${base}/v1/channels`)).json()) as { data: unknown[] };
      expect(channels.data).toHaveLength(1);
      const messages = (await (await fetch(`${base}/v1/conversations/${ids[0]![1]}/messages`)).json()) as { data: Array<{ role: string }> };
      expect(messages.data.map((m) => m.role)).toEqual(['user', 'assistant']);
    } finally {
      // SIGTERM to npm reaches the server (the start script execs node): it stops, and the port closes.
      server.kill('SIGTERM');
      await exited;
    }
    expect(await fetch(`${base}/health`).then(() => 'answering', () => 'closed')).toBe('closed');
  }, 120_000);

  it('lists every enum as the schemas define it', () => {
    const enumOf = (schema: object) => (schema as { enum: string[] }).enum;
    const values = section('Library API').split('### Values')[1]!.split('###')[0]!;
    const row = (field: string) => [...new RegExp(`^\\| ${field} \\| ([^\\n]*)$`, 'm').exec(values)![1]!.split(' (')[0]!.matchAll(/`([a-z._]+)`/g)].map((m) => m[1]);
    expect(row('channel `kind`')).toEqual(enumOf(E.ChannelKindSchema));
    expect(row('conversation `status`')).toEqual(enumOf(E.ConversationStatusSchema));
    expect(row('message `role`')).toEqual(enumOf(E.MessageRoleSchema));
    expect(row('message `status`')).toEqual(enumOf(E.MessageStatusSchema));
    expect(row('event `type`')).toEqual(enumOf(E.EventTypeSchema));
    expect(row('message `sender`')).toEqual(enumOf(E.MessageSenderSchema));
    expect(row('channel health `status`')).toEqual(enumOf(E.ChannelHealthStatusSchema));
  });

  it('has what a project is expected to have: a LICENSE matching package.json, and a .env.example naming every variable', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    for (const line of example.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^[A-Z_]+=\S*$/);
    const cli = ['main.ts', 'serve.ts'].map((f) => readFileSync(join(root, 'src/cli', f), 'utf8')).join('\n');
    const read = new Set([...cli.matchAll(/\.env\('([A-Z_]+)'\)|process\.env\.([A-Z_]+)/g)].map((m) => m[1] ?? m[2]!));
    expect(read.size).toBeGreaterThan(8);
    for (const name of read) {
      expect(example, name).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
      expect(readme, name).toContain(`\`${name}\``);
    }
  });

  it('Scheduled backups: the restore drill runs as pasted on a backup of its name, and the restored database has its messages, API key and channel', async () => {
    const [drill] = shellBlocks(section('Scheduled backups'));
    expect(drill).toMatch(/colloquy import .*colloquy doctor/s);
    const work = join(dir, 'drill');
    const backups = join(work, 'backups');
    const bin = join(work, 'bin');
    mkdirSync(bin, { recursive: true });
    const KEY = 'a-drill-key-that-is-long-enough-0123456789';
    const source = await openStore({ url: `sqlite:${join(work, 'source.db')}`, secretKey: KEY });
    await source.channels.create({ kind: 'whatsapp', name: 'clinic', config: { phoneNumberId: '106' }, secrets: { accessToken: 'EAAG-drill', appSecret: 'app', verifyToken: 'v' } });
    const { secret } = await source.keys.create({ tenant: 'default', name: 'ops' });
    const conversation = await source.conversations.create({ title: 'kept' });
    await source.messages.append(conversation.id, { role: 'user', content: 'hello' });
    await writeBackup(source, backups, Date.parse('2026-12-01T00:00:00Z'));
    await source.close();
    // `colloquy` as installed; the backup where the block says it is.
    writeFileSync(join(bin, 'colloquy'), `#!/bin/sh\nexec "${process.execPath}" --import "${root}node_modules/tsx/dist/loader.mjs" "${root}src/cli/main.ts" "$@"\n`);
    chmodSync(join(bin, 'colloquy'), 0o755);
    const script = drill!.replaceAll('/var/backups/colloquy/', `${backups}/`);
    execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: work, env: { ...process.env, KEY, PATH: `${bin}:${process.env.PATH}` }, stdio: 'pipe', timeout: 120_000 });
    const restored = await openStore({ url: `sqlite:${join(work, 'restored.db')}`, secretKey: KEY });
    try {
      expect((await restored.messages.list(conversation.id)).data.map((m) => m.content)).toEqual(['hello']);
      expect((await restored.keys.authenticate(secret))?.tenantId).toBe('default');
      expect((await restored.channels.list()).data).toHaveLength(1);
    } finally {
      await restored.close();
    }
  });

  it('says in its first line what a shell block outside the Quick start needs when it reaches an outside service', () => {
    const outside = shellBlocks(readme.replace(section('Quick start'), ''));
    for (const block of outside) {
      if (/graph\.facebook\.com|api\.telegram\.org|api\.openai\.com|api\.anthropic\.com/.test(block)) expect(block.split('\n')[0]).toMatch(/^# needs /);
    }
  });
});
