-- 0014_retried_at: when `gtr retry` last re-armed a VM. The guest's installer reports a failure as the
-- tag GuestTools::InstallFailed, which stays on the VM until the installer reports again: a tag written
-- before the retry is the failure the operator already saw, not a new one (docs/install.md).
-- Never edit this file once released: add 0015_... instead.
ALTER TABLE vm_state ADD COLUMN retried_at INTEGER;
