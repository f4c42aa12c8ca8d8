// The daemon's side of ha.leaderCheck: a background check keeps the role fresh for the gates, each
// tick asks afresh and a standby skips the tick (nothing read, nothing recorded), one log line per
// role change (fields role, was, leaderCheck, reason), the role in /healthz and /api/status (and the
// gtr_leader metric, src/daemon/metrics.ts).
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { leaderCheckFromConfig } from '../ha/from-config.js';
import type { LeaderCheck } from '../ha/leader-check.js';
import type { HaRole, HaRoleSource } from '../ha/role.js';
import { roleStatus, type RoleStatus } from '../ha/role-status.js';

export class Leadership implements HaRoleSource {
  private readonly check: LeaderCheck;

  constructor(config: Config, env: NodeJS.ProcessEnv, logger: Logger) {
    this.check = leaderCheckFromConfig(config, env, {
      onRoleChange: (answer, previous) => {
        const facts = { role: answer.role, leaderCheck: answer.kind, reason: answer.reason, ...(previous ? { was: previous.role } : {}) };
        const text = previous ? `role changed: ${previous.role} -> ${answer.role}` : `role: ${answer.role}`;
        if (answer.failed) logger.error(facts, `${text} (the leader check failed)`);
        else if (answer.role === 'standby') logger.warn(facts, `${text}: this node attaches nothing while the other node leads`);
        else logger.info(facts, text);
      },
    });
  }

  /** Keeps the role fresh in the background until stop(). */
  start(): void {
    this.check.start();
  }

  stop(): void {
    this.check.stop();
  }

  role(now: number): HaRole {
    return this.check.role(now);
  }

  /** A fresh check: true when this node leads now (a tick starts with it). */
  async leadsNow(): Promise<boolean> {
    await this.check.check();
    return this.role(Date.now()) === 'leader';
  }

  status(now: number): RoleStatus {
    return roleStatus(this.check.answerAt(now));
  }
}
