import type { Diagnosis } from '../backend.js';
import type { Row, SqlRunner } from './sql.js';

/** The integrity queries of `colloquy doctor`: plain SQL that both dialects run as is. */
export const DIAGNOSIS_SQL = {
  byStatus: `SELECT status, count(*) AS n FROM conversations GROUP BY status`,
  messages: `SELECT count(*) AS n FROM messages`,
  duplicateExternalIds: `SELECT channel_id, external_id, count(*) AS n FROM messages WHERE external_id IS NOT NULL AND channel_id IS NOT NULL GROUP BY channel_id, external_id HAVING count(*) > 1 LIMIT 100`,
  seqMismatches: `SELECT c.id, c.last_seq, coalesce(x.n, 0) AS n, coalesce(x.m, 0) AS m FROM conversations c
          LEFT JOIN (SELECT conversation_id, count(*) AS n, max(seq) AS m FROM messages GROUP BY conversation_id) x ON x.conversation_id = c.id
          WHERE coalesce(x.n, 0) <> c.last_seq OR coalesce(x.m, 0) <> c.last_seq LIMIT 100`,
  doubleOpen: `SELECT count(*) AS n FROM (SELECT 1 FROM conversations WHERE status <> 'closed' AND contact_id IS NOT NULL AND channel_id IS NOT NULL GROUP BY tenant_id, contact_id, channel_id HAVING count(*) > 1) d`,
  merges: `SELECT count(*) AS n, max(merged_at) AS last FROM contact_merges`,
} as const;

/** Runs every check; `warnings` are the engine's own (PostgreSQL: transactions that hold back events). */
export async function diagnose(sql: SqlRunner, warnings: string[]): Promise<Diagnosis> {
  const rows = Object.fromEntries(await Promise.all(Object.entries(DIAGNOSIS_SQL).map(async ([name, text]) => [name, await sql.all(text)])));
  return diagnosisOf(rows as Record<keyof typeof DIAGNOSIS_SQL, Row[]>, warnings);
}

function diagnosisOf(rows: Record<keyof typeof DIAGNOSIS_SQL, Row[]>, warnings: string[]): Diagnosis {
  const byStatus = { open: 0, waiting: 0, closed: 0 };
  for (const r of rows.byStatus) byStatus[r.status as keyof typeof byStatus] = Number(r.n);
  return {
    conversationsByStatus: byStatus,
    messages: Number(rows.messages[0]?.n ?? 0),
    duplicateExternalIds: rows.duplicateExternalIds.map((r) => ({ channelId: r.channel_id, externalId: r.external_id, count: Number(r.n) })),
    seqMismatches: rows.seqMismatches.map((r) => ({ conversationId: r.id, lastSeq: Number(r.last_seq), messages: Number(r.n), maxSeq: Number(r.m) })),
    doubleOpen: Number(rows.doubleOpen[0]?.n ?? 0),
    merges: { count: Number(rows.merges[0]?.n ?? 0), lastAt: rows.merges[0]?.last == null ? null : new Date(Number(rows.merges[0].last)).toISOString() },
    warnings,
  };
}
