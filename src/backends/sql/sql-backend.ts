import type {
  AdminRepository,
  Backend,
  BackendCapabilities,
  EventRepository,
  InboundRepository,
  MessageRepository,
  PoolStats,
} from '../backend.js';
import { guard } from '../guard.js';
import { agentRepository } from './agents.js';
import { auditRepository } from './audit.js';
import { channelRepository } from './channels.js';
import { channelTrafficRepository } from './channel-traffic.js';
import { outboxRepository } from './outbox.js';
import { turnRepository } from './agent-turns.js';
import { budgetRepository, summaryRepository } from './budgets.js';
import { webhookRepository } from './webhooks.js';
import { alertRepository } from './alerts.js';
import { trashRepository } from './trash.js';
import { reportRepository } from './reports.js';
import { usageRepository } from './usage.js';
import { contactRepository } from './contacts.js';
import { conversationRepository } from './conversations.js';
import { diagnose } from './diagnosis.js';
import type { EraseEvents } from './events.js';
import { keyRepository } from './keys.js';
import { normalizeStoredHandles } from './handle-normalization.js';
import { messageRepository } from './messages.js';
import { checkSchema, migrateSchema, type Bookkeeping, type Migration } from './migrations.js';
import { exportRecords } from './portable.js';
import { importStream } from './portable-import.js';
import type { SqlEngine, SqlRunner } from './sql.js';
import { stateRepository } from './states.js';
import type { Tables } from './tables.js';

/** What an engine supplies: its connection, and only what truly differs between engines. */
export interface Engine {
  readonly sql: SqlEngine;
  readonly tables: Tables;
  readonly capabilities: BackendCapabilities;
  readonly migrations: Migration[];
  readonly books: Bookkeeping;
  /** The write hot paths, each in the engine's fastest form (SQLite group commit, PostgreSQL one round trip). */
  readonly append: MessageRepository['append'];
  readonly ingest: InboundRepository['ingest'];
  /** Event ids and delivery order are the engine's own. */
  readonly listEvents: EventRepository['list'];
  readonly eventsHead: EventRepository['head'];
  readonly compareEventIds: EventRepository['compare'];
  readonly eraseEvents: EraseEvents;
  /** Runs `read` over one consistent, read-only snapshot that does not block writers. */
  snapshot<T>(read: (sql: SqlRunner) => AsyncGenerator<T>): AsyncGenerator<T>;
  /** A private, throwaway copy of the database to try things on (a dry-run import), where the engine can make one cheaply. */
  scratchCopy?(): Promise<Backend & { discard(): Promise<void> }>;
  /** Problems of the engine itself, for `colloquy doctor`. */
  warnings(): Promise<string[]>;
  poolStats(): PoolStats | null;
  close(): Promise<void>;
  /** Driver errors → ColloquyError. */
  translate(error: unknown): unknown;
}

/** A Backend from the shared repositories and the engine's own parts, every member guarded by its translator. */
export function createSqlBackend(engine: Engine): Backend {
  const { sql, tables, translate } = engine;
  const admin: AdminRepository = {
    async migrate() {
      const report = await migrateSchema(sql, engine.migrations, engine.books);
      // A data step no SQL file can express: stored handles respelled as the store now writes them.
      const handles = await normalizeStoredHandles(sql, Date.now());
      return handles.changed ? { ...report, handles } : report;
    },
    checkSchema: () => checkSchema(sql, engine.migrations, engine.books),
    async ping() {
      await sql.one('SELECT 1 AS x');
    },
    async diagnose() {
      return diagnose(sql, await engine.warnings());
    },
    async *exportRecords(options = {}) {
      yield* engine.snapshot((snapshot) => exportRecords(snapshot, tables, options));
    },
    async importRecords(records, options) {
      // A dry run on a copy where the engine can make one (SQLite): the live database is never locked meanwhile.
      if (options.dryRun && engine.scratchCopy) {
        const copy = await engine.scratchCopy();
        try {
          return await copy.admin.importRecords(records, { ...options, dryRun: false, committed: undefined });
        } finally {
          await copy.discard();
        }
      }
      return importStream(sql, tables, records, options);
    },
    async tenants() {
      const rows = await sql.all(`SELECT tenant_id FROM api_keys UNION SELECT tenant_id FROM channels UNION SELECT tenant_id FROM agents
        UNION SELECT tenant_id FROM contacts UNION SELECT tenant_id FROM conversations`, []);
      return rows.map((row) => row.tenant_id as string).sort();
    },
    async setting(name) {
      return (await sql.one('SELECT value FROM colloquy_settings WHERE name = ?', [name]))?.value;
    },
    async initSetting(name, value) {
      await sql.run('INSERT INTO colloquy_settings (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING', [name, value]);
      return (await sql.one('SELECT value FROM colloquy_settings WHERE name = ?', [name]))!.value;
    },
    resealSecrets: (reseal) => sql.tx(async (tx) => {
      let changed = 0;
      for (const row of await tx.all(`SELECT id, tenant_id, secrets FROM channels WHERE CAST(secrets AS text) LIKE '%"plain:%' ORDER BY id FOR UPDATE`)) {
        await tx.run('UPDATE channels SET secrets = ? WHERE id = ?', [JSON.stringify(reseal(row.tenant_id, row.id, tables.channelSecrets(row))), row.id]);
        changed++;
      }
      for (const row of await tx.all(`SELECT id, tenant_id, secrets FROM webhook_endpoints WHERE CAST(secrets AS text) LIKE '%"plain:%' ORDER BY id FOR UPDATE`)) {
        const secrets = (sql.json(row.secrets) as Array<{ value: string; expiresAt: number | null }>)
          .map((secret) => ({ ...secret, value: reseal(row.tenant_id, `webhook:${row.id}`, { signing: secret.value }).signing! }));
        await tx.run('UPDATE webhook_endpoints SET secrets = ? WHERE id = ?', [JSON.stringify(secrets), row.id]);
        changed++;
      }
      return changed;
    }),
    poolStats: () => engine.poolStats(),
    close: () => engine.close(),
  };
  return Object.freeze({
    dialect: sql.dialect,
    capabilities: engine.capabilities,
    contacts: guard(contactRepository(sql, tables, engine.eraseEvents), translate),
    channels: guard(channelRepository(sql, tables), translate),
    conversations: guard(conversationRepository(sql, tables, engine.eraseEvents), translate),
    messages: guard({ ...messageRepository(sql, tables), append: engine.append }, translate),
    inbound: guard({ ingest: engine.ingest }, translate),
    states: guard(stateRepository(sql, tables), translate),
    agents: guard(agentRepository(sql, tables), translate),
    keys: guard(keyRepository(sql, tables), translate),
    audit: guard(auditRepository(sql, tables), translate),
    outbox: guard(outboxRepository(sql, tables), translate),
    traffic: guard(channelTrafficRepository(sql), translate),
    turns: guard(turnRepository(sql), translate),
    usage: guard(usageRepository(sql), translate),
    budgets: guard(budgetRepository(sql), translate),
    summaries: guard(summaryRepository(sql), translate),
    webhooks: guard(webhookRepository(sql), translate),
    alerts: guard(alertRepository(sql), translate),
    trash: guard(trashRepository(sql, tables, engine.eraseEvents), translate),
    reports: guard(reportRepository(sql), translate),
    events: guard({ list: engine.listEvents, head: engine.eventsHead, compare: engine.compareEventIds }, translate, ['compare']),
    admin: guard(admin, translate, ['poolStats']),
  });
}
