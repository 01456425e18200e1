-- 0015: daily reports. traffic_buckets: each channel's counters per minute (bucket: the minute's start, epoch ms), added
-- with the channel's totals, so that a day in any timezone (and the dashboard's charts) folds from them without a
-- scan of the messages. daily_reports: one per tenant and day, written once across a fleet. maintenance_leases: jobs
-- one instance of a fleet runs at a time (a report day, a backup).
-- backward-compatible: yes (new tables earlier code never reads)
CREATE TABLE traffic_buckets (
  channel_id TEXT NOT NULL,
  bucket     INTEGER NOT NULL,
  tenant_id  TEXT NOT NULL,
  counts     TEXT NOT NULL,
  PRIMARY KEY (channel_id, bucket)
);
CREATE INDEX traffic_buckets_tenant ON traffic_buckets(tenant_id, bucket);
CREATE TABLE daily_reports (
  tenant_id  TEXT NOT NULL,
  day        TEXT NOT NULL,
  report     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, day)
);
CREATE TABLE maintenance_leases (
  name        TEXT PRIMARY KEY,
  owner       TEXT NOT NULL,
  lease_until INTEGER NOT NULL
);
