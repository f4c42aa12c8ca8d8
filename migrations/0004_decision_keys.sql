-- 0004_decision_keys: the last stored decision of each VM, so a run stores a defer or skip row only
-- when the VM's (action, reason, current, target) differs from it (src/reconcile/stored-decisions.ts).
-- last_decision_key is NULL when the VM's last decision has no key (an attach, a counted-only skip) or
-- the run holding its row was deleted by retention; last_decision_run is the run that stored it.
-- Never edit this file once released: add 0005_... instead.
ALTER TABLE vm_state ADD COLUMN last_decision_key TEXT;
ALTER TABLE vm_state ADD COLUMN last_decision_run INTEGER;

-- Only VMs with a key: loaded once per run, and checked against the runs that retention kept.
CREATE INDEX vm_state_decision_keys ON vm_state (last_decision_run, vm_uuid, last_decision_key)
  WHERE last_decision_key IS NOT NULL;
