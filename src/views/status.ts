// The JSON of `gtr status --json` (and the daemon's /api/status): built from the ledger alone.
import type { Config } from '../config/schema.js';
import { iso } from '../time-format.js';
import type { Ledger } from '../ledger/index.js';
import { isWindowOpen, nextWindowOpening } from '../schedule/window.js';
import { needsAttentionJson } from './attention.js';
import { installStatusJson } from './install-status.js';
import { fleetDistribution } from './distribution.js';
import { runSummaryJson } from './history.js';
import { openRolloutsJson } from '../rollout/report.js';
import type { RoleStatus } from '../ha/role-status.js';

/** `ha`: this node's role (ha.leaderCheck) as its leader check last answered. */
export function statusJson(ledger: Ledger, config: Config, now: number, ha: RoleStatus) {
  const last = ledger.lastRun();
  const fleet = ledger.lastFleet();
  const lease = ledger.leaseHolder(now);
  const { windows, timezone } = config.schedule;
  return {
    ha,
    // warnings: what the last run worked around, e.g. an MN without QueryGuestToolsState.
    lastRun: last ? { ...runSummaryJson(last), warnings: last.warnings } : null,
    lease: lease ? { holder: lease.holder, purpose: lease.purpose, host: lease.host, pid: lease.pid, acquiredAt: iso(lease.acquiredAt), expiresAt: iso(lease.expiresAt) } : null,
    window: { open: isWindowOpen(windows, timezone, now), nextOpening: iso(nextWindowOpening(windows, timezone, now)) },
    fleetRunId: fleet?.runId ?? null,
    fleetTotal: fleet ? fleet.rows.reduce((n, r) => n + r.count, 0) : 0,
    fleet: fleet?.rows ?? [],
    distribution: fleet ? fleetDistribution(fleet.rows, fleet.targets) : [],
    rollouts: openRolloutsJson(ledger, now),
    // Installing in the guest: the funnel per group, failures with their cause, VMs awaiting a person.
    install: installStatusJson(ledger, config),
    // The first page; the status page pages through the rest.
    needsAttention: needsAttentionJson(ledger, now),
  };
}
