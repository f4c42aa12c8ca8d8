// Metrics with the status page's figures, read from SQLite at scrape time through the same functions
// as `gtr status --json`: the fleet against its targets, the needs-attention count, and the last
// observed run's decisions by action and reason (so alerts can follow e.g. skip/not-converging).
import { Gauge, type Registry } from 'prom-client';
import type { Ledger } from '../ledger/index.js';
import { ATTENTION_REASONS } from '../views/attention.js';
import { fleetDistribution, VERSION_STATES } from '../views/distribution.js';

/**
 * Prometheus labels of the version states (snake_case, as label values usually are). On target keeps
 * one state, split by `confirmed`: "true" (the guest or a tag this reconciler did not send says so),
 * "false" (only the tag it sent itself); the other states carry no `confirmed` label.
 */
const STATE_LABELS: Record<(typeof VERSION_STATES)[number], { state: string; confirmed?: string }> = {
  onTargetConfirmed: { state: 'on_target', confirmed: 'true' },
  onTargetTagOnly: { state: 'on_target', confirmed: 'false' },
  older: { state: 'older' },
  ahead: { state: 'ahead' },
  unknown: { state: 'unknown' },
};

export function registerStatusMetrics(registry: Registry, ledger: () => Ledger, lastRunCounts: () => Record<string, number>): void {
  new Gauge({
    name: 'gtr_fleet_vms',
    help: 'VMs per agent type and architecture against the catalog target, by state (on_target, older, ahead, unknown), as the last run saw them; on_target has confirmed="true" (the guest, or a tag this reconciler did not send) or "false" (only the tag it sent)',
    labelNames: ['agent_type', 'architecture', 'target', 'state', 'confirmed'],
    registers: [registry],
    collect() {
      this.reset();
      const fleet = ledger().lastFleet();
      for (const g of fleet ? fleetDistribution(fleet.rows, fleet.targets) : []) {
        for (const state of VERSION_STATES) this.set({ agent_type: g.agentType, architecture: g.architecture, target: g.target ?? 'none', ...STATE_LABELS[state] }, g[state]);
      }
    },
  });
  new Gauge({
    name: 'gtr_vms_needing_attention',
    help: 'VMs that need a person (failed, quarantined, regressed, not converging, catalog mismatch, unparseable tag, ...): the status page list',
    registers: [registry],
    collect() {
      this.set(ledger().needsAttention(Date.now(), ATTENTION_REASONS, 0, 0).total);
    },
  });
  new Gauge({
    name: 'gtr_decisions',
    help: 'Decisions of the last run that read the fleet, by action and reason',
    labelNames: ['action', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of Object.entries(lastRunCounts())) {
        const slash = key.indexOf('/');
        if (slash > 0) this.set({ action: key.slice(0, slash), reason: key.slice(slash + 1) }, n);
      }
    },
  });
}
