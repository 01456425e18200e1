import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { storeTargets } from '../helpers/services.js';

const MISSING = '018f0000-0000-7000-8000-000000000000';

for (const target of storeTargets) {
  describe(`HTTP API on ${target.name}`, async () => {
    const opened = await target.open();
    describe.skipIf(!opened)('', () => {
      let app: App;
      beforeAll(async () => {
        app = await buildApp({ store: opened!.store, logger: false });
      });
      afterAll(async () => {
        await app?.close();
        await opened?.store.close();
        await opened?.cleanup();
      });
      const json = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
        app.inject({ method: method as 'GET', url, ...(body === undefined ? {} : { payload: body as object }), headers });

      it('creates, reads, lists, updates and deletes conversations', async () => {
        const created = await json('POST', '/v1/conversations', { title: 'Consulta' });
        expect(created.statusCode).toBe(201);
        const conversation = created.json();
        expect(conversation).toMatchObject({ title: 'Consulta', status: 'open', version: 1 });
        expect((await json('GET', `/v1/conversations/${conversation.id}`)).json()).toEqual(conversation);
        const list = await json('GET', '/v1/conversations?limit=1');
        expect(list.statusCode).toBe(200);
        expect(list.json().data).toHaveLength(1);
        const patched = await json('PATCH', `/v1/conversations/${conversation.id}`, { status: 'closed', expectedVersion: 1 });
        expect(patched.json()).toMatchObject({ status: 'closed', version: 2 });
        const stale = await json('PATCH', `/v1/conversations/${conversation.id}`, { title: 'x', expectedVersion: 1 });
        expect(stale.statusCode).toBe(409);
        expect(stale.json().error.code).toBe('version_mismatch');
        expect((await json('DELETE', `/v1/conversations/${conversation.id}`)).statusCode).toBe(204);
        expect((await json('GET', `/v1/conversations/${conversation.id}`)).statusCode).toBe(404);
        expect((await json('DELETE', `/v1/conversations/${conversation.id}`)).statusCode).toBe(404);
      });

      it('lists conversations with their contacts on request (include=contact)', async () => {
        const channel = (await json('POST', '/v1/channels', { kind: 'api', name: `inbox-${Date.now()}` })).json();
        const inbound = (await json('POST', '/v1/inbound', { channelId: channel.id, from: { address: '5511988887777', name: 'Ana' }, externalId: `in-${Date.now()}`, content: 'oi' })).json();
        await json('POST', '/v1/conversations', { title: 'no contact' });
        const page = (await json('GET', `/v1/conversations?channelId=${channel.id}&include=contact`)).json();
        expect(page.data).toEqual([expect.objectContaining({ id: inbound.conversation.id, contact: { id: inbound.conversation.contactId, name: 'Ana', handles: [{ channel: 'api', address: '5511988887777' }] } })]);
        const all = (await json('GET', '/v1/conversations?include=contact&limit=200')).json();
        expect(all.data.find((c: { title: string }) => c.title === 'no contact').contact).toBeNull();
        expect((await json('GET', '/v1/conversations?limit=200')).json().data.every((c: object) => !('contact' in c))).toBe(true);
        expect((await json('GET', '/v1/conversations?include=contacts')).statusCode).toBe(400);
      });

      it('marks a conversation read, with or without a body, and lists its unread count', async () => {
        const { id } = (await json('POST', '/v1/conversations', {})).json();
        for (const content of ['a', 'b', 'c']) await json('POST', `/v1/conversations/${id}/messages`, { role: 'user', content });
        const listed = () => json('GET', '/v1/conversations?limit=200').then((r) => r.json().data.find((c: { id: string }) => c.id === id));
        expect(await listed()).toMatchObject({ lastSeq: 3, readSeq: 0, unreadCount: 3 });
        const partly = await json('POST', `/v1/conversations/${id}/read`, { seq: 1 });
        expect(partly.statusCode).toBe(200);
        expect(partly.json()).toMatchObject({ id, readSeq: 1, unreadCount: 2, version: 1 });
        // No body at all (nor a content-type): up to the newest message.
        const all = await app.inject({ method: 'POST', url: `/v1/conversations/${id}/read` });
        expect(all.statusCode).toBe(200);
        expect(all.json()).toMatchObject({ readSeq: 3, unreadCount: 0, version: 1 });
        expect(all.json()).toEqual((await json('GET', `/v1/conversations/${id}`)).json());
        expect((await json('POST', `/v1/conversations/${id}/read`, {})).json()).toEqual(all.json());
        expect((await json('POST', `/v1/conversations/${id}/read`, { seq: 2 })).json()).toEqual(all.json());
        await json('POST', `/v1/conversations/${id}/messages`, { role: 'user', content: 'd' });
        expect(await listed()).toMatchObject({ lastSeq: 4, readSeq: 3, unreadCount: 1 });

        for (const body of [{ seq: -1 }, { seq: 1.5 }, { seq: '2' }, { upTo: 1 }]) {
          const bad = await json('POST', `/v1/conversations/${id}/read`, body);
          expect(bad.statusCode, JSON.stringify(body)).toBe(400);
          expect(bad.json().error.code).toBe('invalid_argument');
        }
        expect((await json('POST', `/v1/conversations/${id}/read`, { seq: -1 })).json().error.details.errors[0].path).toBe('/seq');
        const missing = await json('POST', `/v1/conversations/${MISSING}/read`);
        expect(missing.statusCode).toBe(404);
        expect(missing.json().error.code).toBe('not_found');
        expect((await json('POST', '/v1/conversations/not-an-id/read')).statusCode).toBe(400);
        expect(await listed()).toMatchObject({ readSeq: 3, unreadCount: 1 });
      });

      it('appends idempotently with Idempotency-Key and pages history by seq', async () => {
        const { id } = (await json('POST', '/v1/conversations', {})).json();
        const first = await json('POST', `/v1/conversations/${id}/messages`, { role: 'user', content: 'oi' }, { 'idempotency-key': 'k-1' });
        expect(first.statusCode).toBe(201);
        expect(first.json()).toMatchObject({ duplicate: false, message: { seq: 1, idempotencyKey: 'k-1' } });
        const again = await json('POST', `/v1/conversations/${id}/messages`, { role: 'user', content: 'oi' }, { 'idempotency-key': 'k-1' });
        expect(again.statusCode).toBe(200);
        expect(again.json()).toEqual({ duplicate: true, message: first.json().message });
        for (let i = 2; i <= 5; i++) await json('POST', `/v1/conversations/${id}/messages`, { role: 'assistant', content: `m${i}` });
        const page1 = (await json('GET', `/v1/conversations/${id}/messages?order=desc&limit=2`)).json();
        expect(page1.data.map((m: { seq: number }) => m.seq)).toEqual([5, 4]);
        const page2 = (await json('GET', `/v1/conversations/${id}/messages?order=desc&limit=2&cursor=${page1.nextCursor}`)).json();
        expect(page2.data.map((m: { seq: number }) => m.seq)).toEqual([3, 2]);
        const asc = (await json('GET', `/v1/conversations/${id}/messages?after=3`)).json();
        expect(asc).toMatchObject({ nextCursor: null });
        expect(asc.data.map((m: { seq: number }) => m.seq)).toEqual([4, 5]);
        expect((await json('GET', `/v1/conversations/${MISSING}/messages`)).statusCode).toBe(404);
      });

      it('serialises every field of messages and conversations exactly as stored', async () => {
        const channel = (await json('POST', '/v1/channels', { kind: 'whatsapp', name: 'full' })).json();
        const inbound = await json('POST', '/v1/inbound', {
          channelId: channel.id, from: { address: '77', name: 'Ana' }, externalId: 'full-1', content: 'oi', parts: [{ type: 'image', url: 'x' }],
          metadata: { wa: { phone: '+55' } },
        });
        const { message: m1, conversation } = inbound.json();
        expect(m1).toEqual(await opened!.store.messages.get(m1.id));
        expect(conversation).toEqual(await opened!.store.conversations.get(conversation.id));
        const appended = await json('POST', `/v1/conversations/${conversation.id}/messages`, {
          role: 'assistant', content: 'Olá', parts: [{ type: 'buttons', options: ['a', 'b'], nested: { deep: [1, null, true] } }],
          intent: 'greet', confidence: 0.75, entities: ['list', { of: 'things' }], metadata: { model: 'm', tokens: { in: 3, out: 4 } },
        });
        const m2 = appended.json().message;
        expect(m2).toEqual(await opened!.store.messages.get(m2.id));
        expect(m2).toMatchObject({ intent: 'greet', confidence: 0.75, entities: ['list', { of: 'things' }], parts: [{ nested: { deep: [1, null, true] } }] });
        const page = (await json('GET', `/v1/conversations/${conversation.id}/messages`)).json();
        expect(page.data).toEqual((await opened!.store.messages.list(conversation.id)).data);
      });

      it('keeps state with compare-and-set', async () => {
        const { id } = (await json('POST', '/v1/conversations', {})).json();
        expect((await json('GET', `/v1/conversations/${id}/state`)).json()).toMatchObject({ version: 0, data: {} });
        const put = await json('PUT', `/v1/conversations/${id}/state`, { state: 'ask_doctor', data: { patient: 'Ana' }, expectedVersion: 0 });
        expect(put.json()).toMatchObject({ state: 'ask_doctor', version: 1 });
        const stale = await json('PUT', `/v1/conversations/${id}/state`, { state: 'x', expectedVersion: 0 });
        expect(stale.statusCode).toBe(409);
        expect(stale.json().error).toMatchObject({ code: 'version_mismatch', details: { currentVersion: 1 } });
      });

      it('ingests inbound messages: 201 stored, 200 duplicate; contacts export and erase', async () => {
        const channel = (await json('POST', '/v1/channels', { kind: 'whatsapp', name: 'clinic' })).json();
        const body = { channelId: channel.id, from: { address: '5511', name: 'Ana' }, externalId: 'wamid.1', content: 'oi' };
        const first = await json('POST', '/v1/inbound', body);
        expect(first.statusCode).toBe(201);
        expect(first.json()).toMatchObject({ duplicate: false, created: true, reopened: false });
        const retries = await Promise.all(Array.from({ length: 20 }, () => json('POST', '/v1/inbound', body)));
        expect(retries.every((r) => r.statusCode === 200 && r.json().duplicate === true)).toBe(true);
        const contactId = first.json().conversation.contactId;
        const exported = await json('GET', `/v1/contacts/${contactId}/export`);
        expect(exported.json().conversations[0].messages).toHaveLength(1);
        expect((await json('DELETE', `/v1/contacts/${contactId}`)).statusCode).toBe(204);
        expect((await json('GET', `/v1/contacts/${contactId}`)).statusCode).toBe(404);
        expect((await json('GET', `/v1/conversations/${first.json().conversation.id}`)).statusCode).toBe(404);
      });

      it('lists contacts and erases all conversations of one contact', async () => {
        const contact = (await json('POST', '/v1/contacts', { handle: { channel: 'web', address: 'erase-me' } })).json();
        const a = (await json('POST', '/v1/conversations', { contactId: contact.id })).json();
        const b = (await json('POST', '/v1/conversations', { contactId: contact.id })).json();
        const listed = await json('GET', '/v1/contacts?limit=200');
        expect(listed.json().data.map((c: { id: string }) => c.id)).toContain(contact.id);
        const erased = await json('DELETE', `/v1/conversations?contactId=${contact.id}`);
        expect(erased.statusCode).toBe(200);
        expect(erased.json().deleted.sort()).toEqual([a.id, b.id].sort());
        expect((await json('GET', `/v1/conversations/${a.id}`)).statusCode).toBe(404);
        expect((await json('DELETE', `/v1/conversations?contactId=${MISSING}`)).statusCode).toBe(404);
        expect((await json('DELETE', '/v1/conversations')).statusCode).toBe(400);
      });

      it('manages channels, contacts and agents', async () => {
        expect((await json('GET', '/v1/channels')).json().data.length).toBeGreaterThanOrEqual(0);
        const contact = await json('POST', '/v1/contacts', { handle: { channel: 'telegram', address: '42' }, name: 'Bo' });
        expect(contact.json()).toMatchObject({ name: 'Bo' });
        const agent = await json('POST', '/v1/agents', { name: 'receptionist', model: 'openai:gpt-4o-mini' });
        expect(agent.statusCode).toBe(201);
        expect((await json('POST', '/v1/agents', { name: 'receptionist', model: 'openai:x' })).statusCode).toBe(409);
        expect((await json('PATCH', `/v1/agents/${agent.json().id}`, { instructions: 'Be kind.' })).json()).toMatchObject({ instructions: 'Be kind.' });
        expect((await json('DELETE', `/v1/agents/${agent.json().id}`)).statusCode).toBe(204);
        expect((await json('GET', '/v1/conversations/x/context')).statusCode).toBe(400);
      });

      it('creates a channel once per Idempotency-Key: 201 the first time, 200 with the same channel after', async () => {
        const body = { kind: 'whatsapp', name: `keyed-${target.name}` };
        const key = { 'idempotency-key': `channel-${target.name}` };
        const answers = await Promise.all(Array.from({ length: 10 }, () => json('POST', '/v1/channels', body, key)));
        expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
        expect(new Set(answers.map((a) => a.json().id)).size).toBe(1);
        const page = (await json('GET', '/v1/channels?limit=200')).json();
        expect(page.data.filter((c: { name: string }) => c.name === body.name)).toHaveLength(1);
        // Without the header every POST is a new channel; the key is a header, not a body field.
        expect((await json('POST', '/v1/channels', body)).statusCode).toBe(201);
        const inBody = await json('POST', '/v1/channels', { ...body, idempotencyKey: 'k' });
        expect(inBody.statusCode).toBe(400);
        expect(inBody.json().error.details.errors[0].path).toBe('/idempotencyKey');
      });

      it('does over HTTP what the library does: one message, its delivery status, a contact by handle, the event log as a page', async () => {
        const { id: channelId } = (await json('POST', '/v1/channels', { kind: 'whatsapp', name: `parity-${target.name}` })).json();
        const address = target.name === 'sqlite' ? '5511900000001' : '5511900000002';
        const inbound = (await json('POST', '/v1/inbound', { channelId, from: { address }, externalId: `p-${target.name}`, content: 'oi' })).json();
        const reply = (await json('POST', `/v1/conversations/${inbound.conversation.id}/messages`, { role: 'assistant', content: 'olá' })).json().message;
        expect((await json('GET', `/v1/messages/${reply.id}`)).json()).toEqual(reply);
        expect((await json('GET', `/v1/messages/${MISSING}`)).statusCode).toBe(404);

        // Forward only, with the provider's time; a late, older receipt changes nothing.
        const at = '2026-12-01T10:00:00.000Z';
        const read = await json('POST', `/v1/messages/${reply.id}/status`, { status: 'read', at });
        expect(read.statusCode).toBe(200);
        expect(read.json()).toMatchObject({ changed: true, message: { id: reply.id, status: 'read', statusAt: at } });
        const late = (await json('POST', `/v1/messages/${reply.id}/status`, { status: 'delivered' })).json();
        expect(late).toMatchObject({ changed: false, message: { status: 'read', statusAt: at } });
        expect((await json('GET', `/v1/messages/${reply.id}`)).json()).toMatchObject({ status: 'read' });
        const bad = await json('POST', `/v1/messages/${reply.id}/status`, { status: 'seen' });
        expect(bad.statusCode).toBe(400);
        expect(bad.json().error.details.errors[0]).toMatchObject({ path: '/status', message: expect.stringContaining('"delivered"') });
        expect((await json('POST', `/v1/messages/${reply.id}/status`, { status: 'sent', at: 1764580000 })).statusCode).toBe(400);
        expect((await json('POST', `/v1/messages/${MISSING}/status`, { status: 'sent' })).statusCode).toBe(404);

        const byHandle = (await json('GET', `/v1/contacts?channel=whatsapp&address=${address}`)).json();
        expect(byHandle).toEqual({ data: [expect.objectContaining({ id: inbound.conversation.contactId })], nextCursor: null });
        expect((await json('GET', '/v1/contacts?channel=whatsapp&address=nobody')).json()).toEqual({ data: [], nextCursor: null });
        expect((await json('GET', '/v1/contacts?channel=whatsapp')).json().error.details.errors[0].path).toBe('/address');

        const page = await json('GET', `/v1/events?conversationId=${inbound.conversation.id}&limit=2`, undefined, { accept: 'application/json' });
        expect(page.headers['content-type']).toMatch(/application\/json/);
        expect(page.json().data.map((e: { type: string }) => e.type)).toEqual(['conversation.created', 'message.created']);
        const rest = (await json('GET', `/v1/events?conversationId=${inbound.conversation.id}&after=${page.json().nextCursor}`, undefined, { accept: 'application/json' })).json();
        expect(rest.data.map((e: { type: string }) => e.type)).toEqual(['message.created', 'message.status']);
      });

      it('answers every bad request with a 4xx JSON error and writes nothing', async () => {
        const { id } = (await json('POST', '/v1/conversations', {})).json();
        const url = `/v1/conversations/${id}/messages`;
        const raw = (payload: string | Buffer, contentType = 'application/json') =>
          app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } });
        const cases: Array<[string, Promise<{ statusCode: number; json(): any }>, number, string]> = [
          ['malformed JSON', raw('{"role": "user", "content": '), 400, 'invalid_argument'],
          ['empty body', raw(''), 400, 'invalid_argument'],
          ['wrong type', raw(JSON.stringify({ role: 'user', content: 42 })), 400, 'invalid_argument'],
          ['unknown field', raw(JSON.stringify({ role: 'user', content: 'x', admin: true })), 400, 'invalid_argument'],
          ['NUL byte', raw(JSON.stringify({ role: 'user', content: 'a\u0000b' })), 400, 'invalid_argument'],
          ['invalid UTF-8', raw(Buffer.from([0x7b, 0x22, 0x72, 0x6f, 0x6c, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])), 400, 'invalid_argument'],
          ['lone surrogate', raw('{"role":"user","content":"\\ud800"}'), 400, 'invalid_argument'],
          ['not JSON', raw('role=user', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type'],
          ['oversize', raw(JSON.stringify({ role: 'user', content: 'x'.repeat(1_100_000) })), 413, 'payload_too_large'],
          ['bad uuid', json('GET', '/v1/conversations/not-a-uuid'), 400, 'invalid_argument'],
          ['negative limit', json('GET', `${url}?limit=-1`), 400, 'invalid_argument'],
          ['limit above 200', json('GET', `${url}?limit=201`), 400, 'invalid_argument'],
          ['huge limit', json('GET', '/v1/conversations?limit=100000000000000000000'), 400, 'invalid_argument'],
          ['bad cursor', json('GET', '/v1/conversations?cursor=%00'), 400, 'invalid_argument'],
          ['unknown route', json('GET', '/v1/nope'), 404, 'not_found'],
          ['missing record', json('POST', `/v1/conversations/${MISSING}/messages`, { role: 'user', content: 'x' }), 404, 'not_found'],
        ];
        for (const [name, response, status, code] of cases) {
          const r = await response;
          expect({ name, status: r.statusCode }).toEqual({ name, status });
          expect({ name, code: r.json().error.code }).toEqual({ name, code });
          expect(typeof r.json().error.message).toBe('string');
        }
        const wrongType = await raw(JSON.stringify({ role: 'user', content: 42 }));
        expect(wrongType.json().error.message).toMatch(/content/);
        expect((await json('GET', url)).json().data).toEqual([]);
      });

      it('publishes the OpenAPI document generated from the route schemas (its content: openapi.test.ts)', async () => {
        const spec = (await json('GET', '/openapi.json')).json();
        const append = spec.paths['/v1/conversations/{id}/messages'].post;
        expect(append.requestBody.content['application/json'].schema.properties.role.enum).toEqual(['user', 'assistant', 'system', 'tool']);
        expect(append.parameters.some((p: { name: string }) => p.name === 'idempotency-key')).toBe(true);
      });

      it('reports health and readiness', async () => {
        expect((await json('GET', '/health')).json()).toEqual({ status: 'ok' });
        expect((await json('GET', '/health/ready')).statusCode).toBe(200);
      });

      it('counts ingestion per channel and outcome in /health/detailed and /metrics', async () => {
        const channel = (await json('POST', '/v1/channels', { kind: 'web', name: 'counted' })).json();
        const body = { channelId: channel.id, from: { address: 'u' }, externalId: 'c1', content: 'x' };
        await json('POST', '/v1/inbound', body);
        await json('POST', '/v1/inbound', body);
        await json('POST', '/v1/inbound', { ...body, channelId: MISSING });
        const detailed = await json('GET', '/health/detailed');
        expect(detailed.statusCode).toBe(200);
        expect(detailed.json()).toMatchObject({
          status: 'ok', database: { status: 'ok', dialect: target.name }, cache: { status: 'none' },
          channels: { [channel.id]: { kind: 'web', name: 'counted', received: 2, stored: 1, duplicates: 1, errors: 0 }, unknown: { errors: 1 } },
        });
        expect(detailed.json().channels[channel.id].lastInboundAt).toEqual(expect.any(String));
        const metrics = await json('GET', '/metrics');
        expect(metrics.headers['content-type']).toMatch(/text\/plain/);
        expect(metrics.body).toContain(`colloquy_ingest_messages_total{channel="${channel.id}",outcome="duplicate"} 1`);
        expect(metrics.body).toContain(`colloquy_ingest_messages_total{channel="${channel.id}",outcome="stored"} 1`);
        expect(metrics.body).toMatch(/colloquy_http_request_duration_seconds_count\{method="POST",route="\/v1\/inbound",status="201"\} \d+/);
        expect(metrics.body).not.toContain(MISSING);
        // Process metrics under the one prefix, no word repeated.
        expect(metrics.body).toMatch(/^colloquy_process_cpu_seconds_total \d/m);
        expect(metrics.body).not.toMatch(/colloquy_process_process_|colloquy_process_nodejs_/);
        if (target.name === 'postgres') expect(metrics.body).toMatch(/colloquy_db_pool_connections\{state="total"\} \d+/);
      });
    });
  });
}
