-- 0006: colloquy_append is one function again, and a duplicate costs no write.
-- backward-compatible: yes (same names and signatures; colloquy_append_in_turn was called only by colloquy_append)
-- Inputs and result as in 0001: one row (outcome 'created' | 'duplicate' | 'not_found' | 'closed', message columns).
-- What changed, measured in bench/RESULTS.md: a repeat of a stored message is recognised before the conversation's
-- row is locked, so it writes nothing (a row lock is a write: it made every duplicate commit wait for an fsync);
-- the external-id turn (0004) and the append run in one function, without the nested call and its second read of
-- the conversation.

CREATE OR REPLACE FUNCTION colloquy_append(
  p_tenant text, p_conversation uuid, p_id uuid, p_role text, p_content text,
  p_external_id text, p_idempotency_key text, p_status text, p_extra jsonb, p_at bigint
) RETURNS TABLE (outcome text, id uuid, conversation_id uuid, seq bigint, role text, content text,
  external_id text, idempotency_key text, status text, status_at bigint, extra jsonb, created_at bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_channel uuid;
  c record;
  m messages%ROWTYPE;
BEGIN
  SELECT cv.channel_id INTO v_channel FROM conversations cv WHERE cv.id = p_conversation AND cv.tenant_id = p_tenant;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::uuid, NULL::bigint, NULL, NULL, NULL, NULL, NULL,
      NULL::bigint, NULL::jsonb, NULL::bigint;
    RETURN;
  END IF;
  -- Duplicate detection, in this order: the idempotency key within the conversation, then the external id within
  -- the channel (within the conversation for one without a channel). A committed duplicate is final: answer it
  -- now, with no lock and no write. (A conversation's channel never changes, so it was read unlocked.)
  FOR pass IN 1..2 LOOP
    IF p_idempotency_key IS NOT NULL THEN
      SELECT * INTO m FROM messages x WHERE x.conversation_id = p_conversation AND x.idempotency_key = p_idempotency_key;
    END IF;
    IF m.id IS NULL AND p_external_id IS NOT NULL THEN
      IF v_channel IS NULL THEN
        SELECT * INTO m FROM messages x WHERE x.conversation_id = p_conversation AND x.external_id = p_external_id AND x.channel_id IS NULL;
      ELSE
        SELECT * INTO m FROM messages x WHERE x.channel_id = v_channel AND x.external_id = p_external_id;
      END IF;
    END IF;
    IF m.id IS NOT NULL THEN
      RETURN QUERY SELECT 'duplicate'::text, m.id, m.conversation_id, m.seq, m.role, m.content, m.external_id,
        m.idempotency_key, m.status, m.status_at, m.extra, m.created_at;
      RETURN;
    END IF;
    EXIT WHEN pass = 2;
    -- Not stored yet: deliveries of one external id take turns (0004), before any row lock; then the conversation's
    -- row lock serialises appends to it (seq gapless, the idempotency key's check final), and the check runs again.
    IF p_external_id IS NOT NULL THEN
      PERFORM pg_advisory_xact_lock(hashtextextended(coalesce(v_channel, p_conversation)::text || '/' || p_external_id, 0));
    END IF;
    SELECT cv.status, cv.last_seq INTO c FROM conversations cv WHERE cv.id = p_conversation FOR NO KEY UPDATE;
    IF NOT FOUND THEN -- deleted meanwhile
      RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::uuid, NULL::bigint, NULL, NULL, NULL, NULL, NULL,
        NULL::bigint, NULL::jsonb, NULL::bigint;
      RETURN;
    END IF;
  END LOOP;
  IF c.status = 'closed' THEN
    RETURN QUERY SELECT 'closed'::text, NULL::uuid, NULL::uuid, NULL::bigint, NULL, NULL, NULL, NULL, NULL,
      NULL::bigint, NULL::jsonb, NULL::bigint;
    RETURN;
  END IF;
  -- ON CONFLICT: an id in flight elsewhere without the turn (only imports write so) waits on the unique index.
  INSERT INTO messages AS x (conversation_id, seq, id, tenant_id, channel_id, role, content, external_id,
    idempotency_key, status, status_at, extra, created_at)
  VALUES (p_conversation, c.last_seq + 1, p_id, p_tenant, v_channel, p_role, p_content, p_external_id,
    p_idempotency_key, p_status, p_at, p_extra, p_at)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    SELECT * INTO m FROM messages x WHERE (p_idempotency_key IS NOT NULL AND x.conversation_id = p_conversation AND x.idempotency_key = p_idempotency_key)
      OR (p_external_id IS NOT NULL AND x.external_id = p_external_id AND x.channel_id IS NOT DISTINCT FROM v_channel
        AND (v_channel IS NOT NULL OR x.conversation_id = p_conversation))
      LIMIT 1;
    RETURN QUERY SELECT 'duplicate'::text, m.id, m.conversation_id, m.seq, m.role, m.content, m.external_id,
      m.idempotency_key, m.status, m.status_at, m.extra, m.created_at;
    RETURN;
  END IF;
  UPDATE conversations cv SET last_seq = c.last_seq + 1, last_message_at = p_at, last_activity_at = greatest(cv.last_activity_at, p_at)
    WHERE cv.id = p_conversation;
  INSERT INTO events (tenant_id, type, conversation_id, data, created_at)
  VALUES (p_tenant, 'message.created', p_conversation, jsonb_build_object('messageId', p_id, 'seq', c.last_seq + 1, 'role', p_role), p_at);
  RETURN QUERY SELECT 'created'::text, p_id, p_conversation, c.last_seq + 1, p_role, p_content, p_external_id,
    p_idempotency_key, p_status, p_at, p_extra, p_at;
END;
$$;

DROP FUNCTION colloquy_append_in_turn(text, uuid, uuid, text, text, text, text, text, jsonb, bigint);
