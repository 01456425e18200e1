import type { ChannelKind } from '../../domain/entities.js';
import { normalizeAddress } from '../../domain/handles.js';
import { mergeContacts } from './contact-merge.js';
import type { SqlEngine } from './sql.js';

const DONE = 'handles-normalized';
const CONTACT_OF = 'SELECT contact_id FROM contact_handles WHERE tenant_id = ? AND channel = ? AND address = ?';

/** Handles written this long before the last pass began are looked at again (writers' clocks differ). */
const MARGIN_MS = 10 * 60_000;

/**
 * After the schema migrations, at every migrating open: rewrites stored handles to the one spelling the store
 * now writes (`domain/handles.ts`) — all of them the first time, then those written since the last pass began,
 * so that handles an instance of the previous version stored during a rolling upgrade are respelled by the next
 * start. Where two contacts turn out to share a handle, they are merged by the contact-merge rule. Each handle
 * changes in a transaction of its own; a pass cut short is done again. Answers how many handles changed and how
 * many contacts were merged.
 */
export async function normalizeStoredHandles(engine: SqlEngine, now: number): Promise<{ changed: number; merged: number }> {
  const last = (await engine.one('SELECT value FROM colloquy_settings WHERE name = ?', [DONE]))?.value as string | undefined;
  const since = last === undefined ? -1 : Number(last) - MARGIN_MS;
  let changed = 0;
  let merged = 0;
  let after: [number, string, string, string] = [since, '', '', ''];
  for (;;) {
    const rows = await engine.all(`SELECT created_at, tenant_id, channel, address FROM contact_handles
      WHERE (created_at, tenant_id, channel, address) > (?, ?, ?, ?) ORDER BY created_at, tenant_id, channel, address LIMIT 500`, after);
    if (rows.length === 0) break;
    for (const row of rows) {
      const { tenant_id: tenant, channel, address } = row as { tenant_id: string; channel: ChannelKind; address: string };
      let spelled: string;
      try {
        spelled = normalizeAddress(channel, address);
      } catch {
        spelled = address.normalize('NFKC').trim() || address; // not a valid address of its kind: kept, never dropped
      }
      if (spelled === address) continue;
      const didMerge = await engine.tx(async (sql) => {
        const mine = (await sql.one(`${CONTACT_OF} FOR UPDATE`, [tenant, channel, address]))?.contact_id as string | undefined;
        if (!mine) return false; // erased or changed meanwhile
        const owner = (await sql.one(`${CONTACT_OF} FOR UPDATE`, [tenant, channel, spelled]))?.contact_id as string | undefined;
        if (!owner) {
          await sql.run('UPDATE contact_handles SET address = ? WHERE tenant_id = ? AND channel = ? AND address = ?', [spelled, tenant, channel, address]);
          return false;
        }
        const outcome = owner === mine ? undefined : await mergeContacts(engine, sql, tenant, owner, mine, now);
        // Both spellings now belong to one contact: the old one goes.
        await sql.run('DELETE FROM contact_handles WHERE tenant_id = ? AND channel = ? AND address = ?', [tenant, channel, address]);
        return outcome !== undefined;
      });
      changed++;
      if (didMerge) merged++;
    }
    const end = rows.at(-1)!;
    after = [Number(end.created_at), end.tenant_id, end.channel, end.address];
  }
  await engine.run('INSERT INTO colloquy_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [DONE, String(now)]);
  return { changed, merged };
}
