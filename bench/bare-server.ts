// The comparison server for `npm run bench -- http`: bare Fastify, one raw driver statement per request, no
// contracts (no validation, no dedup, no events). Prints "listening <url>" once ready.
//   tsx bench/bare-server.ts <sqlite:path | postgres-url> <schema|->
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';

const [url, schema] = process.argv.slice(2) as [string, string];
const CONTENT_TABLE = `CREATE TABLE IF NOT EXISTS raw_messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,
  role TEXT NOT NULL, content TEXT NOT NULL, created_at BIGINT NOT NULL)`;
const INDEX = 'CREATE INDEX IF NOT EXISTS raw_messages_conversation ON raw_messages (conversation_id, seq)';
const seqs = new Map<string, number>();
const nextSeq = (conversation: string) => {
  const seq = (seqs.get(conversation) ?? 0) + 1;
  seqs.set(conversation, seq);
  return seq;
};

let insert: (conversation: string, role: string, content: string) => Promise<unknown>;
let newest: (conversation: string) => Promise<unknown[]>;
if (url.startsWith('sqlite:')) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(url.slice('sqlite:'.length));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(CONTENT_TABLE);
  db.exec(INDEX);
  const ins = db.prepare('INSERT INTO raw_messages (id, conversation_id, seq, role, content, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  const sel = db.prepare('SELECT * FROM raw_messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 20');
  insert = async (c, role, content) => ins.run(randomUUID(), c, nextSeq(c), role, content, Date.now());
  newest = async (c) => sel.all(c);
} else {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: 10, ...(schema !== '-' ? { options: `-c search_path=${schema}` } : {}) });
  await pool.query(CONTENT_TABLE);
  await pool.query(INDEX);
  insert = (c, role, content) => pool.query('INSERT INTO raw_messages (id, conversation_id, seq, role, content, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [randomUUID(), c, nextSeq(c), role, content, Date.now()]);
  newest = async (c) => (await pool.query('SELECT * FROM raw_messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT 20', [c])).rows;
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
