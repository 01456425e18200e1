-- 0010: channels in and out. An outbox of messages waiting for their provider, written in the append's transaction;
-- provider statuses that arrived before their message; each channel's traffic counters, health and poll offset.
-- backward-compatible: yes (new tables earlier code never reads; messages it appends are not queued meanwhile)
-- outbox.state: queued (waiting, from next_at) → sending (claimed by lease_owner until lease_until; the provider may
-- have it from then on) → done (outcome sent or failed). A row is never claimed again once it was sending.
-- head: the oldest unfinished entry of its conversation, the only one that may be sent (messages leave in seq order);
-- set at insert when there is no other, and on the next one when an entry is done.
CREATE TABLE outbox (
  message_id      uuid PRIMARY KEY,
  tenant_id       text NOT NULL,
  channel_id      uuid NOT NULL,
  conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq             bigint NOT NULL,
  recipient       text NOT NULL,
  state           text NOT NULL,
  head            boolean NOT NULL,
  attempts        bigint NOT NULL DEFAULT 0,
  next_at         bigint NOT NULL,
  lease_owner     text,
  lease_until     bigint,
  outcome         text,
  error           jsonb,
  created_at      bigint NOT NULL,
  finished_at     bigint
);
-- Each partial index's condition is written as the queries write theirs, so that SQLite's planner can use it.
CREATE INDEX outbox_due ON outbox(next_at) WHERE state = 'queued' AND head;
CREATE INDEX outbox_lease ON outbox(lease_until) WHERE state = 'sending';
CREATE INDEX outbox_conversation ON outbox(conversation_id, seq) WHERE state <> 'done';
CREATE INDEX outbox_channel ON outbox(channel_id, created_at) WHERE state <> 'done';
CREATE INDEX outbox_finished ON outbox(channel_id, finished_at) WHERE state = 'done';
-- A status (sent, delivered, read, failed) for an external id no message has yet: applied when one gets it.
CREATE TABLE pending_statuses (
  channel_id  uuid NOT NULL,
  external_id text NOT NULL,
  status      text NOT NULL,
  tenant_id   text NOT NULL,
  at          bigint NOT NULL,
  error       jsonb,
  created_at  bigint NOT NULL,
  PRIMARY KEY (channel_id, external_id, status)
);
CREATE INDEX pending_statuses_created ON pending_statuses(created_at);
-- poll_owner/poll_until: the one instance that long-polls the provider for this channel (Telegram getUpdates), and until when.
-- counts: a JSON object of counter name → total, added to by every instance; send_errors: provider code → count.
CREATE TABLE channel_traffic (
  channel_id       uuid PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
  tenant_id        text NOT NULL,
  counts           jsonb NOT NULL DEFAULT '{}',
  send_errors      jsonb NOT NULL DEFAULT '{}',
  recent_errors    jsonb NOT NULL DEFAULT '[]',
  last_inbound_at  bigint,
  last_outbound_at bigint,
  token_error_at   bigint,
  health           text,
  health_reason    text,
  health_at        bigint,
  poll_offset      bigint,
  poll_owner       text,
  poll_until       bigint,
  updated_at       bigint NOT NULL
);
