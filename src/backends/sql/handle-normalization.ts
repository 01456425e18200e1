import type { ChannelKind } from '../../domain/entities.js';
import { normalizeAddress } from '../../domain/handles.js';
import { mergeContacts } from './contact-merge.js';
import type { SqlEngine } from './sql.js';

const DONE = 'handles-normalized';
const CONTACT_OF = 'SELECT contact_id FROM contact_handles WHERE tenant_id = ? AND channel = ? AND address = ?';

/**
 * Once per database, after the schema migrations: rewrites every stored handle to the one spelling the store
 * now writes (`domain/handles.ts`). Where two contacts turn out to share a handle, they are merged by the
 * contact-merge rule. Each handle changes in a transaction of its own; a run cut short is run again at the
 * next open, and answers how many handles changed and how many contacts were merged.
 */
export async function normalizeStoredHandles(engine: SqlEngine, now: number): Promise<{ changed: number; merged: number }> {
  if (await engine.one('SELECT value FROM colloquy_settings WHERE name = ?', [DONE])) return { changed: 0, merged: 0 };
  let changed = 0;
  let merged = 0;
  let after: [string, string, string] = ['', '', ''];
  for (;;) {
    const rows = await engine.all(`SELECT tenant_id, channel, address FROM contact_handles WHERE (tenant_id, channel, address) > (?, ?, ?)
      ORDER BY tenant_id, channel, address LIMIT 500`, after);
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
    const last = rows.at(-1)!;
    after = [last.tenant_id, last.channel, last.address];
  }
  await engine.run('INSERT INTO colloquy_settings (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING', [DONE, String(now)]);
  return { changed, merged };
}
