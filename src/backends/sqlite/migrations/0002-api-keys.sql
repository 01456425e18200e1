-- API keys: each binds its holder to one tenant. Only a SHA-256 of the key is stored; the key is shown once.
CREATE TABLE api_keys (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL,
  name       TEXT NOT NULL,
  prefix     TEXT NOT NULL,          -- the key's first characters, to recognise it in listings
  hash       TEXT NOT NULL UNIQUE,   -- hex SHA-256 of the whole key
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
