-- 0008: contacts merged into another (the contact-merge rule: `colloquy import`, handle normalisation). A merged
-- contact's id keeps answering for its survivor: a second import of the same file finds it present.
-- backward-compatible: yes (a new table earlier code never reads)
CREATE TABLE contact_merges (
  merged_id   uuid PRIMARY KEY,
  tenant_id   text NOT NULL,
  survivor_id uuid NOT NULL,
  merged_at   bigint NOT NULL
);
CREATE INDEX contact_merges_survivor ON contact_merges(survivor_id);
