-- 0001_init: runs, their per-VM decisions, per-VM state across runs, and the single lease.
-- Applied by src/ledger/migrate.ts inside one transaction; schema_migrations is created by the runner.
-- Never edit this file once released: the runner refuses a checksum change. Add 0002_... instead.
-- Times: runs/decisions keep ISO-8601 UTC text (read by people and `gtr runs`); vm_state and lease
-- keep epoch milliseconds (compared by the planner and the lease, never shown raw).

CREATE TABLE runs (
  -- INTEGER PRIMARY KEY is the rowid: "newest first" (ORDER BY id DESC) walks this b-tree
  -- backwards, so no separate index is needed for it.
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  trigger     TEXT    NOT NULL CHECK (trigger IN ('schedule', 'cli', 'rollout')),
  dry_run     INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
  status      TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'halted',
                                                 'noop', 'dry-run', 'interrupted')),
  started_at  TEXT    NOT NULL,
  finished_at TEXT,
  plan_hash   TEXT,
  targets     TEXT    NOT NULL DEFAULT '[]',  -- JSON array of catalog targets
  counts      TEXT    NOT NULL DEFAULT '{}',  -- JSON object of name -> number
  message     TEXT,
  pid         INTEGER NOT NULL,
  host        TEXT    NOT NULL
);

-- Finding runs left 'running' by a dead process, at every start.
CREATE INDEX runs_by_status ON runs (status, id);

CREATE TABLE decisions (
  id                INTEGER PRIMARY KEY,       -- insertion order = plan order
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
  outcome           TEXT CHECK (outcome IN ('verified', 'attached', 'failed', 'not-started', 'pending')),
  job_uuid          TEXT,
  error_code        TEXT,
  error_description TEXT,
  error_details     TEXT,
  started_at        TEXT,
  finished_at       TEXT
);

-- One decision per VM per run; also serves every lookup by run_id.
CREATE UNIQUE INDEX decisions_by_run ON decisions (run_id, vm_uuid);
-- History of one VM across runs.
CREATE INDEX decisions_by_vm ON decisions (vm_uuid, run_id);
-- Attaches whose outcome is in doubt (crash between PUT and outcome); small by construction.
CREATE INDEX decisions_pending ON decisions (run_id) WHERE outcome = 'pending';

CREATE TABLE vm_state (
  vm_uuid              TEXT    PRIMARY KEY,
  last_seen_version    TEXT,
  last_seen_at         INTEGER,
  last_attach_target   TEXT,
  last_attach_at       INTEGER,
  consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  quarantine_until     INTEGER,
  regression           TEXT,                   -- e.g. '1.2.0 -> 1.1.0'
  regression_at        INTEGER
);

-- Exactly one row (id = 1) when held; no row when free.
CREATE TABLE lease (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  holder      TEXT    NOT NULL,
  host        TEXT    NOT NULL,
  pid         INTEGER NOT NULL,
  purpose     TEXT    NOT NULL,
  acquired_at INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);
