-- events-after: a page of one tenant's event log in delivery order, after a cursor.
-- Inputs: $1 tenant, $2 cursor transaction id (text, '0' for the start), $3 cursor event id, $4 limit,
--         $5 conversation id (optional: the query has `{scope}` replaced by the tenant filter, or by the
--         tenant and conversation filter).
-- Result: up to $4 rows (id, tx_text, type, conversation_id, data, created_at, settled), ordered by (tx, id).
-- Event ids come from a sequence, whose order is not commit order: rows are ordered by (transaction id, id),
-- and `settled` says that every transaction older than the event's has finished (nothing can commit before it
-- any more). Settled rows form a prefix; the caller returns only that prefix.
SELECT id, tx::text AS tx_text, type, conversation_id, data, created_at,
  tx < pg_snapshot_xmin(pg_current_snapshot()) AS settled
FROM events
WHERE {scope} AND (tx, id) > ($2::text::xid8, $3)
ORDER BY tx, id
LIMIT $4
