-- 0010: channels in and out. An outbox of messages waiting for their provider, written in the append's transaction;
-- provider statuses that arrived before their message; each channel's traffic counters, health and poll offset.
-- backward-compatible: yes (new tables earlier code never reads; messages it appends are not queued meanwhile)
-- outbox.state: queued (waiting, from next_at) → sending (claimed by lease_owner until lease_until; the provider may
-- have it from then on) → done (outcome sent or failed). A row is never claimed again once it was sending.
-- head: the oldest unfinished entry of its conversation, the only one that may be sent (messages leave in seq order);
-- set at insert when there is no other, and on the next one when an entry is done.
CREATE TABLE outbox (
  message_id      TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  channel_id      TEXT NOT NULL,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq             INTEGER NOT NULL,
  recipient       TEXT NOT NULL,
  state           TEXT NOT NULL,
  head            INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_at         INTEGER NOT NULL,
  lease_owner     TEXT,
  lease_until     INTEGER,
  outcome         TEXT,
  error           TEXT,
  created_at      INTEGER NOT NULL,
  finished_at     INTEGER
);
-- Each partial index's condition is written as the queries write theirs, so that SQLite's planner can use it.
CREATE INDEX outbox_due ON outbox(next_at) WHERE state = 'queued' AND head;
CREATE INDEX outbox_lease ON outbox(lease_until) WHERE state = 'sending';
CREATE INDEX outbox_conversation ON outbox(conversation_id, seq) WHERE state <> 'done';
CREATE INDEX outbox_channel ON outbox(channel_id, created_at) WHERE state <> 'done';
CREATE INDEX outbox_finished ON outbox(channel_id, finished_at) WHERE state = 'done';
-- A status (sent, delivered, read, failed) for an external id no message has yet: applied when one gets it.
CREATE TABLE pending_statuses (
  channel_id  TEXT NOT NULL,
  external_id TEXT NOT NULL,
  status      TEXT NOT NULL,
  tenant_id   TEXT NOT NULL,
  at          INTEGER NOT NULL,
  error       TEXT,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (channel_id, external_id, status)
);
CREATE INDEX pending_statuses_created ON pending_statuses(created_at);
-- poll_owner/poll_until: the one instance that long-polls the provider for this channel (Telegram getUpdates), and until when.
-- counts: a JSON object of counter name → total, added to by every instance; send_errors: provider code → count.
CREATE TABLE channel_traffic (
  channel_id       TEXT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
  tenant_id        TEXT NOT NULL,
  counts           TEXT NOT NULL DEFAULT '{}',
  send_errors      TEXT NOT NULL DEFAULT '{}',
  recent_errors    TEXT NOT NULL DEFAULT '[]',
  last_inbound_at  INTEGER,
  last_outbound_at INTEGER,
  token_error_at   INTEGER,
  health           TEXT,
  health_reason    TEXT,
  health_at        INTEGER,
  poll_offset      INTEGER,
  poll_owner       TEXT,
  poll_until       INTEGER,
  updated_at       INTEGER NOT NULL
);
