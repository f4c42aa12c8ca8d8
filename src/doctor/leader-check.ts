// Check "leader": the two-MN leader check (ha.leaderCheck) run once, as the service would run it. Run as
// root, the check's programs (zsha2, a command) run as the service user (the owner of the database
// folder, as gtr itself switches to it, src/ledger/owner.ts): what root may run, `gtr` may not.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { leaderCheckFromConfig } from '../ha/from-config.js';
import type { LeaderCheckKind } from '../ha/leader-check.js';
import { mustActAsOwner } from '../ledger/owner.js';
import { fail, pass, skip, type CheckResult } from './check.js';

const FIX: Record<Exclude<LeaderCheckKind, 'none'>, string> = {
  zsha2: 'zsha2 must answer `zsha2 show-config` as the service user (try: sudo -u gtr /usr/local/bin/zsha2 show-config); ' +
    'where it needs root, use {"vip": "<its dbvip>"} instead (the same decision, no privileges). See README "Leader check"',
  vip: 'the interface addresses cannot be read: the systemd unit must allow AF_NETLINK (RestrictAddressFamilies), see deploy/guesttools-reconciler.service',
  command: 'the program must exist, be executable by the service user and answer within 10 s (exit 0: leader, another exit code: standby)',
};

export async function checkLeader(config: Config, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const kind = config.ha.leaderCheck.kind;
  if (kind === 'none') return skip('leader', 'not configured (ha.leaderCheck "none"): this node always acts');
  const user = serviceUser(config.database);
  const answer = await leaderCheckFromConfig(config, env, { runAs: user ?? undefined }).check();
  const as = user ? ` (checked as uid ${user.uid}, the database folder's owner)` : '';
  if (answer.failed) return fail('leader', `${kind}: the check failed: ${answer.reason}${as}`, FIX[kind]);
  return pass('leader', `${answer.role} (${kind}: ${answer.reason})${as}`);
}

/** Run as root with an installed database folder: its owner, the user the service runs as. */
function serviceUser(database: string): { uid: number; gid: number } | null {
  try {
    const stat = fs.statSync(path.dirname(database));
    return mustActAsOwner(stat.uid) ? { uid: stat.uid, gid: stat.gid } : null;
  } catch {
    return null;
  }
}
