// What one evaluation of ha.leaderCheck found.
import type { HaRole } from './role.js';

export interface Verdict {
  role: HaRole;
  /** The check itself failed (zsha2 missing, a command that timed out): standby, to be safe. */
  failed: boolean;
  /** Why: which address is where, what the command answered, what went wrong. Never a secret. */
  reason: string;
}
