// The comparison server for `npm run bench -- http`: bare Fastify, one raw driver statement per request, no
// contracts (no validation, no dedup, no events). Prints "listening <url>" once ready.
//   tsx bench/bare-server.ts <sqlite:path | postgres-url> <schema|->
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { RAW_INSERT_PG, RAW_NEWEST_PG, RAW_SCHEMA, rawSqlite } from './raw-baseline.js';

const [url, schema] = process.argv.slice(2) as [string, string];
const seqs = new Map<string, number>();
const nextSeq = (conversation: string) => {
  const seq = (seqs.get(conversation) ?? 0) + 1;
  seqs.set(conversation, seq);
  return seq;
};

let insert: (conversation: string, role: string, content: string) => Promise<unknown>;
let newest: (conversation: string) => Promise<unknown[]>;
if (url.startsWith('sqlite:')) {
  const raw = rawSqlite(url.slice('sqlite:'.length));
  insert = async (c, role, content) => raw.insert(c, nextSeq(c), role, content);
  newest = async (c) => raw.newest(c);
} else {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: 10, ...(schema !== '-' ? { options: `-c search_path=${schema}` } : {}) });
  for (const sql of RAW_SCHEMA) await pool.query(sql);
  insert = (c, role, content) => pool.query(RAW_INSERT_PG, [randomUUID(), c, nextSeq(c), role, content, Date.now()]);
  newest = async (c) => (await pool.query(RAW_NEWEST_PG, [c])).rows;
}

const app = Fastify({ logger: false });
app.post<{ Params: { id: string }; Body: { role: string; content: string } }>('/v1/conversations/:id/messages', async (request, reply) => {
  await insert(request.params.id, request.body.role, request.body.content);
  reply.code(201);
  return { ok: true };
});
app.get<{ Params: { id: string } }>('/v1/conversations/:id/messages', async (request) => ({ data: await newest(request.params.id) }));
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening ${address}\n`);
