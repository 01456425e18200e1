import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import Type from 'typebox';
import { IdSchema, PageSchema, StoreEventSchema } from '../../domain/entities.js';
import { ColloquyError, isColloquyError, notFound } from '../../domain/errors.js';
import { EventListSchema } from '../../domain/inputs.js';
import { answer, example, failure } from '../openapi.js';
import { eventData } from '../../webhooks/event-payload.js';
import type { StoreEvent } from '../../domain/entities.js';
import type { Store } from '../../store/store.js';

const EventsQuery = Type.Object({
  ...EventListSchema.properties,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'JSON pages only: at most 200 (default 50).' })),
  token: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'A stream token from POST /v1/events/tokens, for a browser that cannot send a header.' })),
  include: Type.Optional(Type.Literal('data', { description: "`data`: each event's `data` is the complete object (the message, conversation, state or channel, read as it is sent; `{ id, erased: true }` once erased, `{ id, trashed: true, purgeAt }` while in the trash), as in a webhook payload." })),
}, { additionalProperties: false });

const TokenBody = Type.Object({
  conversationId: Type.Optional({ ...IdSchema, description: "Limit the token to this conversation's events (a web chat's own thread)." }),
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400, description: 'How long the token opens streams: default 3600 (1 h), at most 86400.' })),
}, { additionalProperties: false });
const TokenAnswer = Type.Object({
  token: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
  url: Type.String({ description: 'The stream to open with it, relative to the server: `new EventSource(base + url)`.' }),
  after: Type.Union([Type.String(), Type.Null()], { description: "The log's head when the token was issued: add `&after=` it to follow from now instead of from the log's start (read the state you show after asking for the token, and nothing is missed). Null: the log is empty." }),
});

/** Whether the client asked for a JSON page rather than a stream (`Accept: application/json`). */
const wantsJson = (accept: string | undefined) => accept !== undefined && /application\/json/i.test(accept) && !/text\/event-stream/i.test(accept);

/** An event as one server-sent event, written once however many streams send it (followers share event objects). */
const frames = new WeakMap<object, string>();
const frameOf = (event: { id: string; type: string }): string => {
  let frame = frames.get(event);
  if (frame === undefined) {
    frame = `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
    frames.set(event, frame);
  }
  return frame;
};
/**
 * The event with its complete data (`?include=data`), read once for the streams that send it within a second of each
 * other (they share event objects); later, or after a failed read, it is read again: the data is as it is sent.
 */
const complete = new WeakMap<object, { at: number; full: Promise<StoreEvent> }>();
const completeOf = (store: Store, event: StoreEvent): Promise<StoreEvent> => {
  const known = complete.get(event);
  if (known && Date.now() - known.at < 1_000) return known.full;
  const full = eventData(store, event).then((data) => ({ ...event, data }));
  complete.set(event, { at: Date.now(), full });
  full.catch(() => complete.delete(event));
  return full;
};
const HEARTBEAT_MS = 15_000;
/** Open streams one stream token may hold (a page needs one or two). */
const STREAMS_PER_TOKEN = 10;
/** How often a stream re-checks its key: a revoked or expired key's streams end within about twice this. */
const RECHECK_MS = 2_000;

/** Writes with backpressure; a closed or destroyed socket never drains, so closing ends the wait too. */
const write = (res: ServerResponse, chunk: string): Promise<void> | undefined => {
  if (res.destroyed || res.writableEnded) return undefined;
  if (res.write(chunk)) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
};

export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const streams = new Set<() => void>();
  const perKey = new Map<string, number>();
  // Live streams never finish on their own: end them so that a graceful shutdown can complete.
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });

  /**
   * The tenant's durable event log as server-sent events. Resume with the `Last-Event-ID` header (or `after`):
   * delivery continues exactly after that event, without loss or repetition.
   */
  app.get('/events', {
    schema: {
      operationId: 'streamEvents', summary: 'Follow the event log',
      description: 'Server-sent events (`text/event-stream`): `id:` the event id, `event:` its type, `data:` the event. Reconnect with `Last-Event-ID` (or `?after=`) to continue exactly after the last one received. With `Accept: application/json`, one page `{ data, nextCursor }` instead: pass `nextCursor` back as `after`.',
      querystring: EventsQuery,
      security: [{ apiKey: [] }, { streamToken: [] }],
      response: {
        200: {
          description: 'A `text/event-stream` of events; with `Accept: application/json`, a page of them',
          content: {
            'text/event-stream': { schema: Type.String({ description: '`id: <event id>`, `event: <type>`, `data: <the event as JSON>`, one blank line after each' }) },
            'application/json': { schema: PageSchema(StoreEventSchema) },
          },
        },
      },
    },
    exposeHeadRoute: false,
  }, async (request, reply) => {
    const { store } = request;
    const grant = request.streamGrant;
    if (grant?.conversationId && request.query.conversationId !== undefined && request.query.conversationId !== grant.conversationId) {
      throw new ColloquyError('invalid_argument', `This stream token is for conversation ${grant.conversationId} only.`, { errors: [{ path: '/conversationId', message: 'is not the conversation of the token' }] });
    }
    const conversationId = grant?.conversationId ?? request.query.conversationId;
    const lastEventId = request.headers['last-event-id'];
    const cursor = (typeof lastEventId === 'string' && lastEventId) || request.query.after;
    // The same log as a page, for a client that polls (pass `nextCursor` back as `after`).
    if (wantsJson(request.headers.accept)) {
      const { token: _token, include, ...page } = request.query;
      const result = await store.events.list({ ...page, ...(cursor ? { after: cursor } : {}), ...(conversationId ? { conversationId } : {}) });
      return include ? { ...result, data: await Promise.all(result.data.map((event) => completeOf(store, event))) } : result;
    }
    // An invalid cursor answers 400 here, before the stream starts.
    if (cursor) await store.events.list({ after: cursor, limit: 1, ...(conversationId ? { conversationId } : {}) });
    // Each stream holds a socket: bounded per key and per server. A stream token (a web page's) has a bucket of
    // its own, so that one visitor cannot use up its key's streams or another visitor's.
    const bucket = grant ? `token:${createHash('sha256').update(request.query.token ?? '').digest('base64url')}` : `key:${request.keyId}`;
    const cap = grant ? STREAMS_PER_TOKEN : app.limits.streamsPerKey;
    const held = perKey.get(bucket) ?? 0;
    if (held >= cap || streams.size >= app.limits.streamsPerServer) {
      const which = held >= cap ? `this ${grant ? 'stream token' : 'key'} already holds ${held}, the most one may` : `this server already holds ${streams.size}, the most it serves`;
      throw new ColloquyError('rate_limited', `Too many open event streams: ${which}. Close one, or share one stream between the readers of a process.`);
    }
    perKey.set(bucket, held + 1);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as OutgoingHttpHeaders), // what hooks set on the reply (CORS, the request id) before it was hijacked
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const stop = new AbortController();
    const end = () => {
      stop.abort();
      if (res.writableNeedDrain) res.destroy(); // a client that stopped reading must not hold up a shutdown
    };
    streams.add(end);
    app.metrics.streams.inc();
    res.on('close', end);
    res.socket?.setTimeout(0); // heartbeats keep it alive, not the idle timeout
    // The key may be revoked (or expire) while the stream runs: it ends, saying why.
    let refused: string | undefined;
    const recheck = setInterval(() => {
      void app.auth.holds(request.keyId, store.tenantId, RECHECK_MS).then((holds) => {
        if (holds || stop.signal.aborted) return;
        refused = request.keyId === 'open' ? 'This server now needs an API key.' : 'The API key of this stream was revoked or has expired.';
        end();
      }, () => {}); // a database that does not answer ends nothing: the next check asks again
    }, RECHECK_MS);
    const heartbeat = setInterval(() => {
      if (!res.writableNeedDrain) void write(res, ': keep-alive\n\n');
    }, HEARTBEAT_MS);
    try {
      await write(res, 'retry: 2000\n\n');
      // Every stream of the tenant in this process shares one tail of the log (store/event-tail.ts).
      for await (const batch of store.events.follow({ after: cursor || undefined, conversationId, stop: stop.signal })) {
        for (const event of batch) {
          if (stop.signal.aborted) break;
          await write(res, frameOf(request.query.include ? await completeOf(store, event) : event));
        }
      }
    } catch (error) {
      request.log.warn(isColloquyError(error) ? { code: error.code } : { err: error }, `event stream ended by an error: ${(error as Error).message}`);
    } finally {
      streams.delete(end);
      const left = (perKey.get(bucket) ?? 1) - 1;
      if (left > 0) perKey.set(bucket, left);
      else perKey.delete(bucket);
      app.metrics.streams.dec();
      clearInterval(heartbeat);
      clearInterval(recheck);
      if (refused && !res.destroyed) res.write(`event: error\ndata: ${JSON.stringify({ error: { code: 'unauthenticated', message: refused } })}\n\n`);
      res.end();
    }
  });

  app.post('/events/tokens', {
    schema: {
      operationId: 'createStreamToken', summary: 'A stream token for a browser',
      description: "A short-lived token that opens `GET /v1/events?token=…` for this key's tenant (or one conversation of it), so that a browser's `EventSource`, which cannot send a header, never holds the API key. Any instance of a fleet accepts it; it stops working when it expires or its key is revoked. Ask for a new one when a stream answers 401.",
      body: example(TokenBody, { conversationId: '018f2a4e-6c1b-7b9a-9d7e-0a1b2c3d4e5f', ttlSeconds: 3600 }),
      response: { 201: answer(TokenAnswer, 'The token; pass it as `?token=`'), 404: failure('not_found') },
    },
  }, async (request, reply) => {
    if (request.streamGrant) throw new ColloquyError('unauthenticated', 'A stream token cannot ask for another: use an API key.');
    const { conversationId = null, ttlSeconds = 3600 } = request.body ?? {};
    if (conversationId !== null && !(await request.store.conversations.get(conversationId))) throw notFound('conversation', conversationId);
    const expiresAt = Date.now() + ttlSeconds * 1000;
    const token = await app.streamTokens.issue({ keyId: request.keyId, tenant: request.store.tenantId, conversationId, expiresAt });
    const after = await request.store.events.head();
    reply.code(201);
    return { token, expiresAt: new Date(expiresAt).toISOString(), url: `/v1/events?token=${token}`, after };
  });
};
