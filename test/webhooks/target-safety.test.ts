import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { isPrivateAddress } from '../../src/webhooks/address-policy.js';
import { createWebhookDeliverer } from '../../src/webhooks/webhook-deliverer.js';
import { createPoster } from '../../src/webhooks/webhook-post.js';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/fake-webhook-receiver.js';
import { waitFor } from '../helpers/wait.js';

describe('outgoing webhook targets', () => {
  let store: Store;
  let app: App;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    store = await openStore({ url: 'sqlite::memory:' });
    app = await buildApp({ store, logger: false });
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await receiver.close();
  });

  it('refuses loopback, private, link-local and metadata targets at creation, after DNS resolution', async () => {
    for (const url of ['http://127.0.0.1:9/x', 'http://10.1.2.3/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:8080/', 'http://192.168.0.10/', 'http://localhost:8080/hook', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/']) {
      const response = await app.inject({ method: 'POST', url: '/v1/webhooks', payload: { url, events: ['*'] } });
      expect(response.statusCode, url).toBe(400);
      expect(response.json().error, url).toMatchObject({ code: 'invalid_argument', details: { reason: 'private_address' } });
    }
    // A public address is taken; changing it to a private one is refused the same way, and changes nothing.
    const { id } = await store.webhooks.create({ url: 'https://203.0.113.9/hook', events: ['*'] });
    const patched = await app.inject({ method: 'PATCH', url: `/v1/webhooks/${id}`, payload: { url: 'http://10.0.0.5/hook' } });
    expect(patched.json().error).toMatchObject({ code: 'invalid_argument', details: { reason: 'private_address' } });
    expect((await store.webhooks.get(id))!.url).toBe('https://203.0.113.9/hook');
  });

  it('classifies addresses', () => {
    for (const a of ['127.0.0.1', '127.255.0.1', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00:ec2::254', '::ffff:10.0.0.1', '224.0.0.1', '255.255.255.255']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('refuses the connection at delivery time too, whatever the URL was when it was created', async () => {
    const poster = createPoster({ allowPrivate: false, timeoutMs: 5_000 });
    try {
      const byName = await poster.post(`http://localhost:${receiver.port}/hook`, {}, '{}');
      expect(byName).toMatchObject({ ok: false, status: null, error: expect.stringMatching(/refused/) });
      const byAddress = await poster.post(`${receiver.url}/hook`, {}, '{}');
      expect(byAddress).toMatchObject({ ok: false, status: null, error: expect.stringMatching(/refused/) });
      expect(receiver.requests).toHaveLength(0);
    } finally {
      poster.close();
    }
    // An endpoint written by a server that allowed private targets is not delivered by one that does not.
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-private-'));
    const url = `sqlite:${join(dir, 'p.db')}`;
    try {
      const permissive = await openStore({ url, allowPrivateWebhooks: true });
      const endpoint = await permissive.webhooks.create({ url: `${receiver.url}/hook`, events: ['*'] });
      await permissive.close();
      const strict = await openStore({ url });
      const deliverer = createWebhookDeliverer({ store: strict, owner: 'strict', scanMs: 20, retryBaseMs: 60_000 });
      try {
        deliverer.start();
        await strict.conversations.create({});
        await waitFor('a refused attempt', async () => (await strict.webhooks.deliveries(endpoint.id)).data.length > 0);
        expect((await strict.webhooks.deliveries(endpoint.id)).data[0]).toMatchObject({ status: 'failed', httpStatus: null, error: expect.stringMatching(/^refused/) });
        expect(receiver.requests).toHaveLength(0);
      } finally {
        await deliverer.stop();
        await strict.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('follows no redirect and reads no more of an answer than it needs', async () => {
    const { createServer } = await import('node:http');
    const { listenLocal } = await import('../fakes/listen.js');
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url!);
      if (req.url === '/redirect') return void res.writeHead(302, { location: '/elsewhere' }).end();
      // An answer that never ends: 200 KiB, then nothing more. Read to the cap, the attempt is over; read to its end, it would time out.
      res.writeHead(200);
      res.write(Buffer.alloc(200 * 1024, 97));
    });
    const listening = await listenLocal(server);
    const poster = createPoster({ allowPrivate: true, timeoutMs: 5_000 });
    try {
      expect(await poster.post(`${listening.url}/redirect`, {}, '{}')).toMatchObject({ ok: false, status: 302, error: 'HTTP 302' });
      expect(hits).toEqual(['/redirect']);
      expect(await poster.post(`${listening.url}/big`, {}, '{}')).toMatchObject({ ok: true, status: 200 });
    } finally {
      poster.close();
      await listening.close();
    }
  });

  it('times out an attempt that gets no answer', async () => {
    const { createServer } = await import('node:http');
    const { listenLocal } = await import('../fakes/listen.js');
    const server = createServer(() => {}); // never answers
    const listening = await listenLocal(server);
    const poster = createPoster({ allowPrivate: true, timeoutMs: 200 });
    try {
      expect(await poster.post(`${listening.url}/`, {}, '{}')).toMatchObject({ ok: false, status: null, error: expect.stringMatching(/^timeout/) });
    } finally {
      poster.close();
      await listening.close();
    }
    // Through the deliverer: the attempt is logged as failed with the timeout.
    const permissive = await openStore({ url: 'sqlite::memory:', allowPrivateWebhooks: true });
    const silent = await listenLocal(createServer(() => {}));
    const deliverer = createWebhookDeliverer({ store: permissive, owner: 't', timeoutMs: 200, retryBaseMs: 60_000, scanMs: 50 });
    try {
      const endpoint = await permissive.webhooks.create({ url: silent.url, events: ['*'] });
      deliverer.start();
      await permissive.conversations.create({});
      await waitFor('a failed attempt', async () => (await permissive.webhooks.deliveries(endpoint.id)).data.length > 0);
      expect((await permissive.webhooks.deliveries(endpoint.id)).data[0]).toMatchObject({ status: 'failed', httpStatus: null, error: expect.stringMatching(/^timeout/) });
      expect(await permissive.webhooks.get(endpoint.id)).toMatchObject({ status: 'failing', attempts: 1, nextAttemptAt: expect.any(String) });
    } finally {
      await deliverer.stop();
      await permissive.close();
      await silent.close();
    }
  });
});
