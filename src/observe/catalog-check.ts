// Catalog check (docs/design.md 1): before attaching, ask the MN which ISO it would mount for one
// out-of-date VM per (agent type, architecture). If it offers another version than the ISO folder (it
// has not loaded the new ISO yet), attaching would mount the old ISO and never converge.
import type { Logger } from 'pino';
import { errorToJson } from '../errors.js';
import type { Decision } from '../plan/plan.js';

interface LatestGuestToolsPort {
  getLatestGuestTools(vmUuid: string): Promise<{ version: string } | null>;
}

export interface GroupCheck {
  group: string;
  probeVmUuid: string;
  catalogVersion: string;
  /** What the MN offers; null when it offers nothing new for the probe VM. */
  offeredVersion: string | null;
  mismatch: boolean;
  /** The last probe's error when every probe of the group failed (then mismatch is false: catalog-unverified). */
  error: string | null;
}

/** Probes up to this many VMs of a group when a probe fails (the VM may have stopped meanwhile). */
const PROBES_PER_GROUP = 3;

export async function checkCatalog(client: LatestGuestToolsPort, attaches: readonly Decision[], logger: Logger): Promise<GroupCheck[]> {
  const byGroup = new Map<string, Decision[]>();
  for (const d of attaches) {
    const list = byGroup.get(d.group);
    if (!list) byGroup.set(d.group, [d]);
    else if (list.length < PROBES_PER_GROUP) list.push(d);
  }
  const checks: GroupCheck[] = [];
  for (const [group, probes] of byGroup) {
    let check: GroupCheck | null = null;
    for (const probe of probes) {
      const catalogVersion = probe.target as string;
      try {
        const latest = await client.getLatestGuestTools(probe.vmUuid);
        // No inventory means the MN's newest ISO equals what it takes the VM to have (compared as plain
        // strings, zstack-api.md 4.2): a mismatch unless that already is the target (a tag we sent).
        const offeredVersion = latest ? latest.version : null;
        const mismatch = offeredVersion === null ? probe.current !== catalogVersion : offeredVersion !== catalogVersion;
        check = { group, probeVmUuid: probe.vmUuid, catalogVersion, offeredVersion, mismatch, error: null };
        break;
      } catch (error) {
        const details = errorToJson(error).details;
        logger.warn({ group, vmUuid: probe.vmUuid, error: details }, 'catalog probe failed; trying another VM of the group');
        // A failed probe says nothing about the ISO: the group is catalog-unverified, never a mismatch.
        check = { group, probeVmUuid: probe.vmUuid, catalogVersion, offeredVersion: null, mismatch: false, error: details };
      }
    }
    if (check) {
      if (check.mismatch) {
        logger.error(check, 'catalog mismatch: the management node offers another GuestTools version than the ISO folder; restart the management node so it loads the new ISO');
      } else if (check.error !== null) {
        logger.error(check, 'catalog probe failed: the group is deferred (catalog-unverified) for this run');
      }
      checks.push(check);
    }
  }
  return checks;
}
