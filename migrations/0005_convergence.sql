-- 0005_convergence: trustworthy outcomes (DESIGN.md sections 2.5, 3 and 6).
-- vm_state: how many attaches of one target succeeded without the guest confirming it (attempts of
-- attempts_target; skip/not-converging at policy.maxAttempts, reset by `gtr retry`), and whether the last
-- attach sent its GuestTools:: tag (zstack.recordVersionTag), which then proves nothing.
-- decisions: the `interrupted` outcome (PUT sent, job unresolved when the process stopped) and how a
-- verified attach was confirmed (`guest`: QueryGuestToolsState; `tag`: a GuestTools:: tag we did not send).
-- SQLite cannot change a CHECK constraint, so the decisions table is rebuilt with the same rows.
-- Never edit this file once released: add 0006_... instead.
ALTER TABLE vm_state ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0);
ALTER TABLE vm_state ADD COLUMN attempts_target TEXT;
ALTER TABLE vm_state ADD COLUMN last_attach_tagged INTEGER NOT NULL DEFAULT 0 CHECK (last_attach_tagged IN (0, 1));

CREATE TABLE decisions_v5 (
  id                INTEGER PRIMARY KEY,
  run_id            INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  vm_uuid           TEXT    NOT NULL,
  vm_name           TEXT    NOT NULL,
  action            TEXT    NOT NULL CHECK (action IN ('attach', 'skip', 'defer')),
  reason            TEXT    NOT NULL,
  current_version   TEXT,
  target_version    TEXT,
  agent_type        TEXT,
  architecture      TEXT,
  host_uuid         TEXT,
  message           TEXT,
  outcome           TEXT CHECK (outcome IN ('verified', 'attached', 'failed', 'not-started', 'pending', 'interrupted')),
  job_uuid          TEXT,
  error_code        TEXT,
  error_description TEXT,
  error_details     TEXT,
  started_at        TEXT,
  finished_at       TEXT,
  verified_by       TEXT CHECK (verified_by IN ('guest', 'tag'))
);
INSERT INTO decisions_v5 (id, run_id, vm_uuid, vm_name, action, reason, current_version, target_version, agent_type,
  architecture, host_uuid, message, outcome, job_uuid, error_code, error_description, error_details, started_at, finished_at)
  SELECT id, run_id, vm_uuid, vm_name, action, reason, current_version, target_version, agent_type, architecture,
    host_uuid, message, outcome, job_uuid, error_code, error_description, error_details, started_at, finished_at
  FROM decisions;
DROP TABLE decisions;
ALTER TABLE decisions_v5 RENAME TO decisions;
CREATE UNIQUE INDEX decisions_by_run ON decisions (run_id, vm_uuid);
CREATE INDEX decisions_by_vm ON decisions (vm_uuid, run_id);
-- Attaches whose outcome is in doubt or unresolved at exit; small by construction.
CREATE INDEX decisions_pending ON decisions (run_id) WHERE outcome IN ('pending', 'interrupted');
