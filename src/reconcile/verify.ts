// Verification (docs/design.md 3): an attach is `verified` only on evidence from the guest. The guest's
// own report (QueryGuestToolsState) decides when there is one; else the GuestTools:: tag, but only when
// this reconciler did not send that tag with the attach (zstack.recordVersionTag): a tag we sent proves
// nothing. Versions compare as versions (`1.2` = `1.2.0`). One batched re-read, never a call per VM.
import { compareVersions, highestVersion, parseVersion } from '../tools-version.js';
import type { VerifiedBy } from '../ledger/index.js';
import { readVersions, type QueryPort } from '../observe/inventory.js';

export function sameVersion(a: string, b: string): boolean {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  return va !== null && vb !== null && compareVersions(va, vb) === 0;
}

/** VM uuid -> what confirmed its target, for the attached VMs that have evidence; the rest stay `attached`. */
export async function verifyAttached(
  client: QueryPort,
  attached: readonly { vmUuid: string; target: string }[],
  opts: { sentTag: boolean },
): Promise<Map<string, VerifiedBy>> {
  const verified = new Map<string, VerifiedBy>();
  if (attached.length === 0) return verified;
  const readings = await readVersions(client, attached.map((a) => a.vmUuid));
  for (const { vmUuid, target } of attached) {
    const reported = readings.reported.get(vmUuid);
    if (reported !== undefined && parseVersion(reported) !== null) {
      // The guest speaks for itself, as the MN decides (zstack-api.md 4.2): an older report is no install.
      if (sameVersion(reported, target)) verified.set(vmUuid, 'guest');
      continue;
    }
    if (opts.sentTag) continue;
    const tag = highestVersion(readings.tags.get(vmUuid) ?? []);
    if (tag && sameVersion(tag.raw, target)) verified.set(vmUuid, 'tag');
  }
  return verified;
}
