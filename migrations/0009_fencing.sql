-- 0009_fencing: one fenced way to start anything (DESIGN.md 2.4, 6, 7).
-- * The lease and each run record the holder's full identity: host, boot id and process start time
--   beside the pid, so a pid reused after a reboot (or by another program) is not taken for the old
--   holder. NULL for rows written before this migration: judged by host and pid alone, as before.
-- * vm_state.last_attach_failed: 1 when the management node said the VM's last attach did not happen
--   (it refused it, or ran it and failed); 0 while it is pending, in doubt or went through. The planner
--   waits (awaiting-install) on every attach that may have run, whatever failed before it.
-- * rollout_members.detach_job: the job uuid of a detach, recorded before its PUT (never sent twice).
ALTER TABLE lease ADD COLUMN boot_id TEXT;
ALTER TABLE lease ADD COLUMN start_time TEXT;
ALTER TABLE runs ADD COLUMN boot_id TEXT;
ALTER TABLE runs ADD COLUMN start_time TEXT;
ALTER TABLE vm_state ADD COLUMN last_attach_failed INTEGER NOT NULL DEFAULT 0 CHECK (last_attach_failed IN (0, 1));
UPDATE vm_state SET last_attach_failed = 1 WHERE consecutive_failures > 0;
ALTER TABLE rollout_members ADD COLUMN detach_job TEXT;

-- decisions: the `in-doubt` outcome (the PUT went out and the management node may have run it, but
-- the run could not learn the result: a lost job, an MN restart, a poll that got no answer, the MN's own
-- timeout SYS.1001). Counted apart, never against the error budget. The constraint also admits the
-- outcomes of the install and clean-up steps (DESIGN.md 5), so they need no rebuild of their own.
-- SQLite cannot change a CHECK constraint: the table is rebuilt with the same rows, as in 0005.
CREATE TABLE decisions_v9 (
  id                INTEGER PRIMARY KEY,
  run_id            INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  vm_uuid           TEXT    NOT NULL,
  vm_name           TEXT    NOT NULL,
  action            TEXT    NOT NULL CHECK (action IN ('attach', 'skip', 'defer', 'install')),
  reason            TEXT    NOT NULL,
  current_version   TEXT,
  target_version    TEXT,
  agent_type        TEXT,
  architecture      TEXT,
  host_uuid         TEXT,
  message           TEXT,
  outcome           TEXT CHECK (outcome IN ('verified', 'installing', 'attached', 'install-failed', 'failed', 'not-started',
                                            'pending', 'interrupted', 'in-doubt', 'detached', 'detach-failed')),
  job_uuid          TEXT,
  error_code        TEXT,
  error_description TEXT,
  error_details     TEXT,
  started_at        TEXT,
  finished_at       TEXT,
  verified_by       TEXT CHECK (verified_by IN ('guest', 'tag'))
);
INSERT INTO decisions_v9 (id, run_id, vm_uuid, vm_name, action, reason, current_version, target_version, agent_type,
  architecture, host_uuid, message, outcome, job_uuid, error_code, error_description, error_details, started_at, finished_at, verified_by)
  SELECT id, run_id, vm_uuid, vm_name, action, reason, current_version, target_version, agent_type, architecture,
    host_uuid, message, outcome, job_uuid, error_code, error_description, error_details, started_at, finished_at, verified_by
  FROM decisions;
DROP TABLE decisions;
ALTER TABLE decisions_v9 RENAME TO decisions;
CREATE UNIQUE INDEX decisions_by_run ON decisions (run_id, vm_uuid);
CREATE INDEX decisions_by_vm ON decisions (vm_uuid, run_id);
CREATE INDEX decisions_pending ON decisions (run_id) WHERE outcome IN ('pending', 'interrupted');
