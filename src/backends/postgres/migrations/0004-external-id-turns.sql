-- 0004: deliveries of one external id take turns.
-- backward-compatible: yes (the functions keep their names and signatures)
-- colloquy_ingest checked for a duplicate before resolving the conversation, but a message with the same
-- external id could commit (through colloquy_append, into another contact's conversation of the channel)
-- between that check and the append: the append then found the duplicate, and a conversation reopened or
-- started for it stayed. Both functions are now wrapped to take a transaction-scoped advisory lock on
-- (channel, external id) first, before any row lock, so the duplicate check is final. Messages without an
-- external id take no lock. The bodies of 0001 run unchanged under their new names.

ALTER FUNCTION colloquy_append(text, uuid, uuid, text, text, text, text, text, jsonb, bigint) RENAME TO colloquy_append_in_turn;
ALTER FUNCTION colloquy_ingest(text, uuid, text, text, uuid, uuid, uuid, text, text, text, jsonb, bigint, bigint) RENAME TO colloquy_ingest_in_turn;

-- The lock of one delivery: by channel, or by conversation for one without a channel (where external ids are
-- unique per conversation). A conversation's channel never changes, so reading it unlocked is safe.
CREATE FUNCTION colloquy_external_id_turn(p_tenant text, p_conversation uuid, p_channel uuid, p_external_id text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_external_id IS NULL THEN RETURN; END IF;
  IF p_channel IS NULL THEN
    SELECT cv.channel_id INTO p_channel FROM conversations cv WHERE cv.id = p_conversation AND cv.tenant_id = p_tenant;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(coalesce(p_channel, p_conversation)::text || '/' || p_external_id, 0));
END;
$$;

CREATE FUNCTION colloquy_append(
  p_tenant text, p_conversation uuid, p_id uuid, p_role text, p_content text,
  p_external_id text, p_idempotency_key text, p_status text, p_extra jsonb, p_at bigint
) RETURNS TABLE (outcome text, id uuid, conversation_id uuid, seq bigint, role text, content text,
  external_id text, idempotency_key text, status text, status_at bigint, extra jsonb, created_at bigint)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM colloquy_external_id_turn(p_tenant, p_conversation, NULL, p_external_id);
  RETURN QUERY SELECT * FROM colloquy_append_in_turn(p_tenant, p_conversation, p_id, p_role, p_content,
    p_external_id, p_idempotency_key, p_status, p_extra, p_at);
END;
$$;

-- The same lock as colloquy_append's (ingest resolves only conversations of p_channel), taken again, re-entrantly,
-- when colloquy_ingest_in_turn calls colloquy_append.
CREATE FUNCTION colloquy_ingest(
  p_tenant text, p_channel uuid, p_address text, p_name text, p_contact_id uuid, p_conversation_id uuid,
  p_id uuid, p_content text, p_external_id text, p_status text, p_extra jsonb, p_at bigint, p_now bigint
) RETURNS TABLE (outcome text, created boolean, reopened boolean, conversation jsonb, id uuid, seq bigint,
  role text, content text, external_id text, idempotency_key text, status text, status_at bigint,
  extra jsonb, created_at bigint)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM colloquy_external_id_turn(p_tenant, NULL, p_channel, p_external_id);
  RETURN QUERY SELECT * FROM colloquy_ingest_in_turn(p_tenant, p_channel, p_address, p_name, p_contact_id,
    p_conversation_id, p_id, p_content, p_external_id, p_status, p_extra, p_at, p_now);
END;
$$;
