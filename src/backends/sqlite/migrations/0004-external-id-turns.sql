-- 0004: deliveries of one external id take turns.
-- backward-compatible: yes
-- Nothing to do on SQLite: its writes are serialised (one IMMEDIATE transaction at a time), so a duplicate
-- check is always final. The step exists so that migration numbers mean the same on both engines.
SELECT 1;
