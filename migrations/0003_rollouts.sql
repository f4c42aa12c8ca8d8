-- 0003_rollouts: upgrade rollouts (waves, soak, error budget), their members and every transition,
-- plus the first time each ISO version was seen (policy.isoSoak). Times are epoch milliseconds.
-- Never edit this file once released: add 0004_... instead.

CREATE TABLE rollouts (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  agent_types         TEXT    NOT NULL,                 -- JSON array, e.g. ["WindowsOnKvm"]
  target              TEXT    NOT NULL,                 -- the GuestTools version rolled out
  state               TEXT    NOT NULL CHECK (state IN ('active', 'paused', 'completed', 'aborted')),
  state_reason        TEXT,                             -- why of the last state change, e.g. 'error-budget'
  waves_spec          TEXT    NOT NULL,                 -- e.g. '1,10%,50%,100%'
  soak_ms             INTEGER NOT NULL CHECK (soak_ms >= 0),
  wave_timeout_ms     INTEGER NOT NULL CHECK (wave_timeout_ms > 0),
  max_errors          TEXT    NOT NULL,                 -- '5' or '5%'
  errors_acknowledged INTEGER NOT NULL DEFAULT 0,       -- failures accepted by the last resume
  canaries            TEXT    NOT NULL DEFAULT '{}',    -- JSON {vms, clusters, tags}
  detach_requested    INTEGER NOT NULL DEFAULT 0 CHECK (detach_requested IN (0, 1)),
  created_at          INTEGER NOT NULL,
  created_by          TEXT    NOT NULL,
  updated_at          INTEGER NOT NULL
);

-- Open rollouts (at most one per agent type) are looked up on every run.
CREATE INDEX rollouts_open ON rollouts (id) WHERE state IN ('active', 'paused');

CREATE TABLE rollout_waves (
  rollout_id   INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  number       INTEGER NOT NULL CHECK (number >= 1),
  spec         TEXT    NOT NULL,                        -- the --waves entry, e.g. '10%'
  planned      INTEGER NOT NULL,                        -- members placed at start (cumulative size minus the waves before)
  started_at   INTEGER,
  completed_at INTEGER,
  soak_until   INTEGER,                                 -- the next wave may start from then
  timed_out    INTEGER NOT NULL DEFAULT 0 CHECK (timed_out IN (0, 1)),
  PRIMARY KEY (rollout_id, number)
) WITHOUT ROWID;

CREATE TABLE rollout_members (
  rollout_id   INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  vm_uuid      TEXT    NOT NULL,
  vm_name      TEXT    NOT NULL,
  agent_type   TEXT    NOT NULL,
  wave         INTEGER NOT NULL,
  position     INTEGER NOT NULL,                        -- order of the membership (canaries first)
  canary       INTEGER NOT NULL DEFAULT 0 CHECK (canary IN (0, 1)),
  status       TEXT    NOT NULL CHECK (status IN ('pending', 'attached', 'verified', 'failed', 'skipped')),
  reason       TEXT,                                    -- e.g. 'wave-timeout', 'SYS.1006', 'no-cdrom', 'gone'
  joined_at    INTEGER NOT NULL,
  attached_at  INTEGER,
  verified_at  INTEGER,
  detached_at  INTEGER,
  detach_error TEXT,
  PRIMARY KEY (rollout_id, vm_uuid),
  FOREIGN KEY (rollout_id, wave) REFERENCES rollout_waves (rollout_id, number)
) WITHOUT ROWID;

CREATE INDEX rollout_members_by_wave ON rollout_members (rollout_id, wave, status);

-- Every state change and wave event: who (user@host or 'daemon'), when, why.
CREATE TABLE rollout_transitions (
  id         INTEGER PRIMARY KEY,
  rollout_id INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  at         INTEGER NOT NULL,
  event      TEXT    NOT NULL,                          -- start, pause, resume, abort, complete, wave-start, wave-complete, wave-timeout, detach
  from_state TEXT,
  to_state   TEXT,
  wave       INTEGER,
  who        TEXT    NOT NULL,
  why        TEXT
);

CREATE INDEX rollout_transitions_by_rollout ON rollout_transitions (rollout_id, id);

-- When each (agent type, version) ISO was first seen as a catalog target.
CREATE TABLE iso_versions (
  agent_type    TEXT    NOT NULL,
  version       TEXT    NOT NULL,
  first_seen_at INTEGER NOT NULL,
  PRIMARY KEY (agent_type, version)
) WITHOUT ROWID;
