// The comparison server for `npm run bench -- http`: bare Fastify, one raw driver statement per request, no
// contracts (no validation, no dedup, no events). Prints "listening <url>" once ready.
//   tsx bench/bare-server.ts <sqlite:path | postgres-url> <schema|-> [colloquy's SQLite file]
// POST /v1/conversations/:id/messages is the lean INSERT (seq counted in this process); with ?counted=1 it is the
// equivalent one (the conversation's counter updated in the same round trip). GET …/messages reads the newest 20
// from the read table, which POST /fill fills first; with ?stored=1 it is the equivalent read, colloquy's own page
// statement on colloquy's own messages (tenant `default`), the rows as arrays (the driver's cheapest form; the lean read too).
import Fastify from 'fastify';
import { rawPostgres, rawSqlite, type RawBaseline } from './raw-baseline.js';

const [url, schema, storeFile] = process.argv.slice(2) as [string, string, string | undefined];
const raw: RawBaseline = url.startsWith('sqlite:') ? rawSqlite(url.slice('sqlite:'.length), storeFile) : await rawPostgres(url, schema);
const seqs = new Map<string, number>();
const nextSeq = (conversation: string) => {
  const seq = (seqs.get(conversation) ?? 0) + 1;
  seqs.set(conversation, seq);
  return seq;
};

const app = Fastify({ logger: false });
app.post<{ Params: { id: string }; Querystring: { counted?: string }; Body: { role: string; content: string } }>('/v1/conversations/:id/messages', async (request, reply) => {
  const conversation = request.params.id;
  if (request.query.counted) {
    await raw.insertCounted(conversation, request.body.role, request.body.content);
  } else {
    await raw.insert(conversation, nextSeq(conversation), request.body.role, request.body.content);
  }
  reply.code(201);
  return { ok: true };
});
app.get<{ Params: { id: string }; Querystring: { stored?: string } }>('/v1/conversations/:id/messages', async (request) => ({
  data: await (request.query.stored ? raw.stored(request.params.id, 'default') : raw.newest(request.params.id)),
}));
// Before the equivalent appends: the conversations' counters.
app.post<{ Body: { conversations: string[] } }>('/counters', async (request) => {
  await raw.conversations(request.body.conversations);
  return { ok: true };
});
// Before the reads: pages as large as the store's (the benchmark says how many messages its conversations have).
app.post<{ Body: { conversations: string[]; perConversation: number; content: string } }>('/fill', async (request) => {
  await raw.fill(request.body.conversations, request.body.perConversation, request.body.content);
  return { ok: true };
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening ${address}\n`);
