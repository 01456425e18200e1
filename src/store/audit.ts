import type { AuditEntry, Page } from '../domain/entities.js';
import { newId } from '../domain/ids.js';
import type { NewAudit } from '../backends/backend-inputs.js';
import type { AuditAction, JsonObject } from '../domain/entities.js';
import { AuditListSchema, type AuditListOptions } from '../domain/inputs.js';
import { validate } from '../domain/validate.js';
import { byId, paged } from './cursor.js';
import { assertTenant, type Scope } from './scope.js';

/** The audit log of key, tenant and channel-secret changes, across tenants (as keys are). */
export interface AuditApi {
  /** Oldest first; `tenant` to see one tenant's; `limit` 1–200, default 50. */
  list(options?: AuditListOptions): Promise<Page<AuditEntry>>;
}

/** An entry for the change about to be made through this scope, naming its actor. */
export const auditEntry = (s: Scope, action: AuditAction, tenant: string | null, details: JsonObject = {}): NewAudit => ({
  id: newId(), actor: s.actor, action, tenant, subjectId: null, details, now: s.clock(),
});

export function auditOf(s: Scope): AuditApi {
  return {
    list(options = {}) {
      const { tenant, ...page } = validate(AuditListSchema, options, 'audit list options');
      if (tenant !== undefined) assertTenant(tenant);
      return paged('audit', page, byId, (p) => s.backend.audit.list(p, tenant));
    },
  };
}
