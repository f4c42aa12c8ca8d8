// Check "leader": whether this node may act when two MNs run the reconciler (issue 15 part 3). There is
// no ha.leaderCheck setting yet; when it lands, evaluate it here (as the gtr user).
import { skip, type CheckResult } from './check.js';

export function checkLeader(): CheckResult {
  return skip('leader', 'not configured (no ha.leaderCheck): this node always acts');
}
