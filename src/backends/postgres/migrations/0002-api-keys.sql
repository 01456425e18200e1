-- API keys: each binds its holder to one tenant. Only a SHA-256 of the key is stored; the key is shown once.
CREATE TABLE api_keys (
  id         uuid PRIMARY KEY,
  tenant_id  text NOT NULL,
  name       text NOT NULL,
  prefix     text NOT NULL,          -- the key's first characters, to recognise it in listings
  hash       text NOT NULL UNIQUE,   -- hex SHA-256 of the whole key
  created_at bigint NOT NULL,
  revoked_at bigint
);
