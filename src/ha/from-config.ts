// The leader check as configured (ha.leaderCheck), with zsha2 where GTR_ZSHA2_PATH says (tests point
// it at a fake zsha2; on a management node it is /usr/local/bin/zsha2).
import type { Config } from '../config/schema.js';
import { LeaderCheck, type LeaderCheckOptions } from './leader-check.js';
import { DEFAULT_ZSHA2_PATH } from './zsha2.js';

export function leaderCheckFromConfig(config: Config, env: NodeJS.ProcessEnv, opts: Omit<LeaderCheckOptions, 'zsha2Path'> = {}): LeaderCheck {
  return new LeaderCheck(config.ha.leaderCheck, { ...opts, zsha2Path: env.GTR_ZSHA2_PATH || DEFAULT_ZSHA2_PATH });
}
