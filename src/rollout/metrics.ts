// Rollout metrics on the daemon's /metrics, read from SQLite at scrape time (they survive restarts):
// the state of recent rollouts and per-wave member counts of the open ones.
import { Gauge, type Registry } from 'prom-client';
import type { Ledger } from '../ledger/index.js';
import { RolloutStore } from './store.js';
import { ROLLOUT_STATES } from './transitions.js';
import { MEMBER_STATUSES } from './waves.js';

const RECENT = 20;

export function registerRolloutMetrics(registry: Registry, ledger: () => Ledger): void {
  new Gauge({
    name: 'gtr_rollout_state',
    help: 'State of the most recent rollouts: 1 for the state the rollout is in, 0 for the others',
    labelNames: ['rollout', 'agent_types', 'target', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of new RolloutStore(ledger()).list(RECENT)) {
        for (const state of ROLLOUT_STATES) {
          this.set({ rollout: String(r.id), agent_types: r.agentTypes.join(','), target: r.target, state }, r.state === state ? 1 : 0);
        }
      }
    },
  });
  new Gauge({
    name: 'gtr_rollout_wave_members',
    help: 'Members of each wave of the open rollouts, by member status',
    labelNames: ['rollout', 'wave', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of new RolloutStore(ledger()).open()) {
        for (const w of r.waves) {
          for (const status of MEMBER_STATUSES) {
            const n = r.members.filter((m) => m.wave === w.number && m.status === status).length;
            this.set({ rollout: String(r.id), wave: String(w.number), status }, n);
          }
        }
      }
    },
  });
  new Gauge({
    name: 'gtr_rollout_wave_started',
    help: '1 when the wave of an open rollout has started, 0 when it waits',
    labelNames: ['rollout', 'wave'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of new RolloutStore(ledger()).open()) {
        for (const w of r.waves) this.set({ rollout: String(r.id), wave: String(w.number) }, w.startedAt === null ? 0 : 1);
      }
    },
  });
}
