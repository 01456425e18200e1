-- 0007: channels created with an idempotency key (a repeated POST /v1/channels returns the first), and found by
-- kind and name (channels.ensure).
-- backward-compatible: yes (a new nullable column and two indexes; earlier code never sets the column)
ALTER TABLE channels ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX channels_idempotency ON channels(tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX channels_kind_name ON channels(tenant_id, kind, name);
