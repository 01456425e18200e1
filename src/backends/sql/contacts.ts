import { ColloquyError } from '../../domain/errors.js';
import type { ContactExport, Handle } from '../../domain/entities.js';
import type { ContactRepository } from '../backend.js';
import type { EraseEvents } from './events.js';
import { toJson, type SqlEngine, type SqlRunner } from './sql.js';
import { emptyState, type Tables } from './tables.js';
import { keptConversation } from './trash.js';

export const CONTACT_INSERT = 'INSERT INTO contacts (id, tenant_id, name, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)';
export const HANDLE_INSERT = 'INSERT INTO contact_handles (tenant_id, channel, address, contact_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING';
export const CONTACT_OF_HANDLE = 'SELECT contact_id FROM contact_handles WHERE tenant_id = ? AND channel = ? AND address = ?';
const HANDLE_ORDER = 'ORDER BY created_at, channel COLLATE "C", address COLLATE "C"';

/** The handles of each contact, in the order they were added. */
export async function handlesByContact(sql: SqlRunner, contactIds: string[]): Promise<Map<string, Handle[]>> {
  const handles = new Map<string, Handle[]>();
  if (!contactIds.length) return handles;
  const rows = await sql.all(`SELECT contact_id, channel, address FROM contact_handles WHERE contact_id = ANY(?::uuid[]) ${HANDLE_ORDER}`, [contactIds]);
  for (const h of rows) {
    let list = handles.get(h.contact_id);
    if (!list) handles.set(h.contact_id, (list = []));
    list.push({ channel: h.channel, address: h.address });
  }
  return handles;
}

export function contactRepository(engine: SqlEngine, tables: Tables, eraseEvents: EraseEvents): ContactRepository {
  const byId = async (sql: SqlRunner, tenant: string, id: string) => {
    const row = await sql.one('SELECT * FROM contacts WHERE id = ? AND tenant_id = ?', [id, tenant]);
    return row && tables.contacts.fromRow(row, (await handlesByContact(sql, [id])).get(id) ?? []);
  };

  return {
    upsert: (tenant, input) => engine.tx(async (sql) => {
      const handle = [tenant, input.channel, input.address];
      let found = await sql.one(CONTACT_OF_HANDLE, handle);
      if (!found) {
        await sql.run(CONTACT_INSERT, [input.id, tenant, input.name ?? null, JSON.stringify(input.metadata ?? {}), input.now, input.now]);
        if (await sql.run(HANDLE_INSERT, [...handle, input.id, input.now])) return (await byId(sql, tenant, input.id))!;
        // Another process created the handle's contact meanwhile: update that one.
        await sql.run('DELETE FROM contacts WHERE id = ?', [input.id]);
        found = await sql.one(CONTACT_OF_HANDLE, handle);
        if (!found) throw new ColloquyError('conflict', 'The contact of this handle was erased at the same moment; retry the call.', { reason: 'contact_erased_concurrently' });
      }
      if (input.name !== undefined || input.metadata !== undefined) {
        await sql.run('UPDATE contacts SET name = CASE WHEN ? THEN ? ELSE name END, metadata = coalesce(?::jsonb, metadata), updated_at = ? WHERE id = ?',
          [input.name !== undefined, input.name ?? null, toJson(input.metadata), input.now, found.contact_id]);
      }
      return (await byId(sql, tenant, found.contact_id))!;
    }),

    get: (tenant, id) => byId(engine, tenant, id),

    async many(tenant, ids) {
      if (!ids.length) return [];
      const rows = await engine.all('SELECT * FROM contacts WHERE tenant_id = ? AND id = ANY(?::uuid[])', [tenant, [...ids]]);
      const handles = await handlesByContact(engine, rows.map((r) => r.id));
      return rows.map((row) => tables.contacts.fromRow(row, handles.get(row.id) ?? []));
    },

    async list(tenant, page, q) {
      // A search: `%` and `_` in it are themselves, not wildcards.
      const like = q === undefined ? undefined : `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const rows = await engine.all(`SELECT * FROM contacts c WHERE tenant_id = ? AND id > ?${like === undefined ? '' : ` AND (lower(coalesce(name, '')) LIKE ? ESCAPE '\\'
          OR EXISTS (SELECT 1 FROM contact_handles h WHERE h.contact_id = c.id AND lower(h.address) LIKE ? ESCAPE '\\'))`} ORDER BY id LIMIT ?`,
      [tenant, page.after ?? '00000000-0000-0000-0000-000000000000', ...(like === undefined ? [] : [like, like]), page.limit]);
      const handles = await handlesByContact(engine, rows.map((r) => r.id));
      return rows.map((row) => tables.contacts.fromRow(row, handles.get(row.id) ?? []));
    },

    async findByHandle(tenant, handle) {
      const found = await engine.one(CONTACT_OF_HANDLE, [tenant, handle.channel, handle.address]);
      return found && byId(engine, tenant, found.contact_id);
    },

    erase: (tenant, id, now) => engine.tx(async (sql) => {
      if (!(await sql.one('SELECT 1 AS x FROM contacts WHERE id = ? AND tenant_id = ? FOR UPDATE', [id, tenant]))) return undefined;
      const handles = (await handlesByContact(sql, [id])).get(id) ?? [];
      const conversationIds = (await sql.all('SELECT id FROM conversations WHERE contact_id = ? ORDER BY id', [id])).map((r) => r.id as string);
      // Other contacts' links to these (only imported data has them), explicitly: the hot tier must learn of them.
      const unlinked = (await sql.all(`UPDATE conversations SET previous_conversation_id = NULL
        WHERE previous_conversation_id = ANY(?::uuid[]) AND contact_id IS DISTINCT FROM ? RETURNING id`, [conversationIds, id])).map((r) => r.id as string);
      await sql.run('DELETE FROM contacts WHERE id = ?', [id]); // cascades to handles, conversations, messages, states
      // Its trash too, after the conversations: a delete into the trash that was holding one of them has committed by now.
      // Those of the trash are named with the others: a receiver was told to keep them until their purge.
      const trashed = (await sql.all('DELETE FROM trash WHERE contact_id = ? AND tenant_id = ? RETURNING conversation_id', [id, tenant])).map((r) => r.conversation_id as string);
      await sql.run('DELETE FROM contact_merges WHERE survivor_id = ?', [id]); // the ids merged into it are its data too
      const erased = [...conversationIds, ...trashed];
      await eraseEvents(sql, tenant, erased, { type: 'contact.erased', conversationId: null, data: { contactId: id, conversationIds: erased }, now });
      return { handles, conversationIds: erased, unlinked };
    }),

    async export(tenant, id) {
      const contact = await byId(engine, tenant, id);
      if (!contact) return undefined;
      const rows = await engine.all('SELECT * FROM conversations WHERE contact_id = ? ORDER BY created_at, id', [id]);
      const conversations = await Promise.all(rows.map(async (row) => {
        const state = await engine.one('SELECT * FROM conversation_states WHERE conversation_id = ?', [row.id]);
        const messages = (await engine.all('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq', [row.id])).map((m) => tables.messages.fromRow(m));
        return { ...tables.conversations.fromRow(row), state: state ? tables.states.fromRow(state) : emptyState(row.id), messages };
      }));
      // What is in the trash is still held: a person's export shows it too.
      const trashed = [];
      for (const t of await engine.all('SELECT * FROM trash WHERE contact_id = ? AND tenant_id = ? ORDER BY deleted_at, conversation_id', [id, tenant])) {
        const messages = (await engine.all('SELECT message FROM trash_messages WHERE conversation_id = ? ORDER BY seq', [t.conversation_id])).map((m) => engine.json(m.message));
        const conversation = keptConversation(engine.json(t.conversation));
        const state = t.state === null || t.state === undefined ? emptyState(t.conversation_id) : engine.json(t.state);
        trashed.push({ ...conversation, contactId: id, state, messages, deletedAt: new Date(Number(t.deleted_at)).toISOString(), purgeAt: new Date(Number(t.purge_at)).toISOString() });
      }
      return { contact, conversations, trashed } satisfies ContactExport;
    },
  };
}
