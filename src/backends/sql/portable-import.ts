// One file at ~340 lines because it is one algorithm: the per-kind rules of an import, the batches that carry them and
// the state they share across batches; split, a reader would follow one transaction across files. What only a backup
// holds has its rules in backup-import.ts.
import type { Handle, Message } from '../../domain/entities.js';
import { ColloquyError } from '../../domain/errors.js';
import { mergeContacts, survivorOf } from './contact-merge.js';
import { CONTACT_OF_HANDLE } from './contacts.js';
import { writeEvent } from './events.js';
import type { PortableRecord } from './portable.js';
import { newId } from '../../domain/ids.js';
import { writeAudit } from './audit.js';
import { importBackupRecord } from './backup-import.js';
import type { SqlEngine, SqlRunner } from './sql.js';
import type { Tables } from './tables.js';

/** What an import did. `inserted + present + merged + skipped` is the number of records read. */
export interface ImportReport {
  /** Records written. */
  inserted: number;
  /** Records already there (same id, or a contact merged by an earlier import): left as they are. */
  present: number;
  /** Records merged with one already there: a contact that shares a handle (the contact-merge rule), an agent that shares a name. */
  merged: number;
  /** Records not imported; `notes` says why. */
  skipped: number;
  /** Conversations closed because two were open for one contact on one channel (counted above as well). */
  closed: number;
  /** Records imported with something changed so that they could be (counted above as well); `notes` says what. */
  adjusted: number;
  /** Why records were skipped or adjusted: the first 50 reasons. */
  notes: string[];
}

export const emptyReport = (): ImportReport => ({ inserted: 0, present: 0, merged: 0, skipped: 0, closed: 0, adjusted: 0, notes: [] });

/** What an import carries from one batch to the next: the report, and what later records must be mapped through. */
interface ImportState {
  report: ImportReport;
  /** `tenant/agent id` of the file → the id of the agent of that name already there. */
  agents: Record<string, string>;
  /** Links to a previous conversation the file had not reached yet: set once every record is in. */
  links: Array<{ tenant: string; id: string; previous: string }>;
}

type Owner = 'contacts' | 'channels' | 'agents' | 'conversations';
const SINGULAR = { contacts: 'contact', channels: 'channel', agents: 'agent', conversations: 'conversation' } as const;
const owns = async (sql: SqlRunner, table: Owner, tenant: string, id: string) =>
  (await sql.one(`SELECT 1 AS x FROM ${table} WHERE id = ? AND tenant_id = ?`, [id, tenant])) !== undefined;
const insert = (table: string, columns: readonly string[], conflict: string) =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT ${conflict} DO NOTHING`;
const HANDLE_COLUMNS = ['tenant_id', 'channel', 'address', 'contact_id', 'created_at'];
const handleValues = (tenant: string, contactId: string, createdAt: string, h: Handle) => [tenant, h.channel, h.address, contactId, Date.parse(createdAt)];

/**
 * A reply that was waiting to be sent where it was exported: its queue entry is not exported, and it may or may not
 * have reached the customer. It arrives failed (ambiguous), never to be sent blindly.
 */
const unsent = (m: Message, channelId: string | null, now: number): Message => (m.status === 'pending' && m.role === 'assistant' && channelId
  ? { ...m, status: 'failed', statusAt: new Date(now).toISOString(), error: { code: 'exported_before_sent', title: 'This message was waiting to be sent when it was exported; it may not have reached the customer. Send it again if it is still needed.', reason: 'ambiguous', at: new Date(now).toISOString() } }
  : m);

/** Imports run one batch at a time per database (PostgreSQL): two at once would each miss what the other has not committed. */
const IMPORT_LOCK = 7_236_111_001;

/**
 * One batch, inside the caller's transaction: what is absent is inserted, what is present is left (a second
 * import of the same file changes nothing; a newer export of the same database adds what is new, and
 * conversations' lastSeq follows imported messages). Nothing is dropped silently:
 *
 * - a contact with a handle that belongs to another contact is merged with it by the contact-merge rule
 *   (`contact-merge.ts`), and conversations naming the merged id follow the survivor;
 * - an agent whose name is taken is the agent of that name: its conversations are linked to that one;
 * - a non-closed conversation for a contact and channel that already have one: the one with older activity is
 *   closed and becomes the other's previous conversation;
 * - what a record can lose without losing its data (a link to an agent or a previous conversation that is not
 *   there, a channel's idempotency key another channel holds) it loses, and the report says so;
 * - a record whose own references are missing or belong to another tenant is skipped, never linked across
 *   tenants, and the report says why.
 */
async function importBatch(engine: SqlEngine, sql: SqlRunner, tables: Tables, records: PortableRecord[], state: ImportState, at: { now: number; actor: string }): Promise<void> {
  const { report } = state;
  const { now, actor } = at;
  const note = (record: PortableRecord, what: string) => {
    const key = 'id' in record.data ? record.data.id : 'scope' in record.data ? record.data.scope : 'name' in record.data ? record.data.name : 'settings';
    if (report.notes.length < 50) report.notes.push(`${record.kind} ${key} (tenant ${record.tenant}) ${what}`);
  };
  const skip = (record: PortableRecord, why: string) => {
    report.skipped++;
    note(record, `skipped: ${why}`);
  };
  const adjust = (record: PortableRecord, what: string) => {
    report.adjusted++;
    note(record, `imported ${what}`);
  };
  const changed = (tenant: string, id: string, fields: string[]) => sql.one('SELECT status, version FROM conversations WHERE id = ?', [id]).then((row) =>
    writeEvent(sql, tenant, { type: 'conversation.updated', conversationId: id, data: { status: row!.status, version: row!.version, changed: fields }, now }));
  const channels = new Map<string, string | null | undefined>();

  for (const record of records) {
    const t = record.tenant;
    switch (record.kind) {
      case 'message': {
        const m = record.data;
        const key = `${t}/${m.conversationId}`;
        if (!channels.has(key)) channels.set(key, (await sql.one('SELECT channel_id FROM conversations WHERE id = ? AND tenant_id = ?', [m.conversationId, t]))?.channel_id);
        const channelId = channels.get(key);
        if (channelId === undefined) {
          skip(record, `its conversation ${m.conversationId} is not in the tenant`);
        } else if (await sql.run(insert('messages', tables.messages.columns, ''), tables.messages.values(unsent(m, channelId, now), t, { channelId }))) {
          if (unsent(m, channelId, now) !== m) adjust(record, 'as failed (ambiguous): it was waiting to be sent, and its queue entry is not in the file');
          const at = Date.parse(m.createdAt);
          await sql.run(`UPDATE conversations SET last_seq = greatest(last_seq, ?), last_message_at = greatest(coalesce(last_message_at, 0), ?),
            last_activity_at = greatest(last_activity_at, ?) WHERE id = ?`, [m.seq, at, at, m.conversationId]);
          report.inserted++;
        } else {
          const same = await sql.one('SELECT conversation_id FROM messages WHERE id = ?', [m.id]);
          if (same?.conversation_id === m.conversationId) report.present++;
          else if (same) skip(record, `its id is that of a message of conversation ${same.conversation_id}`);
          else {
            const rival = await sql.one('SELECT id FROM messages WHERE conversation_id = ? AND seq = ?', [m.conversationId, m.seq]);
            skip(record, rival ? `its seq ${m.seq} is that of message ${rival.id}, already there` : 'it repeats the external id or idempotency key of a message already there');
          }
        }
        break;
      }
      case 'contact': {
        const c = record.data;
        let id = c.id;
        let before: 'inserted' | 'present';
        if (await owns(sql, 'contacts', t, id)) before = 'present';
        else if ((id = await survivorOf(sql, t, c.id)) !== c.id) before = 'present'; // merged by an earlier import
        else if (await sql.run(insert('contacts', tables.contacts.columns, '(id)'), tables.contacts.values(c, t))) before = 'inserted';
        else {
          skip(record, 'its id is that of a contact of another tenant');
          break;
        }
        let merged = false;
        for (const h of c.handles) {
          // Another transaction (a live ingest) may be moving the same handles: look again until the handle is this contact's.
          for (let tries = 0; ; tries++) {
            if (tries === 5) throw new ColloquyError('conflict', `Contact ${c.id} changed while it was imported; run the import again.`, { reason: 'contact_changed_concurrently' });
            const owner = (await sql.one(CONTACT_OF_HANDLE, [t, h.channel, h.address]))?.contact_id as string | undefined;
            if (owner === id) break;
            if (owner === undefined) {
              if (await sql.run(insert('contact_handles', HANDLE_COLUMNS, ''), handleValues(t, id, c.createdAt, h))) break;
              continue;
            }
            const outcome = await mergeContacts(engine, sql, t, id, owner, now);
            if (outcome) {
              report.closed += outcome.closed.length;
              merged = true;
            }
            id = await survivorOf(sql, t, id);
          }
        }
        report[merged ? 'merged' : before]++;
        break;
      }
      case 'conversation': {
        let c = record.data;
        if (await owns(sql, 'conversations', t, c.id)) {
          report.present++; // it keeps its own state
          break;
        }
        if (c.contactId !== null) c = { ...c, contactId: await survivorOf(sql, t, c.contactId) };
        let missing: string | undefined;
        for (const [table, ref] of [['contacts', c.contactId], ['channels', c.channelId]] as const) {
          if (ref !== null && !(await owns(sql, table, t, ref))) missing ??= `its ${SINGULAR[table]} ${ref} is not in the tenant`;
        }
        if (missing) {
          skip(record, missing);
          break;
        }
        const lost: string[] = [];
        if (c.agentId !== null) {
          const agent = state.agents[`${t}/${c.agentId}`] ?? c.agentId;
          if (await owns(sql, 'agents', t, agent)) c = { ...c, agentId: agent };
          else {
            lost.push(`its agent ${c.agentId}, which is not in the tenant`);
            c = { ...c, agentId: null };
          }
        }
        const previous = c.previousConversationId;
        if (previous !== null && !(await owns(sql, 'conversations', t, previous))) c = { ...c, previousConversationId: null };
        let linkRival: string | undefined;
        if (c.status !== 'closed' && c.contactId !== null && c.channelId !== null) {
          const rival = await sql.one(`SELECT id, previous_conversation_id, last_activity_at FROM conversations
            WHERE tenant_id = ? AND contact_id = ? AND channel_id = ? AND status <> 'closed' FOR UPDATE`, [t, c.contactId, c.channelId]);
          if (rival && Date.parse(c.lastActivityAt) < Number(rival.last_activity_at)) {
            c = { ...c, status: 'closed', closedAt: new Date(now).toISOString(), version: c.version + 1 };
            if (rival.previous_conversation_id === null) linkRival = rival.id;
            report.closed++;
          } else if (rival) {
            await sql.run(`UPDATE conversations SET status = 'closed', closed_at = ?, version = version + 1, updated_at = ? WHERE id = ?`, [now, now, rival.id]);
            await changed(t, rival.id, ['status']);
            c = { ...c, previousConversationId: c.previousConversationId ?? rival.id };
            report.closed++;
          }
        }
        // Conflicts on its id only: a second open conversation for the pair (a live ingest meanwhile) must fail the batch, which is retried.
        if (!(await sql.run(insert('conversations', tables.conversations.columns, '(id)'), tables.conversations.values(c, t)))) {
          skip(record, 'its id is that of a conversation of another tenant');
          break;
        }
        if (previous !== null && c.previousConversationId === null) state.links.push({ tenant: t, id: c.id, previous });
        if (linkRival) {
          await sql.run('UPDATE conversations SET previous_conversation_id = ?, version = version + 1, updated_at = ? WHERE id = ?', [c.id, now, linkRival]);
          await changed(t, linkRival, ['previousConversationId']);
        }
        if (c.state.version > 0) await sql.run(insert('conversation_states', tables.states.columns, ''), tables.states.values(c.state, t));
        report.inserted++;
        if (lost.length) adjust(record, `without ${lost.join(' and ')}`);
        break;
      }
      case 'channel': {
        let key = record.idempotencyKey ?? null;
        if (await owns(sql, 'channels', t, record.data.id)) {
          report.present++;
          break;
        }
        const holder = key === null ? undefined : await sql.one('SELECT id FROM channels WHERE tenant_id = ? AND idempotency_key = ?', [t, key]);
        if (holder) key = null;
        const hash = key === null ? null : record.idempotencyHash ?? null;
        if (!(await sql.run(insert('channels', tables.channels.columns, '(id)'), tables.channels.values(record.data, t, { secrets: record.secrets ?? {}, idempotencyKey: key, idempotencyHash: hash })))) {
          skip(record, 'its id is that of a channel of another tenant');
          break;
        }
        // Secrets that arrive by import are changes to secrets like any other.
        const names = Object.keys(record.secrets ?? {}).sort();
        if (names.length) {
          await writeAudit(sql, { id: newId(), actor, action: 'channel.secrets_changed', tenant: t, subjectId: record.data.id, details: { set: names, removed: [], by: 'import' }, now });
        }
        report.inserted++;
        if (holder) adjust(record, `without its idempotency key, which channel ${holder.id} already holds`);
        break;
      }
      case 'setting':
      case 'apiKey':
      case 'webhook':
      case 'budget':
      case 'alertSettings': {
        const outcome = await importBackupRecord(sql, record, (tenant, id) => state.agents[`${tenant}/${id}`]);
        if (outcome === 'inserted' || outcome === 'present') report[outcome]++;
        else skip(record, outcome.skipped);
        break;
      }
      case 'agent': {
        const a = record.data;
        if (await owns(sql, 'agents', t, a.id)) {
          report.present++;
          break;
        }
        const named = await sql.one('SELECT id FROM agents WHERE tenant_id = ? AND name = ?', [t, a.name]);
        if (named) {
          state.agents[`${t}/${a.id}`] = named.id;
          report.merged++;
          note(record, `merged with agent ${named.id} of the same name, already there: its conversations are that agent's`);
        } else if (await sql.run(insert('agents', tables.agents.columns, '(id)'), tables.agents.values(a, t))) {
          report.inserted++;
        } else {
          skip(record, 'its id is that of an agent of another tenant');
        }
        break;
      }
    }
  }
}

/** Errors that another transaction caused and a rerun of the batch can get past. */
const retryable = (engine: SqlEngine, error: unknown) =>
  engine.isUniqueViolation(error) || ['40P01', '40001'].includes((error as { code?: string })?.code ?? '');

/**
 * Imports a stream of records, committing every `batch` of them (merges and merged ids are kept in the
 * database, so a later batch finds what an earlier one did). A batch that another transaction got in the way
 * of (a deadlock, a live ingest opening a conversation meanwhile) is rolled back and run again. Links to a
 * previous conversation that came later in the file are set at the end. `dryRun` runs it all in one
 * transaction and rolls it back; `committed` hears the report after each batch (what a failure leaves).
 */
export async function importStream(engine: SqlEngine, tables: Tables, records: AsyncIterable<PortableRecord>, options: {
  dryRun: boolean; now: number; batch?: number; committed?: ((report: ImportReport) => void) | undefined; actor?: string | undefined;
}): Promise<ImportReport> {
  const at = { now: options.now, actor: options.actor ?? 'import' };
  let state: ImportState = { report: emptyReport(), agents: {}, links: [] };
  const size = options.batch ?? 500;
  const lock = (sql: SqlRunner) => (engine.dialect === 'postgres' ? sql.one('SELECT pg_advisory_xact_lock(?::bigint) AS x', [IMPORT_LOCK]) : undefined);
  const batches = async function* () {
    let batch: PortableRecord[] = [];
    for await (const record of records) {
      batch.push(record);
      if (batch.length === size) yield batch.splice(0);
    }
    if (batch.length) yield batch;
  };
  const finish = async (sql: SqlRunner, links: ImportState['links'], report: ImportReport) => {
    for (const link of links) {
      const set = (await owns(sql, 'conversations', link.tenant, link.previous))
        && (await sql.run('UPDATE conversations SET previous_conversation_id = ? WHERE id = ? AND tenant_id = ? AND previous_conversation_id IS NULL', [link.previous, link.id, link.tenant]));
      if (!set) {
        report.adjusted++;
        if (report.notes.length < 50) report.notes.push(`conversation ${link.id} (tenant ${link.tenant}) imported without its previous conversation ${link.previous}, which is not in the tenant`);
      }
    }
  };

  if (options.dryRun) {
    const rolledBack = new Error('dry run');
    await engine.tx(async (tx) => {
      await lock(tx);
      for await (const batch of batches()) await importBatch(engine, tx, tables, batch, state, at);
      await finish(tx, state.links, state.report);
      throw rolledBack;
    }).catch((error) => {
      if (error !== rolledBack) throw error;
    });
    return state.report;
  }
  // Each batch works on a copy of the state, which becomes the state once it committed.
  const run = async (work: (tx: SqlRunner, next: ImportState) => Promise<void>) => {
    for (let attempt = 1; ; attempt++) {
      const next = structuredClone(state);
      try {
        await engine.tx(async (tx) => {
          await lock(tx);
          await work(tx, next);
        });
        state = next;
        options.committed?.(state.report);
        return;
      } catch (error) {
        if (attempt === 3 || !retryable(engine, error)) throw error;
      }
    }
  };
  for await (const batch of batches()) await run((tx, next) => importBatch(engine, tx, tables, batch, next, at));
  if (state.links.length) await run((tx, next) => finish(tx, next.links, next.report));
  return state.report;
}
