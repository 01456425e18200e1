-- append-fast: one message appended to a conversation, without dedup keys, in one statement.
-- Inputs: $1 tenant, $2 conversation id, $3 message id, $4 role, $5 content, $6 external id (null),
--         $7 idempotency key (null), $8 status, $9 extra (jsonb or null), $10 time (epoch ms).
-- Result: one row (seq) when appended; no row when the conversation is missing or closed.
-- The UPDATE takes the conversation's row lock; a concurrent append waits for it and then re-reads the
-- row (READ COMMITTED), so seq stays gapless. Message and event rows come from its RETURNING.
WITH c AS (
  UPDATE conversations SET last_seq = last_seq + 1, last_message_at = $10, last_activity_at = greatest(last_activity_at, $10)
  WHERE id = $2 AND tenant_id = $1 AND status <> 'closed'
  RETURNING id, channel_id, last_seq
), m AS (
  INSERT INTO messages (conversation_id, seq, id, tenant_id, channel_id, role, content, external_id, idempotency_key,
    status, status_at, extra, created_at)
  SELECT c.id, c.last_seq, $3, $1, c.channel_id, $4, $5, $6, $7, $8, $10, $9, $10 FROM c
  RETURNING seq
), e AS (
  INSERT INTO events (tenant_id, type, conversation_id, data, created_at)
  SELECT $1, 'message.created', $2, jsonb_build_object('messageId', $3::uuid, 'seq', m.seq, 'role', $4::text), $10 FROM m
)
SELECT seq FROM m
