import type { NewAudit } from '../backend-inputs.js';
import type { AuditRepository } from '../backend.js';
import type { SqlEngine, SqlRunner } from './sql.js';
import type { Tables } from './tables.js';

/** Writes an audit entry, in the transaction of the change it records. */
export async function writeAudit(sql: SqlRunner, entry: NewAudit, subjectId = entry.subjectId): Promise<void> {
  await sql.run('INSERT INTO audit_log (id, created_at, actor, action, tenant_id, subject_id, details) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [entry.id, entry.now, entry.actor, entry.action, entry.tenant, subjectId, JSON.stringify(entry.details)]);
}

export function auditRepository(engine: SqlEngine, tables: Tables): AuditRepository {
  return {
    async list(page, tenant) {
      const after = page.after ?? '00000000-0000-0000-0000-000000000000';
      const rows = tenant === undefined
        ? await engine.all('SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?', [after, page.limit])
        : await engine.all('SELECT * FROM audit_log WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?', [tenant, after, page.limit]);
      return rows.map((row) => tables.audit.fromRow(row));
    },
  };
}
