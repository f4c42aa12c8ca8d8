-- 0013_install_verified: when the guest confirmed the target of an ISO this reconciler attached (its
-- own report, a tag we did not send, or an up-to-date decision), whether or not the ISO is detached
-- afterwards (policy.detachAfterVerify off, an MN without DetachGuestToolsIsoFromVm, a failed detach).
-- `gtr status` and the status page count the install funnel per group from attached_isos (attached ->
-- installing -> verified -> detached); a detached row was verified before its detach.
-- Never edit this file once released: add 0014_... instead.
ALTER TABLE attached_isos ADD COLUMN verified_at INTEGER;
