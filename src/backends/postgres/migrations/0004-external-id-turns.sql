-- 0004: deliveries of one external id take turns.
-- colloquy_ingest checked for a duplicate before resolving the conversation, but a message with the same
-- external id could commit (through colloquy_append, into another contact's conversation of the channel)
-- between that check and the append: the append then found the duplicate, and a conversation reopened or
-- started for it stayed. Both functions now take a transaction-scoped advisory lock on (channel, external id)
-- first, so the duplicate check is final. Messages without an external id take no lock.

CREATE OR REPLACE FUNCTION colloquy_append(
  p_tenant text, p_conversation uuid, p_id uuid, p_role text, p_content text,
  p_external_id text, p_idempotency_key text, p_status text, p_extra jsonb, p_at bigint
) RETURNS TABLE (outcome text, id uuid, conversation_id uuid, seq bigint, role text, content text,
  external_id text, idempotency_key text, status text, status_at bigint, extra jsonb, created_at bigint)
LANGUAGE plpgsql AS $$
DECLARE
  c record;
  m messages%ROWTYPE;
  v_channel uuid;
BEGIN
  -- Deliveries of one external id take turns, before any row lock (the order colloquy_ingest takes them in).
  -- A conversation's channel never changes, so reading it unlocked is safe.
  IF p_external_id IS NOT NULL THEN
    SELECT cv.channel_id INTO v_channel FROM conversations cv WHERE cv.id = p_conversation AND cv.tenant_id = p_tenant;
    PERFORM pg_advisory_xact_lock(hashtextextended(coalesce(v_channel, p_conversation)::text || '/' || p_external_id, 0));
  END IF;
  -- The row lock serialises appends to one conversation: seq is gapless and the duplicate check is final.
  SELECT cv.status, cv.channel_id, cv.last_seq INTO c FROM conversations cv
    WHERE cv.id = p_conversation AND cv.tenant_id = p_tenant FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::uuid, NULL::bigint, NULL, NULL, NULL, NULL, NULL,
      NULL::bigint, NULL::jsonb, NULL::bigint;
    RETURN;
  END IF;
  IF p_idempotency_key IS NOT NULL THEN
    SELECT * INTO m FROM messages x WHERE x.conversation_id = p_conversation AND x.idempotency_key = p_idempotency_key;
  END IF;
  IF m.id IS NULL AND p_external_id IS NOT NULL THEN
    IF c.channel_id IS NULL THEN
      SELECT * INTO m FROM messages x WHERE x.conversation_id = p_conversation AND x.external_id = p_external_id AND x.channel_id IS NULL;
    ELSE
      SELECT * INTO m FROM messages x WHERE x.channel_id = c.channel_id AND x.external_id = p_external_id;
    END IF;
  END IF;
  IF m.id IS NULL THEN
    IF c.status = 'closed' THEN
      RETURN QUERY SELECT 'closed'::text, NULL::uuid, NULL::uuid, NULL::bigint, NULL, NULL, NULL, NULL, NULL,
        NULL::bigint, NULL::jsonb, NULL::bigint;
      RETURN;
    END IF;
    -- ON CONFLICT: the same external id may be committing right now in another conversation of the channel;
    -- the unique index waits for it and then decides.
    INSERT INTO messages AS x (conversation_id, seq, id, tenant_id, channel_id, role, content, external_id,
      idempotency_key, status, status_at, extra, created_at)
    VALUES (p_conversation, c.last_seq + 1, p_id, p_tenant, c.channel_id, p_role, p_content, p_external_id,
      p_idempotency_key, p_status, p_at, p_extra, p_at)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
      UPDATE conversations cv SET last_seq = c.last_seq + 1, last_message_at = p_at,
        last_activity_at = greatest(cv.last_activity_at, p_at)
      WHERE cv.id = p_conversation;
      INSERT INTO events (tenant_id, type, conversation_id, data, created_at)
      VALUES (p_tenant, 'message.created', p_conversation,
        jsonb_build_object('messageId', p_id, 'seq', c.last_seq + 1, 'role', p_role), p_at);
      RETURN QUERY SELECT 'created'::text, p_id, p_conversation, c.last_seq + 1, p_role, p_content, p_external_id,
        p_idempotency_key, p_status, p_at, p_extra, p_at;
      RETURN;
    END IF;
    SELECT * INTO m FROM messages x WHERE x.channel_id = c.channel_id AND x.external_id = p_external_id;
  END IF;
  RETURN QUERY SELECT 'duplicate'::text, m.id, m.conversation_id, m.seq, m.role, m.content, m.external_id,
    m.idempotency_key, m.status, m.status_at, m.extra, m.created_at;
END;
$$;

CREATE OR REPLACE FUNCTION colloquy_ingest(
  p_tenant text, p_channel uuid, p_address text, p_name text, p_contact_id uuid, p_conversation_id uuid,
  p_id uuid, p_content text, p_external_id text, p_status text, p_extra jsonb, p_at bigint, p_now bigint
) RETURNS TABLE (outcome text, created boolean, reopened boolean, conversation jsonb, id uuid, seq bigint,
  role text, content text, external_id text, idempotency_key text, status text, status_at bigint,
  extra jsonb, created_at bigint)
LANGUAGE plpgsql AS $$
DECLARE
  ch record;
  v_contact uuid;
  v_conversation uuid;
  last record;
  a record;
  v_created boolean;
  v_reopened boolean;
  m messages%ROWTYPE;
BEGIN
  SELECT c.kind, c.reopen_window_ms INTO ch FROM channels c WHERE c.id = p_channel AND c.tenant_id = p_tenant;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'channel_not_found'::text, false, false, NULL::jsonb, NULL::uuid, NULL::bigint, NULL, NULL,
      NULL, NULL, NULL, NULL::bigint, NULL::jsonb, NULL::bigint;
    RETURN;
  END IF;
  -- Deliveries of one external id on the channel take turns (colloquy_append takes the same lock), so the
  -- check below is final: a duplicate never reaches the resolution, which may reopen or start a conversation.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_channel::text || '/' || p_external_id, 0));
  -- A duplicate has no side effects: answer before touching anything.
  SELECT * INTO m FROM messages x WHERE x.channel_id = p_channel AND x.external_id = p_external_id;
  IF FOUND THEN
    RETURN QUERY SELECT 'duplicate'::text, false, false, (SELECT to_jsonb(cv) FROM conversations cv WHERE cv.id = m.conversation_id),
      m.id, m.seq, m.role, m.content, m.external_id, m.idempotency_key, m.status, m.status_at, m.extra, m.created_at;
    RETURN;
  END IF;

  FOR attempt IN 1..5 LOOP
    v_created := false;
    v_reopened := false;
    SELECT h.contact_id INTO v_contact FROM contact_handles h
      WHERE h.tenant_id = p_tenant AND h.channel = ch.kind AND h.address = p_address;
    IF NOT FOUND THEN
      INSERT INTO contacts (id, tenant_id, name, metadata, created_at, updated_at)
        VALUES (p_contact_id, p_tenant, p_name, '{}', p_now, p_now) ON CONFLICT DO NOTHING;
      INSERT INTO contact_handles (tenant_id, channel, address, contact_id, created_at)
        VALUES (p_tenant, ch.kind, p_address, p_contact_id, p_now) ON CONFLICT DO NOTHING;
      IF NOT FOUND THEN -- another message of the same new contact won the race
        DELETE FROM contacts c WHERE c.id = p_contact_id;
        CONTINUE;
      END IF;
      v_contact := p_contact_id;
    END IF;
    -- One contact's messages resolve their conversation one at a time (NO KEY: inserts referencing it proceed).
    PERFORM 1 FROM contacts c WHERE c.id = v_contact FOR NO KEY UPDATE;
    CONTINUE WHEN NOT FOUND; -- erased meanwhile: resolve again (a new contact)

    SELECT cv.id INTO v_conversation FROM conversations cv
      WHERE cv.tenant_id = p_tenant AND cv.contact_id = v_contact AND cv.channel_id = p_channel AND cv.status <> 'closed'
      FOR NO KEY UPDATE;
    IF NOT FOUND THEN
      SELECT cv.id, cv.version, cv.last_activity_at INTO last FROM conversations cv
        WHERE cv.contact_id = v_contact AND cv.channel_id = p_channel AND cv.status = 'closed'
        ORDER BY cv.last_activity_at DESC, cv.id DESC LIMIT 1 FOR NO KEY UPDATE;
      IF FOUND AND p_at - last.last_activity_at <= ch.reopen_window_ms THEN
        BEGIN
          UPDATE conversations cv SET status = 'open', closed_at = NULL, version = cv.version + 1, updated_at = p_now
            WHERE cv.id = last.id AND cv.status = 'closed';
        EXCEPTION WHEN unique_violation THEN
          CONTINUE; -- another conversation was opened through the API meanwhile: join it
        END;
        CONTINUE WHEN NOT FOUND;
        INSERT INTO events (tenant_id, type, conversation_id, data, created_at) VALUES (p_tenant, 'conversation.updated', last.id,
          jsonb_build_object('status', 'open', 'version', last.version + 1, 'changed', jsonb_build_array('status'), 'reopened', true), p_now);
        v_conversation := last.id;
        v_reopened := true;
      ELSE
        INSERT INTO conversations (id, tenant_id, contact_id, channel_id, previous_conversation_id, status, metadata,
          created_at, updated_at, last_activity_at)
        VALUES (p_conversation_id, p_tenant, v_contact, p_channel, last.id, 'open', '{}', p_now, p_now, p_now)
        ON CONFLICT DO NOTHING;
        CONTINUE WHEN NOT FOUND; -- another conversation was opened through the API meanwhile: join it
        INSERT INTO events (tenant_id, type, conversation_id, data, created_at) VALUES (p_tenant, 'conversation.created',
          p_conversation_id, jsonb_build_object('status', 'open', 'version', 1), p_now);
        v_conversation := p_conversation_id;
        v_created := true;
      END IF;
    END IF;

    SELECT * INTO a FROM colloquy_append(p_tenant, v_conversation, p_id, 'user', p_content, p_external_id, NULL, p_status, p_extra, p_at);
    CONTINUE WHEN a.outcome NOT IN ('created', 'duplicate'); -- closed or deleted under us: resolve again
    -- Only a stored message may rename its sender: a duplicate changes nothing.
    IF a.outcome = 'created' AND p_name IS NOT NULL THEN
      UPDATE contacts c SET name = p_name, updated_at = p_now WHERE c.id = v_contact AND c.name IS DISTINCT FROM p_name;
    END IF;
    RETURN QUERY SELECT a.outcome, v_created AND a.outcome = 'created', v_reopened AND a.outcome = 'created',
      (SELECT to_jsonb(cv) FROM conversations cv WHERE cv.id = a.conversation_id),
      a.id, a.seq, a.role, a.content, a.external_id, a.idempotency_key, a.status, a.status_at, a.extra, a.created_at;
    RETURN;
  END LOOP;
  RAISE EXCEPTION 'colloquy_ingest: the conversation kept changing under this message; retry' USING ERRCODE = '40001';
END;
$$;
