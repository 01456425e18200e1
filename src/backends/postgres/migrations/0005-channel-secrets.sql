-- 0005: channel secrets apart from the public config, and settings of the database itself.
-- backward-compatible: yes (earlier code ignores the new column and table; channels it creates have no secrets)
-- secrets: a JSON object, secret name → value sealed by the store (AES-256-GCM when COLLOQUY_SECRET_KEY is set).
ALTER TABLE channels ADD COLUMN secrets jsonb NOT NULL DEFAULT '{}';
-- colloquy_settings: e.g. the check value of the secret key, so that a wrong key is refused at start.
CREATE TABLE colloquy_settings (
  name  text PRIMARY KEY,
  value text NOT NULL
);
