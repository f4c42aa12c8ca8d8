-- 0012_install: installing in the guest and cleaning up (DESIGN.md 2.7, 2.8).
-- * attached_isos: the VMs whose GuestTools ISO this reconciler attached (an attach whose job succeeded,
--   also one a journal replay resolved as attached), for which target, and the clean-up: the detach's
--   job uuid (recorded before its PUT, never sent twice), when it was detached or why it failed. A VM
--   without a row here is never detached: its ISO is not ours. A new attach of the VM replaces its row.
-- * install_scripts: the one script per (platform, command), keyed by platform and a hash of the
--   command: the resourceUuid we chose, recorded before CreateGuestVmScript (so a lost create job is
--   found again by that uuid or by the script's name), and the MN's script uuid once known.
-- * installs: one row per (VM, target): the ExecuteGuestVmScript that ran the installer, recorded with
--   the job uuid we chose before the call (state 'installing'), the record uuid once the job answered,
--   and what the guest's evidence said: 'verified', 'install-failed' (InstallFailed tag, a failed
--   detail, the MN refusing the call: err_cause and the stderr tail kept; needs `gtr retry`), 'failed'
--   (reason 'no-evidence': nothing by install.timeout), or 'rearmed' (`gtr retry`). Doubt (a lost
--   job, a crash) leaves 'installing': the next run polls the recorded job or record, never re-sends.
-- * runs.stages: what the run did per stage (attach, install, detach) as JSON, for `runs show`.
-- * rollouts.install: `rollout start --install` (members are installed whatever install.mode says).
-- Never edit this file once released: add 0013_... instead.
CREATE TABLE attached_isos (
  vm_uuid      TEXT    PRIMARY KEY,
  target       TEXT    NOT NULL,
  attached_at  INTEGER NOT NULL,
  detach_job   TEXT,
  detach_run   INTEGER,
  detached_at  INTEGER,
  detach_error TEXT
) WITHOUT ROWID;
-- Verified VMs still to be detached: few by construction.
CREATE INDEX attached_isos_mounted ON attached_isos (vm_uuid) WHERE detached_at IS NULL AND detach_error IS NULL;

CREATE TABLE install_scripts (
  script_key    TEXT    PRIMARY KEY,   -- '<platform>:<first 16 hex of sha256(command)>'
  name          TEXT    NOT NULL,
  resource_uuid TEXT    NOT NULL,
  script_uuid   TEXT,
  created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE installs (
  vm_uuid     TEXT    NOT NULL,
  target      TEXT    NOT NULL,
  run_id      INTEGER NOT NULL,        -- the run that started it (kept when retention prunes the run)
  platform    TEXT    NOT NULL CHECK (platform IN ('Linux', 'Windows')),
  script_uuid TEXT    NOT NULL,
  job_uuid    TEXT    NOT NULL,
  record_uuid TEXT,
  batch_size  INTEGER NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('installing', 'verified', 'install-failed', 'failed', 'rearmed')),
  reason      TEXT,                    -- 'no-evidence', 'InstallFailed', 'detail-failed', an error code
  verified_by TEXT CHECK (verified_by IN ('guest', 'tag')),
  err_cause   TEXT,
  stderr_tail TEXT,
  started_at  INTEGER NOT NULL,
  launched_at INTEGER,                 -- the launcher's detail succeeded (it ran; proves nothing more)
  finished_at INTEGER,
  settled_run INTEGER,                 -- the run that read the evidence
  PRIMARY KEY (vm_uuid, target)
) WITHOUT ROWID;
CREATE INDEX installs_open ON installs (state) WHERE state = 'installing';
CREATE INDEX installs_by_job ON installs (job_uuid);

ALTER TABLE runs ADD COLUMN stages TEXT;
ALTER TABLE rollouts ADD COLUMN install INTEGER NOT NULL DEFAULT 0 CHECK (install IN (0, 1));
