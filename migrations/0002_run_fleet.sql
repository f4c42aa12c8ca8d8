-- 0002_run_fleet: the fleet a run observed, by current GuestTools version, platform and architecture
-- (a JSON array of {version, platform, architecture, count}); what `gtr status` and /metrics show.
-- A handful of rows per run instead of one per VM.
ALTER TABLE runs ADD COLUMN fleet TEXT;

CREATE INDEX runs_with_fleet ON runs (id) WHERE fleet IS NOT NULL;
