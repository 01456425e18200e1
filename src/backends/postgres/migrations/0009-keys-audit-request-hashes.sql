-- 0009: API keys may expire; an audit log of key, tenant and channel-secret changes (who, what, when; never a secret);
-- a channel created with an idempotency key remembers a hash of that request, so that a reused key is told apart from a retry;
-- handles by creation time, so that each start respells only the handles written since the last (handles-normalized).
-- backward-compatible: yes (a nullable column and a table earlier code never reads; an expired key stays valid
-- to earlier code until the fleet is upgraded)
ALTER TABLE api_keys ADD COLUMN expires_at bigint;
CREATE TABLE audit_log (
  id         uuid PRIMARY KEY,   -- UUIDv7: time-ordered
  created_at bigint NOT NULL,
  actor      text NOT NULL,      -- an API key's id, admin:<digest>, cli, library
  action     text NOT NULL,      -- key.created, key.revoked, channel.secrets_changed
  tenant_id  text,
  subject_id uuid,
  details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant ON audit_log(tenant_id, id);
ALTER TABLE channels ADD COLUMN idempotency_hash text;
CREATE INDEX contact_handles_created ON contact_handles(created_at, tenant_id, channel, address);
