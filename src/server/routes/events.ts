import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ServerResponse } from 'node:http';
import Type from 'typebox';
import { PageSchema, StoreEventSchema } from '../../domain/entities.js';
import { EventListSchema } from '../../domain/inputs.js';
import { answer } from '../openapi.js';

const EventsQuery = Type.Object(
  { ...EventListSchema.properties, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'JSON pages only: at most 200 (default 50).' })) },
  { additionalProperties: false },
);

/** Whether the client asked for a JSON page rather than a stream (`Accept: application/json`). */
const wantsJson = (accept: string | undefined) => accept !== undefined && /application\/json/i.test(accept) && !/text\/event-stream/i.test(accept);

const BATCH = 100;
/** Wake-ups come from this process and, through Redis or LISTEN/NOTIFY, from the fleet; the poll covers a lost one. */
const POLL_MS = 1_000;
const HEARTBEAT_MS = 15_000;

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
      response: { 200: answer(PageSchema(StoreEventSchema), 'A page (with `Accept: application/json`); otherwise a `text/event-stream` of these events') },
    },
    exposeHeadRoute: false,
  }, async (request, reply) => {
    const { store } = request;
    const conversationId = request.query.conversationId;
    const lastEventId = request.headers['last-event-id'];
    let cursor = (typeof lastEventId === 'string' && lastEventId) || request.query.after;
    // The same log as a page, for a client that polls (pass `nextCursor` back as `after`).
    if (wantsJson(request.headers.accept)) return store.events.list({ ...request.query, ...(cursor ? { after: cursor } : {}) });
    const read = () => store.events.list({ ...(cursor ? { after: cursor } : {}), limit: BATCH, ...(conversationId ? { conversationId } : {}) });
    let batch = (await read()).data; // an invalid cursor answers 400 here, before the stream starts

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let open = true;
    let wake: (() => void) | undefined;
    const end = () => {
      open = false;
      wake?.();
      if (res.writableNeedDrain) res.destroy(); // a client that stopped reading must not hold up a shutdown
    };
    streams.add(end);
    app.metrics.streams.inc();
    res.on('close', end);
    const unsubscribe = store.events.onChange(() => wake?.());
    const heartbeat = setInterval(() => {
      if (!res.writableNeedDrain) void write(res, ': keep-alive\n\n');
    }, HEARTBEAT_MS);
    try {
      await write(res, 'retry: 2000\n\n');
      while (open) {
        for (const event of batch) {
          if (!open) break;
          await write(res, `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
          cursor = event.id;
        }
        if (batch.length < BATCH) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, POLL_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
        if (open) batch = (await read()).data;
      }
    } catch (error) {
      request.log.warn({ err: error }, 'event stream ended by an error');
    } finally {
      streams.delete(end);
      app.metrics.streams.dec();
      unsubscribe();
      clearInterval(heartbeat);
      res.end();
    }
  });
};
