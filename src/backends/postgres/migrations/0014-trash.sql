-- 0014: the trash. A conversation deleted through the API is moved here with its messages and state, as the
-- entities they were (JSON: a restore writes them back through the same column mapping as an import, whatever
-- columns later migrations add), for a retention (purge_at); linked_from keeps the conversations whose
-- previous_conversation_id named it, so that a restore links them again. A contact's erasure deletes its trash rows
-- explicitly (no foreign key: a delete into the trash and an erasure must not wait on each other's locks).
-- backward-compatible: yes (new tables earlier code never reads)
CREATE TABLE trash (
  conversation_id uuid PRIMARY KEY,
  tenant_id       text NOT NULL,
  contact_id      uuid,
  channel_id      uuid,
  conversation    jsonb NOT NULL,
  state           jsonb,
  linked_from     jsonb NOT NULL,
  messages        integer NOT NULL,
  deleted_at      bigint NOT NULL,
  purge_at        bigint NOT NULL
);
CREATE INDEX trash_tenant ON trash(tenant_id, deleted_at DESC, conversation_id DESC);
CREATE INDEX trash_contact ON trash(contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX trash_purge ON trash(purge_at);
CREATE TABLE trash_messages (
  conversation_id uuid NOT NULL REFERENCES trash(conversation_id) ON DELETE CASCADE,
  seq             bigint NOT NULL,
  channel_id      uuid,
  message         jsonb NOT NULL,
  PRIMARY KEY (conversation_id, seq)
);
