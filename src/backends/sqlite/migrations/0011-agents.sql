-- 0011: agents at work. Chat turns (one at a time per conversation across a fleet, each answered once), the usage
-- ledger, budgets, rolling summaries; conversations gain agent_paused and the chat id a useChat client gave them.
-- backward-compatible: yes (new tables and defaulted columns earlier code never reads)
ALTER TABLE conversations ADD COLUMN agent_paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN chat_id TEXT;
CREATE UNIQUE INDEX conversations_chat_id ON conversations(tenant_id, agent_id, chat_id) WHERE chat_id IS NOT NULL;
-- A turn answers one user message (message_id). state: scheduled (an auto-reply waiting for due_at, the debounce) →
-- running (owner holds it until lease_until) → done (reply_id: the assistant message) or failed (error). At most one
-- running turn per conversation holds a live lease: turns on one conversation never interleave.
CREATE TABLE agent_turns (
  message_id      TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  agent_id        TEXT NOT NULL,
  state           TEXT NOT NULL,
  due_at          INTEGER NOT NULL,
  owner           TEXT,
  lease_until     INTEGER,
  reply_id        TEXT,
  error           TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX agent_turns_open ON agent_turns(conversation_id) WHERE state IN ('scheduled', 'running');
CREATE INDEX agent_turns_due ON agent_turns(due_at) WHERE state = 'scheduled';
-- One model call's usage (id: the assistant message it produced), written in the transaction that stores that message. Kept when the conversation
-- is erased (it holds no content): a ledger is accounting.
CREATE TABLE usage_records (
  id                  TEXT PRIMARY KEY,
  tenant_id           TEXT NOT NULL,
  agent_id            TEXT,
  conversation_id     TEXT,
  provider            TEXT NOT NULL,
  model               TEXT NOT NULL,
  input_tokens        INTEGER NOT NULL,
  output_tokens       INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  reasoning_tokens    INTEGER NOT NULL,
  total_tokens        INTEGER NOT NULL,
  cost                REAL,
  created_at          INTEGER NOT NULL
);
CREATE INDEX usage_records_time ON usage_records(tenant_id, created_at);
CREATE INDEX usage_records_agent ON usage_records(tenant_id, agent_id, created_at);
-- scope: 'tenant' or 'agent:<id>'; config: the budget as set; economy_day / exceeded_day: the budget day (YYYY-MM-DD in
-- its timezone) whose budget.economy / budget.exceeded event was emitted, so each is emitted once per day.
CREATE TABLE budgets (
  tenant_id    TEXT NOT NULL,
  scope        TEXT NOT NULL,
  config       TEXT NOT NULL,
  economy_day  TEXT,
  exceeded_day TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, scope)
);
-- The rolling summary of a conversation's messages up to to_seq, which no longer fit its agent's context.
CREATE TABLE conversation_summaries (
  conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
  tenant_id       TEXT NOT NULL,
  content         TEXT NOT NULL,
  to_seq          INTEGER NOT NULL,
  tokens          INTEGER NOT NULL,
  model           TEXT NOT NULL,
  updated_at      INTEGER NOT NULL
);
