// The "raw driver" side of every benchmark: one plain table, one plain statement per operation, no contracts.
import { randomUUID } from 'node:crypto';
import Database, { type Database as Connection } from 'better-sqlite3';

export const RAW_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS raw_messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,
    role TEXT NOT NULL, content TEXT NOT NULL, created_at BIGINT NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS raw_messages_conversation ON raw_messages (conversation_id, seq)',
];
export const RAW_INSERT_PG = 'INSERT INTO raw_messages (id, conversation_id, seq, role, content, created_at) VALUES ($1, $2, $3, $4, $5, $6)';
export const RAW_NEWEST_PG = 'SELECT * FROM raw_messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT 20';

/** The raw table on a SQLite file, with the store's own pragmas (WAL, synchronous=NORMAL). */
export interface RawSqlite {
  db: Connection;
  insert(conversation: string, seq: number, role: string, content: string): unknown;
  newest(conversation: string): unknown[];
}

export function rawSqlite(path: string): RawSqlite {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  for (const sql of RAW_SCHEMA) db.exec(sql);
  const insert = db.prepare('INSERT INTO raw_messages (id, conversation_id, seq, role, content, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  const newest = db.prepare('SELECT * FROM raw_messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 20');
  return {
    db,
    insert: (conversation: string, seq: number, role: string, content: string) => insert.run(randomUUID(), conversation, seq, role, content, Date.now()),
    newest: (conversation: string) => newest.all(conversation),
  };
}
