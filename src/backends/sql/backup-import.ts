import { ColloquyError } from '../../domain/errors.js';
import { owned } from './conversations.js';
import type { BackupRecord } from './portable.js';
import type { SqlRunner } from './sql.js';

/**
 * One record of what only a backup holds (`BackupRecord`: the sealing setup, API keys, webhook endpoints, budgets,
 * alert settings), inside the import's transaction: inserted when absent, left when present, skipped (saying why)
 * when it points outside its tenant. `agentOf` maps an agent id of the file to the agent of that name already there.
 */
export async function importBackupRecord(sql: SqlRunner, record: BackupRecord, agentOf: (tenant: string, id: string) => string | undefined): Promise<'inserted' | 'present' | { skipped: string }> {
  const t = record.tenant;
  switch (record.kind) {
  case 'setting': {
    // The sealing salt and check value: a backup's sealed secrets open with its key only under these.
    const { name, value } = record.data;
    const present = await sql.one('SELECT value FROM colloquy_settings WHERE name = ?', [name]);
    if (present && present.value !== value) {
      throw new ColloquyError('conflict', "This backup's secrets are sealed under another key setup than this database's (COLLOQUY_SECRET_KEY was set up on it already): restore it into an empty database.", { reason: 'secret_setup_differs' });
    }
    if (present) return 'present';
    await sql.run('INSERT INTO colloquy_settings (name, value) VALUES (?, ?)', [name, value]);
    return 'inserted';
  }
  case 'apiKey': {
    const k = record.data;
    const inserted = await sql.run(`INSERT INTO api_keys (id, tenant_id, name, prefix, hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [k.id, t, k.name, k.prefix, k.hash, Date.parse(k.createdAt), k.expiresAt === null ? null : Date.parse(k.expiresAt), k.revokedAt === null ? null : Date.parse(k.revokedAt)]);
    if (inserted) return 'inserted';
    if (await sql.one('SELECT 1 AS x FROM api_keys WHERE id = ? AND tenant_id = ?', [k.id, t])) return 'present';
    return { skipped: 'its id or hash is that of another key' };
  }
  case 'webhook': {
    const w = record.data;
    // Inserted disabled, without a cursor (the source's event positions mean nothing here): the store points it at
    // the log's head and enables it once the whole import is in, so that no deliverer sends this log's history.
    const inserted = await sql.run(`INSERT INTO webhook_endpoints (id, tenant_id, url, events, description, enabled, secrets, delivered_to, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, false, ?, NULL, ?, ?) ON CONFLICT DO NOTHING`,
    [w.id, t, w.url, JSON.stringify(w.events), w.description, JSON.stringify(w.secrets), Date.parse(w.createdAt), Date.parse(w.updatedAt)]);
    if (inserted) return 'inserted';
    if (await sql.one('SELECT 1 AS x FROM webhook_endpoints WHERE id = ? AND tenant_id = ?', [w.id, t])) return 'present';
    return { skipped: 'its id is that of an endpoint of another tenant' };
  }
  case 'budget': {
    const b = record.data;
    // An agent merged with one of the same name: its budget is that agent's.
    const scope = b.scope.startsWith('agent:') ? `agent:${agentOf(t, b.scope.slice(6)) ?? b.scope.slice(6)}` : b.scope;
    if (scope.startsWith('agent:') && !(await owned(sql, 'agents', t, scope.slice(6)))) {
      return { skipped: `its agent ${scope.slice(6)} is not in the tenant` };
    }
    const inserted = await sql.run('INSERT INTO budgets (tenant_id, scope, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [t, scope, JSON.stringify(b.config), Date.parse(b.createdAt), Date.parse(b.updatedAt)]);
    return inserted ? 'inserted' : 'present';
  }
  case 'alertSettings': {
    const a = record.data;
    const inserted = await sql.run('INSERT INTO alert_settings (tenant_id, rules, emails, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [t, JSON.stringify(a.rules), JSON.stringify(a.emails), Date.parse(a.updatedAt)]);
    return inserted ? 'inserted' : 'present';
  }
  }
}
