import type { Agent, Channel, Contact, Conversation, ConversationState, Handle, Message } from '../../domain/entities.js';
import { ColloquyError } from '../../domain/errors.js';
import { mergeContacts, survivorOf } from './contact-merge.js';
import { CONTACT_OF_HANDLE, handlesByContact } from './contacts.js';
import { writeEvent } from './events.js';
import type { Row, SqlEngine, SqlRunner } from './sql.js';
import { emptyState, type Tables } from './tables.js';

/**
 * The portable form of a database (`colloquy export` / `import`): one JSON object per line, in the API's own
 * shapes, parents before children. Events are not exported: they describe changes made in the source; a
 * target's consumers start from the target's own log. API keys are not exported either.
 *
 * A channel's `secrets` are present only when asked for: in a file their values are in the clear; between the
 * store and the backend they are sealed (`store/secret-box.ts`).
 */
export type PortableRecord =
  | { kind: 'channel'; tenant: string; data: Channel; secrets?: Record<string, string> }
  | { kind: 'agent'; tenant: string; data: Agent }
  | { kind: 'contact'; tenant: string; data: Contact }
  | { kind: 'conversation'; tenant: string; data: Conversation & { state: ConversationState } }
  | { kind: 'message'; tenant: string; data: Message };

export const PORTABLE_KINDS = ['channel', 'agent', 'contact', 'conversation', 'message'] as const;

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What is wrong with a record's envelope, or undefined; the database's constraints check the rest. */
export function portableProblem(record: unknown): string | undefined {
  const r = record as { kind?: unknown; tenant?: unknown; data?: { id?: unknown } } | null;
  if (!r || typeof r !== 'object') return 'is not an object';
  if (!PORTABLE_KINDS.includes(r.kind as never)) return `has an unknown kind ${JSON.stringify(r.kind)}`;
  if (typeof r.tenant !== 'string' || !TENANT.test(r.tenant)) return 'has an invalid tenant';
  if (!r.data || typeof r.data !== 'object' || typeof r.data.id !== 'string' || !UUID.test(r.data.id)) return 'has no data with a UUID id';
  return undefined;
}

const START = '00000000-0000-0000-0000-000000000000';
const PAGE = 1000;

/**
 * Every record of the database, parents before children, paged by key so memory stays flat. `sql` must read
 * one snapshot (the engines open a read-only snapshot transaction for it).
 */
export async function* exportRecords(sql: SqlRunner, tables: Tables): AsyncGenerator<PortableRecord> {
  const byId = async function* (select: string) {
    for (let after = START; ;) {
      const rows = await sql.all(`${select} WHERE x.id > ? ORDER BY x.id LIMIT ${PAGE}`, [after]);
      yield rows;
      if (rows.length < PAGE) return;
      after = rows.at(-1)!.id;
    }
  };
  for await (const rows of byId('SELECT x.* FROM channels x')) {
    for (const row of rows) yield { kind: 'channel', tenant: row.tenant_id, data: tables.channels.fromRow(row), secrets: tables.channelSecrets(row) };
  }
  for await (const rows of byId('SELECT x.* FROM agents x')) {
    for (const row of rows) yield { kind: 'agent', tenant: row.tenant_id, data: tables.agents.fromRow(row) };
  }
  for await (const rows of byId('SELECT x.* FROM contacts x')) {
    const handles = await handlesByContact(sql, rows.map((r) => r.id));
    for (const row of rows) yield { kind: 'contact', tenant: row.tenant_id, data: tables.contacts.fromRow(row, handles.get(row.id) ?? []) };
  }
  const conversations = `SELECT x.*, s.state AS s_state, s.previous_state AS s_previous_state, s.data AS s_data,
    s.version AS s_version, s.updated_at AS s_updated_at FROM conversations x LEFT JOIN conversation_states s ON s.conversation_id = x.id`;
  for await (const rows of byId(conversations)) {
    for (const row of rows) {
      const state = row.s_version === null ? emptyState(row.id) : tables.states.fromRow({
        conversation_id: row.id, state: row.s_state, previous_state: row.s_previous_state, data: row.s_data, version: row.s_version, updated_at: row.s_updated_at,
      });
      yield { kind: 'conversation', tenant: row.tenant_id, data: { ...tables.conversations.fromRow(row), state } };
    }
  }
  for (let after: [string, number] = [START, 0]; ;) {
    const rows = await sql.all(`SELECT * FROM messages WHERE (conversation_id, seq) > (?, ?) ORDER BY conversation_id, seq LIMIT ${PAGE}`, after);
    for (const row of rows) yield { kind: 'message', tenant: row.tenant_id, data: tables.messages.fromRow(row) };
    if (rows.length < PAGE) return;
    after = [rows.at(-1)!.conversation_id, rows.at(-1)!.seq];
  }
}

const insertIfAbsent = async (sql: SqlRunner, table: string, columns: readonly string[], values: unknown[]) =>
  (await sql.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`, values)) > 0;

type Owner = 'contacts' | 'channels' | 'agents' | 'conversations';
const owns = async (sql: SqlRunner, table: Owner, tenant: string, id: string) =>
  (await sql.one(`SELECT 1 AS x FROM ${table} WHERE id = ? AND tenant_id = ?`, [id, tenant])) !== undefined;

const TABLE_OF = { channel: 'channels', agent: 'agents', contact: 'contacts', conversation: 'conversations' } as const;
const HANDLE_COLUMNS = ['tenant_id', 'channel', 'address', 'contact_id', 'created_at'];
const handleValues = (tenant: string, contactId: string, createdAt: string, h: Handle) => [tenant, h.channel, h.address, contactId, Date.parse(createdAt)];
const SINGULAR = { contacts: 'contact', channels: 'channel', agents: 'agent', conversations: 'conversation' } as const;

/** What an import did. `inserted + present + merged + skipped` is the number of records read. */
export interface ImportReport {
  /** Records written. */
  inserted: number;
  /** Records already there (same id, or a contact merged by an earlier import): left as they are. */
  present: number;
  /** Contact records merged with a contact already there that has one of their handles (the contact-merge rule). */
  merged: number;
  /** Records not imported; `problems` says why. */
  skipped: number;
  /** Conversations closed because two were open for one contact on one channel (counted above as well). */
  closed: number;
  /** Why records were skipped: the first 20 reasons. */
  problems: string[];
}

export const emptyReport = (): ImportReport => ({ inserted: 0, present: 0, merged: 0, skipped: 0, closed: 0, problems: [] });

/**
 * Imports records inside the caller's transaction: what is absent is inserted, what is present is left (a
 * second import of the same file changes nothing; a newer export of the same database adds what is new, and
 * conversations' lastSeq follows imported messages). Nothing is dropped silently:
 *
 * - a contact with a handle that belongs to another contact is merged with it by the contact-merge rule
 *   (`contact-merge.ts`), and conversations naming the merged id follow the survivor;
 * - a non-closed conversation for a contact and channel that already have one: the one with older activity is
 *   closed and becomes the other's previous conversation;
 * - a record whose references are missing or belong to another tenant is skipped, never linked across tenants,
 *   and the report says why.
 */
export async function importRecords(engine: SqlEngine, sql: SqlRunner, tables: Tables, records: PortableRecord[], report: ImportReport, now: number): Promise<void> {
  const channels = new Map<string, string | null | undefined>();
  const skip = (record: PortableRecord, why: string) => {
    report.skipped++;
    if (report.problems.length < 20) report.problems.push(`${record.kind} ${record.data.id} (tenant ${record.tenant}) ${why}`);
  };
  const missingRef = async (tenant: string, refs: Array<[Owner, string | null]>) => {
    for (const [table, id] of refs) if (id !== null && !(await owns(sql, table, tenant, id))) return `refers to ${SINGULAR[table]} ${id}, which is not in the tenant`;
    return undefined;
  };
  const changed = (tenant: string, id: string, fields: string[]) => sql.one('SELECT status, version FROM conversations WHERE id = ?', [id]).then((row) =>
    writeEvent(sql, tenant, { type: 'conversation.updated', conversationId: id, data: { status: row!.status, version: row!.version, changed: fields }, now }));

  for (const record of records) {
    const t = record.tenant;
    switch (record.kind) {
      case 'message': {
        const m = record.data;
        const key = `${t}/${m.conversationId}`;
        if (!channels.has(key)) channels.set(key, (await sql.one('SELECT channel_id FROM conversations WHERE id = ? AND tenant_id = ?', [m.conversationId, t]))?.channel_id);
        const channelId = channels.get(key);
        if (channelId === undefined) {
          skip(record, `belongs to conversation ${m.conversationId}, which is not in the tenant`);
        } else if (await insertIfAbsent(sql, 'messages', tables.messages.columns, tables.messages.values(m, t, { channelId }))) {
          const at = Date.parse(m.createdAt);
          await sql.run(`UPDATE conversations SET last_seq = greatest(last_seq, ?), last_message_at = greatest(coalesce(last_message_at, 0), ?),
            last_activity_at = greatest(last_activity_at, ?) WHERE id = ?`, [m.seq, at, at, m.conversationId]);
          report.inserted++;
        } else {
          const same = await sql.one('SELECT conversation_id, seq FROM messages WHERE id = ?', [m.id]);
          if (same?.conversation_id === m.conversationId) report.present++;
          else if (same) skip(record, `has the id of a message of conversation ${same.conversation_id}`);
          else {
            const rival = await sql.one('SELECT id FROM messages WHERE conversation_id = ? AND seq = ?', [m.conversationId, m.seq]);
            skip(record, rival ? `has seq ${m.seq}, which message ${rival.id} already has` : `repeats the external id or idempotency key of a message already there`);
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
        else if (await insertIfAbsent(sql, 'contacts', ...rowOf(tables, record))) before = 'inserted';
        else {
          skip(record, 'has the id of a contact of another tenant');
          break;
        }
        let merged = false;
        for (const h of c.handles) {
          // Another import may be merging the same contacts: look again until the handle is this contact's.
          for (let tries = 0; ; tries++) {
            if (tries === 5) throw new ColloquyError('conflict', `Contact ${c.id} changed while it was imported (merged or erased meanwhile); run the import again.`, { reason: 'contact_changed_concurrently' });
            const owner = (await sql.one(CONTACT_OF_HANDLE, [t, h.channel, h.address]))?.contact_id as string | undefined;
            if (owner === id) break;
            if (owner === undefined) {
              if (await insertIfAbsent(sql, 'contact_handles', HANDLE_COLUMNS, handleValues(t, id, c.createdAt, h))) break;
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
        const missing = await missingRef(t, [['contacts', c.contactId], ['channels', c.channelId], ['agents', c.agentId], ['conversations', c.previousConversationId]]);
        if (missing) {
          skip(record, missing);
          break;
        }
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
        if (!(await insertIfAbsent(sql, 'conversations', ...rowOf(tables, { ...record, data: c })))) {
          skip(record, 'has the id of a conversation of another tenant');
          break;
        }
        if (linkRival) {
          await sql.run('UPDATE conversations SET previous_conversation_id = ?, version = version + 1, updated_at = ? WHERE id = ?', [c.id, now, linkRival]);
          await changed(t, linkRival, ['previousConversationId']);
        }
        if (c.state.version > 0) await insertIfAbsent(sql, 'conversation_states', tables.states.columns, tables.states.values(c.state, t));
        report.inserted++;
        break;
      }
      default: {
        if (await insertIfAbsent(sql, TABLE_OF[record.kind], ...rowOf(tables, record))) report.inserted++;
        else if (await owns(sql, TABLE_OF[record.kind], t, record.data.id)) report.present++;
        else {
          const taken = record.kind === 'agent' && (await sql.one('SELECT id FROM agents WHERE tenant_id = ? AND name = ?', [t, record.data.name]));
          skip(record, taken ? `has the name of agent ${taken.id}, which is already there` : `has the id of ${record.kind === 'agent' ? 'an' : 'a'} ${record.kind} of another tenant`);
        }
      }
    }
  }
}

/** Rolls a dry run's transaction back. */
class DryRun extends Error {}

/**
 * Imports a stream of records, committing every `batch` of them (merges are remembered in the database, so a
 * later batch finds what an earlier one did). A dry run does it all in one transaction and rolls it back: the
 * report says what an import would do.
 */
export async function importStream(engine: SqlEngine, tables: Tables, records: AsyncIterable<PortableRecord>, options: { dryRun: boolean; now: number; batch?: number }): Promise<ImportReport> {
  const report = emptyReport();
  const size = options.batch ?? 500;
  if (options.dryRun) {
    await engine.tx(async (tx) => {
      let batch: PortableRecord[] = [];
      for await (const record of records) {
        batch.push(record);
        if (batch.length === size) await importRecords(engine, tx, tables, batch.splice(0), report, options.now);
      }
      await importRecords(engine, tx, tables, batch, report, options.now);
      throw new DryRun();
    }).catch((error) => {
      if (!(error instanceof DryRun)) throw error;
    });
    return report;
  }
  let batch: PortableRecord[] = [];
  const flush = async () => {
    const records = batch;
    batch = [];
    // A batch that fails leaves the report as it was before it: it counts what was committed.
    const counted = structuredClone(report);
    await engine.tx((tx) => importRecords(engine, tx, tables, records, counted, options.now));
    Object.assign(report, counted);
  };
  for await (const record of records) {
    batch.push(record);
    if (batch.length === size) await flush();
  }
  if (batch.length) await flush();
  return report;
}

function rowOf(tables: Tables, record: Exclude<PortableRecord, { kind: 'message' }>): [readonly string[], unknown[]] {
  const t = record.tenant;
  switch (record.kind) {
    case 'channel': return [tables.channels.columns, tables.channels.values(record.data, t, { secrets: record.secrets ?? {} })];
    case 'agent': return [tables.agents.columns, tables.agents.values(record.data, t)];
    case 'contact': return [tables.contacts.columns, tables.contacts.values(record.data, t)];
    case 'conversation': return [tables.conversations.columns, tables.conversations.values(record.data, t)];
  }
}

export type { Row };
