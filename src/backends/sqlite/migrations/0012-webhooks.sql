-- 0012: outgoing webhooks. An endpoint delivers the tenant's event log from a cursor of its own (delivered_to: the
-- last event position it has delivered, or passed over as not subscribed); one instance of a fleet delivers it at a
-- time (owner until lease_until). version changes with every setting, secret or rewind; generation only when the cursor
-- is moved by a caller (a replay, enabling again), so that a deliverer holding an older cursor cannot write its progress over it. Every attempt is kept in webhook_deliveries (pruned by age).
-- backward-compatible: yes (new tables earlier code never reads)
CREATE TABLE webhook_endpoints (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  url             TEXT NOT NULL,
  events          TEXT NOT NULL,
  description     TEXT,
  enabled         INTEGER NOT NULL,
  -- [{ "value": sealed secret, "expiresAt": epoch ms or null }], newest first: the previous one stays valid a while after a rotation.
  secrets         TEXT NOT NULL,
  version         INTEGER NOT NULL DEFAULT 1,
  generation      INTEGER NOT NULL DEFAULT 1,
  delivered_to    TEXT,
  owner           TEXT,
  lease_until     INTEGER,
  -- The failing run: failed attempts of the event at the head, since when, and when to try again.
  attempts        INTEGER NOT NULL DEFAULT 0,
  failing_since   INTEGER,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  last_success_at INTEGER,
  disabled_reason TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints(tenant_id, id);
CREATE INDEX webhook_endpoints_enabled ON webhook_endpoints(id) WHERE enabled = 1;
CREATE TABLE webhook_deliveries (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  tenant_id   TEXT NOT NULL,
  event_id    TEXT NOT NULL,
  event_type  TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  ok          INTEGER NOT NULL,
  http_status INTEGER,
  latency_ms  INTEGER NOT NULL,
  error       TEXT,
  created_at  INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);
CREATE INDEX webhook_deliveries_time ON webhook_deliveries(created_at);
