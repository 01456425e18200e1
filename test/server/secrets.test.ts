import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../helpers/server-process.js';

const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const SECRETS = { accessToken: 'EAAG-http-secret-token-1', appSecret: 'http-app-secret-2', verifyToken: 'http-verify-token-3' };
const KEY = 'a-secret-key-of-at-least-32-characters!';

/** Secret values never leave through the API, the logs, health, metrics or an export made without asking for them. */
describe('channel secrets over HTTP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-http-secrets-'));
  const db = `sqlite:${join(dir, 'server.db')}`;
  let server: ServerProcess;
  const seen: string[] = [];
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    seen.push(text);
    return { status: response.status, text, json: () => JSON.parse(text) };
  };

  beforeAll(async () => {
    server = await startServer(db, ['--log-level', 'trace'], { COLLOQUY_SECRET_KEY: KEY });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are set on create and update, and every answer shows only which are set', async () => {
    const created = await call('POST', '/v1/channels', { kind: 'whatsapp', name: 'Clinic', config: { phoneNumberId: '1055' }, secrets: SECRETS });
    expect(created.status).toBe(201);
    const channel = created.json();
    expect(channel.secrets).toEqual({ accessToken: true, appSecret: true, verifyToken: true });
    const patched = await call('PATCH', `/v1/channels/${channel.id}`, { config: { graphApiVersion: 'v26.0' }, secrets: { appSecret: null, accessToken: 'EAAG-rotated-token-4' } });
    expect(patched.status).toBe(200);
    expect(patched.json()).toMatchObject({ config: { phoneNumberId: '1055', graphApiVersion: 'v26.0' }, secrets: { accessToken: true, verifyToken: true } });
    expect(patched.json().secrets).not.toHaveProperty('appSecret');
    expect((await call('GET', `/v1/channels/${channel.id}`)).json()).toEqual({ ...patched.json(), health: expect.objectContaining({ status: expect.any(String) }) });
    expect((await call('GET', '/v1/channels?limit=1')).json()).toMatchObject({ data: [patched.json()], nextCursor: null });
    // A rejected change echoes no value and changes nothing.
    const bad = await call('PATCH', `/v1/channels/${channel.id}`, { secrets: { 'bad name': 'http-rejected-secret-5' } });
    expect(bad.status).toBe(400);
    expect(bad.json().error.code).toBe('invalid_argument');
    expect((await call('PATCH', `/v1/channels/${channel.id}`, { secrets: { accessToken: 7 } })).status).toBe(400);
    expect((await call('GET', `/v1/channels/${channel.id}`)).json()).toEqual({ ...patched.json(), health: expect.objectContaining({ status: expect.any(String) }) });
    expect((await call('PATCH', '/v1/channels/018f0000-0000-7000-8000-000000000000', { name: 'x' })).status).toBe(404);
    await call('GET', '/health/detailed');
    await call('GET', '/metrics');
    await call('GET', '/openapi.json');
  });

  it('appear in no answer, log line or default export', async () => {
    const exported = spawnSync(process.execPath, ['--import', 'tsx', cli, 'export', '--db', db], {
      encoding: 'utf8', timeout: 20_000, env: { ...process.env, COLLOQUY_SECRET_KEY: KEY },
    });
    expect(exported.status).toBe(0);
    expect(exported.stdout).toContain('"kind":"channel"');
    const everything = [...seen, server.output(), exported.stdout, exported.stderr].join('\n');
    expect(server.output()).toContain('PATCH'); // the logs are really there
    for (const value of [...Object.values(SECRETS), 'EAAG-rotated-token-4', 'http-rejected-secret-5', KEY]) expect(everything).not.toContain(value);
  });
});
