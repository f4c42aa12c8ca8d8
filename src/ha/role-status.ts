// The role as /healthz, /api/status and `gtr status --json` show it.
import { iso } from '../time-format.js';
import type { LeaderAnswer } from './leader-check.js';
import { NONE_REASON, type HaRole } from './role.js';

export interface RoleStatus {
  role: HaRole;
  leaderCheck: LeaderAnswer['kind'];
  checkedAt: string;
  reason: string;
  /** The check itself failed (a program missing or hung): standby until it works again. */
  checkFailed: boolean;
}

export function roleStatus(answer: LeaderAnswer): RoleStatus {
  return { role: answer.role, leaderCheck: answer.kind, checkedAt: iso(answer.checkedAt), reason: answer.reason, checkFailed: answer.failed };
}

/** The role of a node without a pair (ha.leaderCheck "none"): always the leader. */
export function singleNodeRole(now: number): RoleStatus {
  return { role: 'leader', leaderCheck: 'none', checkedAt: iso(now), reason: NONE_REASON, checkFailed: false };
}
