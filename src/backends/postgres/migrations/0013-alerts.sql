-- 0013: alerts. An alert is a condition an operator must hear about (rule + subject: a channel, an endpoint, a budget
-- scope), raised once (the partial unique index: one open alert per rule and subject) and resolved once, after its
-- condition has been clear for a hold-down (clear_since). System alerts (the deployment's database, Redis, the
-- self-check) have the tenant '*', which no tenant can be named. alert_settings: a tenant's rule overrides and the
-- addresses its alerts are e-mailed to.
-- backward-compatible: yes (new tables earlier code never reads)
CREATE TABLE alerts (
  id          uuid PRIMARY KEY,
  tenant_id   text NOT NULL,
  rule        text NOT NULL,
  subject     text NOT NULL,
  severity    text NOT NULL,
  message     text NOT NULL,
  details     jsonb NOT NULL,
  raised_at   bigint NOT NULL,
  clear_since bigint,
  resolved_at bigint
);
CREATE UNIQUE INDEX alerts_open ON alerts(tenant_id, rule, subject) WHERE resolved_at IS NULL;
CREATE INDEX alerts_history ON alerts(tenant_id, raised_at DESC, id DESC);
CREATE TABLE alert_settings (
  tenant_id  text PRIMARY KEY,
  rules      jsonb NOT NULL,
  emails     jsonb NOT NULL,
  updated_at bigint NOT NULL
);
