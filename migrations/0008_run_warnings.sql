-- 0008_run_warnings: what a run could not do as usual and worked around, as a JSON array of
-- {code, message} (e.g. a management node without QueryGuestToolsState: versions from tags alone).
-- NULL when there was nothing to say; shown by `gtr runs show` and `gtr status`.
ALTER TABLE runs ADD COLUMN warnings TEXT;
