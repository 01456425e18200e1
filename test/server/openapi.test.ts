import SwaggerParser from '@apidevtools/swagger-parser';
import { Compile } from 'typebox/compile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/errors.js';
import { openStore, type Store } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';

type Operation = {
  operationId: string; summary?: string; description?: string; tags?: string[]; security?: unknown[];
  responses: Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
  requestBody?: { content: Record<string, { schema: Record<string, unknown>; example?: unknown }> };
};

describe('the OpenAPI document', () => {
  let store: Store;
  let app: App;
  let spec: { openapi: string; tags: Array<{ name: string }>; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, any> } };
  let operations: Array<{ path: string; method: string; op: Operation }>;
  beforeAll(async () => {
    store = await openStore({ url: 'sqlite::memory:' });
    app = await buildApp({ store, logger: false });
    spec = (await app.inject({ url: '/openapi.json' })).json();
    operations = Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it('is valid OpenAPI 3.1, with named models', async () => {
    expect(spec.openapi).toBe('3.1.0');
    await SwaggerParser.validate(structuredClone(spec) as never);
    expect(Object.keys(spec.components.schemas)).toEqual(expect.arrayContaining(['Conversation', 'Message', 'Contact', 'Channel', 'Agent', 'Event', 'Error']));
    expect(spec.components.schemas.Error.properties.error.properties.code.anyOf.map((c: { const: string }) => c.const)).toEqual([...ERROR_CODES]);
  });

  it('gives every operation an id, a summary, a description and one declared tag; a key only under /v1', () => {
    const tags = new Set(spec.tags.map((t) => t.name));
    expect(new Set(operations.map((o) => o.op.operationId)).size).toBe(operations.length);
    for (const { path, op } of operations) {
      expect(op.summary, path).toMatch(/\S/);
      expect(op.description, path).toMatch(/\S/);
      expect(op.tags, path).toHaveLength(1);
      expect(tags.has(op.tags![0]!), path).toBe(true);
      const key = path === '/v1/events' ? [{ apiKey: [] }, { streamToken: [] }] : [{ apiKey: [] }];
      // Every tenant's figures: the admin key once the server has keys.
      const operator = path === '/health/detailed' || path === '/metrics';
      expect(op.security, path).toEqual(path.startsWith('/v1/') || operator ? key : []);
    }
  });

  it('declares the real success codes and, on every /v1 operation, the common errors with their codes', () => {
    const by = (id: string) => operations.find((o) => o.op.operationId === id)!.op;
    for (const id of ['createConversation', 'createChannel', 'createAgent']) expect(Object.keys(by(id).responses), id).toContain('201');
    for (const id of ['appendMessage', 'ingest', 'createChannel']) expect(Object.keys(by(id).responses), id).toEqual(expect.arrayContaining(['200', '201']));
    for (const id of ['deleteConversation', 'eraseContact', 'deleteAgent']) expect(Object.keys(by(id).responses), id).toContain('204');
    for (const { path, op } of operations.filter((o) => o.path.startsWith('/v1/'))) {
      const statuses = ['400', '401', '429', '500', '503', ...(path.includes('{') ? ['404'] : [])];
      for (const status of statuses) {
        expect(op.responses[status]?.content?.['application/json']?.schema, `${path} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
        expect(op.responses[status]!.description, `${path} ${status}`).toMatch(/`[a-z_]+`: /);
      }
      for (const [status, response] of Object.entries(op.responses)) expect(response.description, `${path} ${status}`).not.toBe('Default Response');
    }
    expect(by('updateConversation').responses['409']!.description).toMatch(/`version_mismatch`.*`conflict`/);
  });

  it('shows an example on the main bodies, each one valid against its own schema', () => {
    const bodies = ['createConversation', 'appendMessage', 'setState', 'ingest', 'upsertContact', 'createChannel', 'createAgent', 'updateMessageStatus'];
    for (const id of bodies) {
      const body = operations.find((o) => o.op.operationId === id)!.op.requestBody!.content['application/json']!;
      expect(body.example, id).toBeDefined();
      const resolved = JSON.parse(JSON.stringify(body.schema).replace(/\{"\$ref":"#\/components\/schemas\/(\w+)"\}/g, (_m, name) => JSON.stringify(spec.components.schemas[name])));
      expect(Compile(resolved).Check(body.example), id).toBe(true);
    }
  });

  it('serves /docs as a page', async () => {
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
  });
});
