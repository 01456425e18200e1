-- 0016: a read marker per conversation for the dashboard's inbox. read_seq: the seq of the newest message marked
-- read (0: none); the unread count is last_seq - read_seq, derived on read, never stored.
-- backward-compatible: yes (a defaulted column earlier code never reads)
ALTER TABLE conversations ADD COLUMN read_seq bigint NOT NULL DEFAULT 0;
