-- 0011_run_record: the record of an interrupted run tells what it did and what became of it (DESIGN.md 6).
-- * decisions.resolution / resolved_by: an `interrupted` attach (PUT sent, job unresolved when its process
--   stopped) keeps its outcome; the run whose journal replay learned the job's result writes it here
--   (`attached`, `failed` or `in-doubt`) with its own id, so `runs show` says
--   "interrupted -> attached, resolved by run N". NULL until then (and for every other row).
-- * runs.seen_at: the last time the run's process was seen alive (its lease renewals while it runs).
--   A run marked interrupted by a later process gets as finished_at the last sign of life (this, or its
--   newest decision write), and the time it was marked in interrupted_at.
-- Never edit this file once released: add 0012_... instead.
ALTER TABLE decisions ADD COLUMN resolution TEXT CHECK (resolution IN ('attached', 'failed', 'in-doubt'));
ALTER TABLE decisions ADD COLUMN resolved_by INTEGER;
ALTER TABLE runs ADD COLUMN seen_at TEXT;
ALTER TABLE runs ADD COLUMN interrupted_at TEXT;
