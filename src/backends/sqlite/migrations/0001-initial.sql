-- Colloquy schema v1 for SQLite. Times are epoch milliseconds; JSON is stored as text.
-- Every row carries tenant_id; ids are UUIDv7 text.

CREATE TABLE contacts (
  id          TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL,
  name        TEXT,
  metadata    TEXT NOT NULL DEFAULT '{}',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

-- A handle (channel kind, address) belongs to exactly one contact per tenant.
CREATE TABLE contact_handles (
  tenant_id   TEXT NOT NULL,
  channel     TEXT NOT NULL,
  address     TEXT NOT NULL,
  contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, channel, address)
) WITHOUT ROWID;
CREATE INDEX contact_handles_contact ON contact_handles(contact_id);

CREATE TABLE channels (
  id          TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL,
  kind        TEXT NOT NULL,
  name        TEXT NOT NULL,
  config      TEXT NOT NULL,
  reopen_window_ms INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX channels_tenant ON channels(tenant_id, id);

CREATE TABLE agents (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL,
  name         TEXT NOT NULL,
  instructions TEXT NOT NULL,
  model        TEXT NOT NULL,
  params       TEXT NOT NULL,
  metadata     TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  UNIQUE (tenant_id, name)
);

CREATE TABLE conversations (
  id               TEXT PRIMARY KEY,
  tenant_id        TEXT NOT NULL,
  contact_id       TEXT REFERENCES contacts(id) ON DELETE CASCADE,
  channel_id       TEXT REFERENCES channels(id),
  agent_id         TEXT REFERENCES agents(id) ON DELETE SET NULL,
  previous_conversation_id TEXT REFERENCES conversations(id) ON DELETE SET NULL,
  status           TEXT NOT NULL CHECK (status IN ('open', 'waiting', 'closed')),
  title            TEXT,
  metadata         TEXT NOT NULL DEFAULT '{}',
  version          INTEGER NOT NULL DEFAULT 1,
  last_seq         INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  last_activity_at INTEGER NOT NULL,
  last_message_at  INTEGER,
  closed_at        INTEGER
);
-- Continuity: at most one non-closed conversation per (contact, channel).
CREATE UNIQUE INDEX conversations_one_open ON conversations(tenant_id, contact_id, channel_id)
  WHERE status <> 'closed' AND contact_id IS NOT NULL AND channel_id IS NOT NULL;
CREATE INDEX conversations_activity ON conversations(tenant_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_contact ON conversations(contact_id, channel_id) WHERE contact_id IS NOT NULL;
CREATE INDEX conversations_previous ON conversations(previous_conversation_id) WHERE previous_conversation_id IS NOT NULL;
CREATE INDEX conversations_agent ON conversations(agent_id) WHERE agent_id IS NOT NULL;

-- Clustered by (conversation_id, seq): the newest page of a conversation is one range read.
CREATE TABLE messages (
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq             INTEGER NOT NULL,
  id              TEXT NOT NULL UNIQUE,
  tenant_id       TEXT NOT NULL,
  channel_id      TEXT,
  role            TEXT NOT NULL,
  content         TEXT NOT NULL,
  external_id     TEXT,
  idempotency_key TEXT,
  status          TEXT NOT NULL,
  status_at       INTEGER NOT NULL,
  -- The optional payload (parts, intent, confidence, entities, metadata) as one JSON object, or NULL:
  -- fewer columns make the hot newest-page read markedly cheaper. Query it with json_extract(extra, '$.intent').
  extra           TEXT,
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
-- Idempotent ingestion: an external id is stored once per channel (per conversation when there is no channel).
CREATE UNIQUE INDEX messages_external ON messages(channel_id, external_id)
  WHERE external_id IS NOT NULL AND channel_id IS NOT NULL;
CREATE UNIQUE INDEX messages_external_conversation ON messages(conversation_id, external_id)
  WHERE external_id IS NOT NULL AND channel_id IS NULL;
CREATE UNIQUE INDEX messages_idempotency ON messages(conversation_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE TABLE conversation_states (
  conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
  tenant_id       TEXT NOT NULL,
  state           TEXT,
  previous_state  TEXT,
  data            TEXT NOT NULL,
  version         INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);

-- Ids are never reused, so cursors stay valid: an erasure that deletes the newest events writes its own
-- event with an id past the old maximum (without the per-insert cost of AUTOINCREMENT).
CREATE TABLE events (
  id              INTEGER PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  type            TEXT NOT NULL,
  conversation_id TEXT,
  data            TEXT NOT NULL,
  created_at      INTEGER NOT NULL
);
CREATE INDEX events_conversation ON events(conversation_id, id) WHERE conversation_id IS NOT NULL;
