import { writeEvent } from './events.js';
import type { Row, SqlEngine, SqlRunner } from './sql.js';

/** What a merge did: who survived, who was merged into it, and which conversations changed. */
export interface MergeOutcome {
  survivorId: string;
  mergedId: string;
  /** Conversations closed because both contacts had one open on the same channel. */
  closed: string[];
  /** Conversations that moved to the survivor. */
  moved: string[];
}

/** The contact a merged contact's id now stands for, or the id itself. */
export async function survivorOf(sql: SqlRunner, tenant: string, id: string): Promise<string> {
  const row = await sql.one('SELECT survivor_id FROM contact_merges WHERE merged_id = ? AND tenant_id = ?', [id, tenant]);
  return row ? (row.survivor_id as string) : id;
}

/**
 * The contact-merge rule, inside the caller's transaction: the older contact (created first; the smaller id
 * on a tie) survives and takes the other's handles and conversations, and its name when it has none (its own
 * metadata wins key by key). Where both have a non-closed conversation on one channel, the one with older
 * activity is closed and becomes the other's `previousConversationId` (when that one has no previous of its
 * own, which is never overwritten). The merged id is remembered (`contact_merges`), and events record it all:
 * `conversation.updated` for every conversation that changed, then `contact.merged`. Answers undefined when
 * one of the two is no longer there (another transaction merged or erased it first).
 */
export async function mergeContacts(engine: SqlEngine, sql: SqlRunner, tenant: string, a: string, b: string, now: number): Promise<MergeOutcome | undefined> {
  // Both rows locked in one order, so that two merges of the same pair cannot deadlock.
  const rows = await sql.all('SELECT * FROM contacts WHERE id = ANY(?::uuid[]) AND tenant_id = ? ORDER BY id FOR UPDATE', [[a, b].sort(), tenant]);
  if (rows.length !== 2) return undefined; // merged (or erased) by another transaction meanwhile: the caller looks again
  const [survivor, merged] = [...rows].sort((x, y) => Number(x.created_at) - Number(y.created_at) || (x.id < y.id ? -1 : 1)) as [Row, Row];
  const outcome: MergeOutcome = { survivorId: survivor.id, mergedId: merged.id, closed: [], moved: [] };
  const changed = new Map<string, Set<string>>();
  const change = (id: string, field: string) => (changed.get(id) ?? changed.set(id, new Set()).get(id)!).add(field);

  const open = (contact: string) => sql.all(`SELECT id, channel_id, previous_conversation_id, last_activity_at FROM conversations
    WHERE contact_id = ? AND channel_id IS NOT NULL AND status <> 'closed' FOR UPDATE`, [contact]);
  const survivors = new Map((await open(survivor.id)).map((row) => [row.channel_id as string, row]));
  for (const theirs of await open(merged.id)) {
    const ours = survivors.get(theirs.channel_id);
    if (!ours) continue;
    const [older, newer] = Number(theirs.last_activity_at) < Number(ours.last_activity_at) ? [theirs, ours] : [ours, theirs];
    await sql.run(`UPDATE conversations SET status = 'closed', closed_at = ?, version = version + 1, updated_at = ? WHERE id = ?`, [now, now, older.id]);
    change(older.id, 'status');
    outcome.closed.push(older.id);
    if (newer.previous_conversation_id === null) {
      await sql.run('UPDATE conversations SET previous_conversation_id = ?, version = version + 1, updated_at = ? WHERE id = ?', [older.id, now, newer.id]);
      change(newer.id, 'previousConversationId');
    }
  }
  outcome.moved = (await sql.all('SELECT id FROM conversations WHERE contact_id = ? ORDER BY id', [merged.id])).map((row) => row.id as string);
  // One version step per conversation: those closed or linked above have had theirs.
  await sql.run(`UPDATE conversations SET contact_id = ?, updated_at = ?,
    version = version + CASE WHEN id = ANY(?::uuid[]) THEN 0 ELSE 1 END WHERE contact_id = ?`, [survivor.id, now, [...changed.keys()], merged.id]);
  for (const id of outcome.moved) change(id, 'contactId');
  await sql.run('UPDATE contact_handles SET contact_id = ? WHERE contact_id = ?', [survivor.id, merged.id]);
  const metadata = { ...engine.json(merged.metadata), ...engine.json(survivor.metadata) };
  await sql.run('UPDATE contacts SET name = coalesce(name, ?), metadata = ?, updated_at = ? WHERE id = ?', [merged.name, JSON.stringify(metadata), now, survivor.id]);
  await sql.run('UPDATE trash SET contact_id = ? WHERE contact_id = ?', [survivor.id, merged.id]); // its trash follows it
  await sql.run('DELETE FROM contacts WHERE id = ?', [merged.id]);
  // Ids merged into the merged contact earlier now stand for the survivor too.
  await sql.run('UPDATE contact_merges SET survivor_id = ? WHERE survivor_id = ?', [survivor.id, merged.id]);
  await sql.run('INSERT INTO contact_merges (merged_id, tenant_id, survivor_id, merged_at) VALUES (?, ?, ?, ?)', [merged.id, tenant, survivor.id, now]);

  for (const [id, fields] of changed) {
    const row = (await sql.one('SELECT status, version FROM conversations WHERE id = ?', [id]))!;
    await writeEvent(sql, tenant, { type: 'conversation.updated', conversationId: id, data: { status: row.status, version: row.version, changed: [...fields] }, now });
  }
  await writeEvent(sql, tenant, { type: 'contact.merged', conversationId: null, data: { ...outcome }, now });
  return outcome;
}
