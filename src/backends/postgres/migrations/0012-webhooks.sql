-- 0012: outgoing webhooks. An endpoint delivers the tenant's event log from a cursor of its own (delivered_to: the
-- last event position it has delivered, or passed over as not subscribed); one instance of a fleet delivers it at a
-- time (owner until lease_until). version changes with every setting, secret or rewind; generation only when the cursor
-- is moved by a caller (a replay, enabling again), so that a deliverer holding an older cursor cannot write its progress over it. Every attempt is kept in webhook_deliveries (pruned by age).
-- backward-compatible: yes (new tables earlier code never reads)
CREATE TABLE webhook_endpoints (
  id              uuid PRIMARY KEY,
  tenant_id       text NOT NULL,
  url             text NOT NULL,
  events          jsonb NOT NULL,
  description     text,
  enabled         boolean NOT NULL,
  -- [{ "value": sealed secret, "expiresAt": epoch ms or null }], newest first: the previous one stays valid a while after a rotation.
  secrets         jsonb NOT NULL,
  version         integer NOT NULL DEFAULT 1,
  generation      integer NOT NULL DEFAULT 1,
  delivered_to    text,
  owner           text,
  lease_until     bigint,
  -- The failing run: failed attempts of the event at the head, since when, and when to try again.
  attempts        integer NOT NULL DEFAULT 0,
  failing_since   bigint,
  next_attempt_at bigint NOT NULL DEFAULT 0,
  last_error      jsonb,
  last_success_at bigint,
  disabled_reason text,
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints(tenant_id, id);
CREATE INDEX webhook_endpoints_enabled ON webhook_endpoints(id) WHERE enabled;
CREATE TABLE webhook_deliveries (
  id          bigserial PRIMARY KEY,
  endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  tenant_id   text NOT NULL,
  event_id    text NOT NULL,
  event_type  text NOT NULL,
  attempt     integer NOT NULL,
  ok          boolean NOT NULL,
  http_status integer,
  latency_ms  integer NOT NULL,
  error       text,
  created_at  bigint NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);
CREATE INDEX webhook_deliveries_time ON webhook_deliveries(created_at);
