// The "raw driver" side of every benchmark: the same work done the fastest honest way, with no contracts.
//
// - lean: one plain single-row INSERT into a table with only its primary key (the message id) and the conversation
//   index (conversation, seq);
// - equivalent: the same INSERT plus the update of the conversation's counter, in one round trip (PostgreSQL: one
//   statement; SQLite: one transaction) — what a store that keeps seq must do at least;
// - duplicate: the repeat of a stored row, `INSERT … ON CONFLICT DO NOTHING` (a unique index decides, nothing
//   is written);
// - newest: the newest 20 rows of a conversation, as arrays (the driver's cheapest form), from a table clustered by
//   (conversation, seq) — the fastest honest layout for that read (SQLite, 2026-12-01: 34k reads/s, against
//   21–25k/s through the lean table's conversation index), filled by `fill` as large as the store's pages;
// - stored: the equivalent read, the store's own page statement (its columns, its tenant check) on the store's own
//   messages table, so the very rows the store reads, as arrays (as the store reads them): what the store's mapping,
//   validation and layers cost beyond the query.
//
// Ids are time-ordered (UUIDv7, as the store's), the statements prepared once: anything slower would flatter every
// ratio. SQLite runs on a file of its own with the store's settings (WAL,
// synchronous=NORMAL, the same inline checkpoint bound); PostgreSQL in the store's schema, on a pool as large.
import Database, { type Database as Connection, type Statement } from 'better-sqlite3';
import pg from 'pg';
import { MESSAGE_READ_COLUMNS } from '../src/backends/sql/tables.js';
import { newId } from '../src/domain/ids.js';

const tablesOf = (id: string, clustered: string) => [
  `CREATE TABLE IF NOT EXISTS raw_messages (id ${id} PRIMARY KEY, conversation_id ${id} NOT NULL, seq INTEGER NOT NULL,
    role TEXT NOT NULL, content TEXT NOT NULL, created_at BIGINT NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS raw_messages_conversation ON raw_messages (conversation_id, seq)',
  `CREATE TABLE IF NOT EXISTS raw_conversations (id ${id} PRIMARY KEY, last_seq INTEGER NOT NULL DEFAULT 0)`,
  `CREATE TABLE IF NOT EXISTS raw_pages (id ${id} NOT NULL, conversation_id ${id} NOT NULL, seq INTEGER NOT NULL,
    role TEXT NOT NULL, content TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (conversation_id, seq))${clustered}`,
];
const INSERT = 'INSERT INTO raw_messages (id, conversation_id, seq, role, content, created_at) VALUES ($1, $2, $3, $4, $5, $6)';
const INSERT_COUNTED_PG = `WITH c AS (UPDATE raw_conversations SET last_seq = last_seq + 1 WHERE id = $2 RETURNING last_seq)
  INSERT INTO raw_messages (id, conversation_id, seq, role, content, created_at) SELECT $1, $2, c.last_seq, $3, $4, $5 FROM c`;
const DUPLICATE = `${INSERT} ON CONFLICT DO NOTHING`;
const NEWEST = 'SELECT * FROM raw_pages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT 20';
// The store's statement as it runs it (src/backends/sql/messages.ts), with the bounds of a first page.
const STORED = `SELECT ${MESSAGE_READ_COLUMNS.join(', ')} FROM messages
  WHERE conversation_id = $1 AND tenant_id = $2 AND seq > $3 AND seq < $4 ORDER BY seq DESC LIMIT $5`;
const FIRST_PAGE = [0, Number.MAX_SAFE_INTEGER, 20] as const;
const FILL = 'INSERT INTO raw_pages (id, conversation_id, seq, role, content, created_at) VALUES ($1, $2, $3, $4, $5, $6)';
const sqlite = (sql: string) => sql.replace(/\$\d+/g, '?');

export interface RawBaseline {
  /** Lean: one INSERT, seq chosen by the caller. */
  insert(conversation: string, seq: number, role: string, content: string): Promise<void>;
  /** Equivalent: the INSERT with seq from the conversation's counter, updated in the same round trip. */
  insertCounted(conversation: string, role: string, content: string): Promise<void>;
  /** The repeat of the stored row `id`: nothing is written. */
  insertDuplicate(id: string, conversation: string, content: string): Promise<void>;
  /** Lean inserts also answer the id they stored (for duplicates to repeat). */
  lastId(): string;
  /** Fills the read table: `perConversation` rows in each of these conversations. */
  fill(conversations: readonly string[], perConversation: number, content: string): Promise<void>;
  newest(conversation: string): Promise<unknown[]>;
  /** The equivalent read: the newest 20 of the store's own conversation, by the store's statement. */
  stored(conversation: string, tenant: string): Promise<unknown[]>;
  /** Creates the counter rows of these conversations. */
  conversations(ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * On its own SQLite file (and its WAL), so that the store's writes and checkpoints never slow it down or speed it up;
 * the equivalent read opens the store's file (`storeFile`) read-only.
 */
export function rawSqlite(path: string, storeFile?: string): RawBaseline & { db: Connection } {
  const db = new Database(path);
  let storedStatement: Statement<unknown[]> | undefined;
  let storeDb: Connection | undefined;
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 4000');
  for (const sql of tablesOf('TEXT', ' WITHOUT ROWID')) db.exec(sql);
  const insert = db.prepare(sqlite(INSERT));
  const duplicate = db.prepare(sqlite(DUPLICATE));
  const bump = db.prepare('UPDATE raw_conversations SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq');
  const counted = db.transaction((conversation: string, role: string, content: string) => {
    const { last_seq: seq } = bump.get(conversation) as { last_seq: number };
    insert.run(newId(), conversation, seq, role, content, Date.now());
  });
  const newest = db.prepare(sqlite(NEWEST)).raw(true);
  const fill = db.prepare(sqlite(FILL));
  const add = db.prepare('INSERT INTO raw_conversations (id) VALUES (?)');
  let last = '';
  return {
    db,
    async insert(conversation, seq, role, content) {
      insert.run((last = newId()), conversation, seq, role, content, Date.now());
    },
    lastId: () => last,
    async fill(conversations, per, content) {
      db.transaction(() => {
        for (const c of conversations) for (let seq = 1; seq <= per; seq++) fill.run(newId(), c, seq, 'user', content, Date.now());
      })();
    },
    async insertCounted(conversation, role, content) {
      counted(conversation, role, content);
    },
    async insertDuplicate(id, conversation, content) {
      duplicate.run(id, conversation, 1, 'user', content, Date.now());
    },
    newest: async (conversation) => newest.all(conversation),
    async stored(conversation, tenant) {
      if (!storedStatement) {
        if (!storeFile) throw new Error('rawSqlite: the equivalent read needs the store\'s file');
        storeDb = new Database(storeFile, { readonly: true });
        storedStatement = storeDb.prepare(sqlite(STORED)).raw(true);
      }
      return storedStatement.all(conversation, tenant, ...FIRST_PAGE);
    },
    async conversations(ids) {
      db.transaction(() => ids.forEach((id) => add.run(id)))();
    },
    async close() {
      db.close();
      storeDb?.close();
    },
  };
}

/** In the store's schema of the same database: the same server, WAL and fsync per commit. */
export async function rawPostgres(url: string, schema: string, poolSize = 10): Promise<RawBaseline> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, options: `-c search_path=${schema}` });
  for (const sql of tablesOf('uuid', '')) await pool.query(sql);
  // Named: prepared once per connection, as the store's hot statements are.
  const query = (name: string, text: string, values: unknown[]) => pool.query({ name, text, values });
  let last = '';
  return {
    async insert(conversation, seq, role, content) {
      await query('raw_insert', INSERT, [(last = newId()), conversation, seq, role, content, Date.now()]);
    },
    lastId: () => last,
    async fill(conversations, per, content) {
      await pool.query(`INSERT INTO raw_pages (id, conversation_id, seq, role, content, created_at)
        SELECT gen_random_uuid(), c, s, 'user', $2, 0 FROM unnest($1::uuid[]) c CROSS JOIN generate_series(1, $3) s`, [conversations, content, per]);
      await pool.query('ANALYZE raw_pages');
    },
    async insertCounted(conversation, role, content) {
      await query('raw_insert_counted', INSERT_COUNTED_PG, [newId(), conversation, role, content, Date.now()]);
    },
    async insertDuplicate(id, conversation, content) {
      await query('raw_duplicate', DUPLICATE, [id, conversation, 1, 'user', content, Date.now()]);
    },
    newest: async (conversation) => (await pool.query({ name: 'raw_newest', text: NEWEST, values: [conversation], rowMode: 'array' })).rows,
    stored: async (conversation, tenant) => (await pool.query({ name: 'raw_stored', text: STORED, values: [conversation, tenant, ...FIRST_PAGE], rowMode: 'array' })).rows,
    async conversations(ids) {
      await pool.query('INSERT INTO raw_conversations (id) SELECT unnest($1::uuid[])', [ids]);
    },
    close: () => pool.end(),
  };
}
