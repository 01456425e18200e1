import { randomBytes } from 'node:crypto';
import type { Diagnosis, PoolStats } from '../backends/backend.js';
import type { ImportReport } from '../backends/sql/portable-import.js';
import { portableProblem, type PortableRecord } from '../backends/sql/portable.js';
import type { HotTierStats } from '../cache/hot-tier.js';
import { ColloquyError, isColloquyError } from '../domain/errors.js';
import type { Scope } from './scope.js';
import type { Handle } from '../domain/entities.js';
import { normalizeAddress } from '../domain/handles.js';
import { secretContext } from './secret-box.js';

/** The store's operations across tenants: health, integrity, export and import. */
export interface OperationsApi {
  /** One round trip to the database; throws `unavailable` when it does not answer. */
  ping(): Promise<void>;
  /**
   * Whether this store can serve: the database answers and has the schema this code runs on. Throws
   * `unavailable` (`details.reason: 'schema_missing'` for a database without Colloquy's tables, as one dropped
   * and recreated empty), `schema_outdated` or `schema_too_new` otherwise.
   */
  ready(): Promise<void>;
  /** Database round-trip latency and pool figures, for health reports. Throws `unavailable` when it does not answer. */
  health(): Promise<{ dialect: 'sqlite' | 'postgres'; latencyMs: number; pool: PoolStats | null }>;
  /** Every tenant that has anything (a key, a channel, an agent, a contact or a conversation), by name; for operators. */
  tenants(): Promise<string[]>;
  /** Integrity checks and counts across all tenants (`colloquy doctor`); reads only, may scan whole tables. */
  diagnose(): Promise<Diagnosis>;
  /**
   * Every record of every tenant from one snapshot, parents before children (`colloquy export`). Channel
   * secrets are left out unless `includeSecrets`; then they are in the clear (keep such a file safe). A `backup`
   * holds everything a complete restore needs, secrets sealed as stored (readable with the same
   * COLLOQUY_SECRET_KEY, in the clear when the database has none) and API keys by their hashes.
   */
  exportAll(options?: { includeSecrets?: boolean; backup?: boolean }): AsyncGenerator<PortableRecord>;
  /**
   * Imports records as `exportAll` yields them (`colloquy import`): inserts what is absent, leaves what is
   * present (importing the same records twice changes nothing), merges a contact with the one already there
   * that has one of its handles (the older survives and takes the other's handles and conversations) and an
   * agent with the one of its name, closes the older of two open conversations of one contact on one channel,
   * and skips only what references data outside its tenant. The report accounts for every record and says why
   * any was skipped or changed; `dryRun` changes nothing. An array is checked whole before anything is
   * written; a stream is committed every 500 records (`committed` hears each) and stops at the first bad
   * record (`invalid_argument` naming it). Channel secrets are sealed with this store's key.
   */
  importAll(records: Iterable<unknown> | AsyncIterable<unknown>, options?: { dryRun?: boolean; backup?: boolean; committed?: (report: ImportReport) => void }): Promise<ImportReport>;
  /**
   * A random 32-byte secret of this name, created on first use and the same for every instance over this
   * database (kept in the database's settings). For signatures instances must agree on (stream tokens).
   */
  sharedSecret(name: string): Promise<Buffer>;
  /** The hot tier's kind, status and counters, or null without a cache. Synchronous: for metrics and health. */
  cacheStats(): HotTierStats | null;
  /** Connection pool figures (PostgreSQL), or null. Synchronous: for metrics. */
  poolStats(): PoolStats | null;
}

const isStringMap = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');

/**
 * A contact's handles as every entry point spells them now, so that an import from an older version or another
 * system meets the contacts already here; an address that cannot be normalised (letters in an old WhatsApp
 * handle) keeps its NFKC, trimmed spelling rather than being dropped.
 */
const normalizedHandles = (handles: Handle[]): Handle[] => {
  const seen = new Map<string, Handle>();
  for (const h of handles) {
    let address: string;
    try {
      address = normalizeAddress(h.channel, h.address);
    } catch {
      address = h.address.normalize('NFKC').trim() || h.address;
    }
    seen.set(`${h.channel}\n${address}`, { channel: h.channel, address });
  }
  return [...seen.values()];
};

export function operationsOf(s: Scope): OperationsApi {
  const { admin } = s.backend;
  /** Each secret of a channel record through `f`, bound to where it belongs. */
  const mapSecrets = (record: Extract<PortableRecord, { kind: 'channel' }>, f: (value: string, context: string) => string) =>
    Object.fromEntries(Object.entries(record.secrets ?? {}).map(([name, value]) => [name, f(value, secretContext(record.tenant, record.data.id, name))]));
  return {
    ping: () => admin.ping(),
    async ready() {
      await admin.ping();
      try {
        await admin.checkSchema();
      } catch (error) {
        if (isColloquyError(error, 'schema_outdated') && error.details?.databaseVersion === 0) {
          throw new ColloquyError('unavailable', "The database has none of Colloquy's tables (dropped and recreated empty?): run `colloquy migrate`.", { reason: 'schema_missing' }, { cause: error });
        }
        throw error;
      }
    },
    async health() {
      const started = performance.now();
      await admin.ping();
      return { dialect: s.backend.dialect, latencyMs: Math.round((performance.now() - started) * 1000) / 1000, pool: admin.poolStats() };
    },
    diagnose: () => admin.diagnose(),
    async *exportAll(options = {}) {
      if (options.backup) {
        for await (const record of admin.exportRecords({ backup: true })) yield record.kind === 'channel' ? { ...record, sealed: true } : record;
        return;
      }
      for await (const record of admin.exportRecords()) {
        if (record.kind !== 'channel') yield record;
        else if (options.includeSecrets) yield { ...record, secrets: mapSecrets(record, (sealed, context) => s.box.open(sealed, context)) };
        else {
          const { secrets: _sealed, ...rest } = record;
          yield rest;
        }
      }
    },
    async importAll(records, options = {}) {
      const check = (record: unknown, index: number) => {
        const why = portableProblem(record) ?? ((record as PortableRecord).kind === 'channel' && (record as { secrets?: unknown }).secrets !== undefined
          && !isStringMap((record as { secrets?: unknown }).secrets) ? 'has secrets that are not a map of names to strings' : undefined);
        if (why) throw new ColloquyError('invalid_argument', `Record ${index + 1} ${why}: expected a line written by \`colloquy export\`.`, { index });
        return record as PortableRecord;
      };
      if (Array.isArray(records)) records.forEach(check);
      const sealed = async function* () {
        let index = 0;
        for await (const record of records) {
          const r = check(record, index++);
          if (r.kind === 'contact') yield { ...r, data: { ...r.data, handles: normalizedHandles(r.data.handles) } };
          else if (r.kind === 'webhook') {
            webhooks.push({ tenant: r.tenant, id: r.data.id.toLowerCase(), enabled: r.data.enabled });
            yield r;
          }
          // A backup's secrets are as the database stored them (sealed under the setup its `setting` records bring).
          else if (r.kind !== 'channel' || r.secrets === undefined) yield r;
          else if (r.sealed) {
            // Only a backup's records may bring secrets as stored; in any other file they are values to seal.
            if (!options.backup) throw new ColloquyError('invalid_argument', `Record ${index} brings sealed secrets: only a backup (\`colloquy serve --backup-dir\`) may.`, { index });
            yield r;
          }
          // A dry run reads inside its transaction (sealing may need the database) and writes nothing: no values.
          else if (options.dryRun) yield { ...r, secrets: {} };
          else {
            await s.box.ready();
            yield { ...r, secrets: mapSecrets(r, (value, context) => s.box.seal(value, context)) };
          }
        }
      };
      const webhooks: Array<{ tenant: string; id: string; enabled: boolean }> = [];
      const report = await admin.importRecords(sealed(), { dryRun: options.dryRun ?? false, now: s.clock(), committed: options.committed, actor: s.actor });
      // Restored endpoints deliver what happens from now on, not this database's log from its start.
      if (!options.dryRun) {
        for (const w of webhooks) {
          const endpoint = await s.backend.webhooks.get(w.tenant, w.id);
          if (endpoint && endpoint.deliveredTo === null && !endpoint.enabled) await s.backend.webhooks.startAt(w.tenant, w.id, await s.backend.events.head(w.tenant), w.enabled);
        }
      }
      // An import changes records around the cache (new messages, handles, merges): drop it rather than track each.
      if (!options.dryRun && (report.inserted || report.present || report.merged)) await s.hot?.clear();
      return report;
    },
    async sharedSecret(name) {
      return Buffer.from(await admin.initSetting(`secret:${name}`, randomBytes(32).toString('hex')), 'hex');
    },
    tenants: () => admin.tenants(),
    cacheStats: () => s.hot?.stats() ?? null,
    poolStats: () => admin.poolStats(),
  };
}
