// A node's role in a pair of management nodes (ha.*). Only the leader attaches; the standby mirrors
// the leader's ledger. With ha.leaderCheck "none" every node is the leader.
export type HaRole = 'leader' | 'standby';

/** The role as last found by the leader check, read synchronously (gates, /healthz, the sync loop). */
export interface HaRoleSource {
  /** 'standby' also when the last answer is too old to trust (fail closed). */
  role(now: number): HaRole;
}

/** Why a node with ha.leaderCheck "none" is the leader. */
export const NONE_REASON = 'ha.leaderCheck is "none": this node always acts';

/** The role source for ha.leaderCheck "none": one MN, always the leader. */
export const ALWAYS_LEADER: HaRoleSource = { role: () => 'leader' };
