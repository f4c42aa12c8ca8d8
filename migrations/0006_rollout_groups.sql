-- 0006_rollout_groups: rollout targets per (agent type, architecture) group, members that are done
-- without a guest agent that could confirm the install ('unconfirmed'), and the error budget per wave.
-- Never edit this file once released: add 0007_... instead.

-- The catalog's target of each group a rollout covers, asserted at start. Rollouts from before this
-- migration had one target for all their agent types: their rows say architecture '*'.
CREATE TABLE rollout_targets (
  rollout_id   INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  agent_type   TEXT    NOT NULL,
  architecture TEXT    NOT NULL,                        -- the VMs' architecture, or '*' (any)
  version      TEXT    NOT NULL,
  PRIMARY KEY (rollout_id, agent_type, architecture)
) WITHOUT ROWID;

INSERT INTO rollout_targets (rollout_id, agent_type, architecture, version)
  SELECT r.id, a.value, '*', r.target FROM rollouts r, json_each(r.agent_types) a;

-- Failures of a wave accepted by the last resume after an error-budget pause.
ALTER TABLE rollout_waves ADD COLUMN errors_acknowledged INTEGER NOT NULL DEFAULT 0;

-- Members get their group (architecture, target) and the status 'unconfirmed' (SQLite cannot change a CHECK: rebuild).
CREATE TABLE rollout_members_0006 (
  rollout_id   INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  vm_uuid      TEXT    NOT NULL,
  vm_name      TEXT    NOT NULL,
  agent_type   TEXT    NOT NULL,
  architecture TEXT    NOT NULL,                        -- the VM's architecture; '*' for members from before 0006
  target       TEXT    NOT NULL,                        -- the catalog target of the member's group
  wave         INTEGER NOT NULL,
  position     INTEGER NOT NULL,
  canary       INTEGER NOT NULL DEFAULT 0 CHECK (canary IN (0, 1)),
  status       TEXT    NOT NULL CHECK (status IN ('pending', 'attached', 'verified', 'unconfirmed', 'failed', 'skipped')),
  reason       TEXT,
  joined_at    INTEGER NOT NULL,
  attached_at  INTEGER,
  verified_at  INTEGER,
  detached_at  INTEGER,
  detach_error TEXT,
  PRIMARY KEY (rollout_id, vm_uuid),
  FOREIGN KEY (rollout_id, wave) REFERENCES rollout_waves (rollout_id, number)
) WITHOUT ROWID;

INSERT INTO rollout_members_0006 (rollout_id, vm_uuid, vm_name, agent_type, architecture, target, wave, position, canary, status,
    reason, joined_at, attached_at, verified_at, detached_at, detach_error)
  SELECT m.rollout_id, m.vm_uuid, m.vm_name, m.agent_type, '*', r.target, m.wave, m.position, m.canary, m.status, m.reason,
    m.joined_at, m.attached_at, m.verified_at, m.detached_at, m.detach_error
  FROM rollout_members m JOIN rollouts r ON r.id = m.rollout_id;

DROP TABLE rollout_members;
ALTER TABLE rollout_members_0006 RENAME TO rollout_members;
CREATE INDEX rollout_members_by_wave ON rollout_members (rollout_id, wave, status);
