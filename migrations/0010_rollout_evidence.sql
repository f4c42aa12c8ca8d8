-- 0010_rollout_evidence: rollouts move only on the guest's evidence (DESIGN.md 8).
-- * There is no "done without evidence" any more: the member status 'unconfirmed' (attached while no
--   guest agent could confirm the install, counted as done) is gone. The guest's installer rewrites the
--   GuestTools:: tag whether or not an agent runs, so evidence is expected for every member. Members of
--   open rollouts that were 'unconfirmed' become 'attached': they wait for evidence, or fail with
--   'no-evidence' at their wave's timeout. Those of closed rollouts become 'attached' too, with reason
--   'unconfirmed' to keep what was recorded then (an aborted rollout whose --detach skipped them, as
--   the old code did, now detaches them: abort --detach covers every member attached and not verified).
-- * rollout_members.guest_agent: whether a guest agent ran when a run last saw the member (qgaState
--   Running, or a reported version); NULL until a run saw it. Status output tells members waiting for an
--   agent's report from members waiting for an install in the guest.
-- * The status CHECK also admits 'installing' (the install step, DESIGN.md 2.7), so that step needs no
--   rebuild of its own. SQLite cannot change a CHECK constraint: the table is rebuilt, as in 0006.
-- Never edit this file once released: add 0011_... instead.
CREATE TABLE rollout_members_0010 (
  rollout_id   INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  vm_uuid      TEXT    NOT NULL,
  vm_name      TEXT    NOT NULL,
  agent_type   TEXT    NOT NULL,
  architecture TEXT    NOT NULL,                        -- the VM's architecture; '*' for members from before 0006
  target       TEXT    NOT NULL,                        -- the catalog target of the member's group
  wave         INTEGER NOT NULL,
  position     INTEGER NOT NULL,
  canary       INTEGER NOT NULL DEFAULT 0 CHECK (canary IN (0, 1)),
  status       TEXT    NOT NULL CHECK (status IN ('pending', 'attached', 'installing', 'verified', 'failed', 'skipped')),
  reason       TEXT,                                    -- e.g. 'no-evidence', 'GTR_JOB_LOST', 'SYS.1006', 'no-cdrom', 'gone'
  guest_agent  INTEGER CHECK (guest_agent IN (0, 1)),
  joined_at    INTEGER NOT NULL,
  attached_at  INTEGER,
  verified_at  INTEGER,
  detached_at  INTEGER,
  detach_error TEXT,
  detach_job   TEXT,
  PRIMARY KEY (rollout_id, vm_uuid),
  FOREIGN KEY (rollout_id, wave) REFERENCES rollout_waves (rollout_id, number)
) WITHOUT ROWID;

INSERT INTO rollout_members_0010 (rollout_id, vm_uuid, vm_name, agent_type, architecture, target, wave, position, canary, status,
    reason, guest_agent, joined_at, attached_at, verified_at, detached_at, detach_error, detach_job)
  SELECT m.rollout_id, m.vm_uuid, m.vm_name, m.agent_type, m.architecture, m.target, m.wave, m.position, m.canary,
    CASE WHEN m.status = 'unconfirmed' THEN 'attached' ELSE m.status END,
    CASE WHEN m.status = 'unconfirmed' AND r.state NOT IN ('active', 'paused') THEN COALESCE(m.reason, 'unconfirmed') ELSE m.reason END,
    -- 'unconfirmed' meant: no guest report when it was attached.
    CASE WHEN m.status = 'unconfirmed' THEN 0 ELSE NULL END,
    m.joined_at, m.attached_at, m.verified_at, m.detached_at, m.detach_error, m.detach_job
  FROM rollout_members m JOIN rollouts r ON r.id = m.rollout_id;

DROP TABLE rollout_members;
ALTER TABLE rollout_members_0010 RENAME TO rollout_members;
CREATE INDEX rollout_members_by_wave ON rollout_members (rollout_id, wave, status);
