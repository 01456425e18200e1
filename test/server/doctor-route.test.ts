import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctor } from '../../src/cli/doctor.js';
import { openStore } from '../../src/index.js';
import { buildApp } from '../../src/server/app.js';

const ADMIN = 'admin-key-for-the-doctor-route-0123456789';

describe('GET /v1/doctor', () => {
  it("runs colloquy doctor on the server's database for the admin key, and for nobody else", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-doctor-route-'));
    const url = `sqlite:${join(dir, 'd.db')}`;
    const store = await openStore({ url });
    const { secret } = await store.keys.create({ tenant: 'default', name: 'tenant key' });
    const app = await buildApp({ store, logger: false, adminKey: ADMIN, doctor: () => doctor(url) });
    const plain = await buildApp({ store, logger: false, adminKey: ADMIN });
    try {
      await store.conversations.create({});
      const report = await app.inject({ method: 'GET', url: '/v1/doctor', headers: { authorization: `Bearer ${ADMIN}` } });
      expect(report.statusCode, report.body).toBe(200);
      expect(report.json()).toMatchObject({ ok: expect.any(Boolean), checks: expect.arrayContaining([expect.objectContaining({ name: 'schema', ok: true }), expect.objectContaining({ name: 'integrity', ok: true })]) });
      expect(report.json().checks.find((c: { name: string }) => c.name === 'contents').detail).toMatch(/1 open/);
      expect((await app.inject({ method: 'GET', url: '/v1/doctor', headers: { authorization: `Bearer ${secret}` } })).statusCode).toBe(403);
      expect((await app.inject({ method: 'GET', url: '/v1/doctor' })).statusCode).toBe(401);
      expect((await plain.inject({ method: 'GET', url: '/v1/doctor', headers: { authorization: `Bearer ${ADMIN}` } })).statusCode).toBe(404);
    } finally {
      await app.close();
      await plain.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
