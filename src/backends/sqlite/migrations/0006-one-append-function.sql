-- 0006: PostgreSQL's append function in one piece, duplicates without writes.
-- backward-compatible: yes
-- Nothing to do on SQLite (its append is TypeScript, src/backends/sqlite/sqlite-hot-path.ts). The step exists so
-- that migration numbers mean the same on both engines.
SELECT 1;
