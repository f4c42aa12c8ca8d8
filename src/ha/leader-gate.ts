// The leader gate: only the leader of a pair of management nodes attaches (ha.leaderCheck).
import type { AttachGate } from '../plan/gates.js';
import type { HaRoleSource } from './role.js';

/**
 * Only the leader of a pair of management nodes attaches (ha.leaderCheck): once this node is standby,
 * or its last answer is too old to trust, no further attach of the run starts. One field read per attach.
 */
export function leaderGate(source: HaRoleSource): AttachGate {
  return { name: 'leader', stopsRun: true, check: (_subject, now) => (source.role(now) === 'standby' ? 'not-leader' : null) };
}
