// The status server's documents read from the ledger: the same functions as `gtr status|runs --json`
// and `gtr rollout status --json`, so the page, the JSON twins and the CLI cannot disagree.
import type { Config } from '../config/schema.js';
import type { Ledger } from '../ledger/index.js';
import { needsAttentionJson } from '../views/attention.js';
import { runJson, runPageJson, runsJson } from '../views/history.js';
import { DECISIONS_PAGE_SIZE } from './status-page/run-page.js';
import { statusJson } from '../views/status.js';
import { rolloutsJson } from '../rollout/report.js';
import type { StatusRoutes } from './status-server.js';
import type { RoleStatus } from '../ha/role-status.js';

export function ledgerRoutes(ledger: () => Ledger, config: () => Config, role: (now: number) => RoleStatus): Omit<StatusRoutes, 'health' | 'metrics'> {
  return {
    status: () => {
      const now = Date.now();
      return statusJson(ledger(), config(), now, role(now));
    },
    runs: (limit) => runsJson(ledger().listRuns(limit)),
    run: (id) => {
      const run = ledger().getRun(id);
      return run ? runJson(run) : null;
    },
    runPage: (id, filter, page) => {
      const run = ledger().getRunPage(id, filter, DECISIONS_PAGE_SIZE, (page - 1) * DECISIONS_PAGE_SIZE);
      return run ? runPageJson(run, page, DECISIONS_PAGE_SIZE) : null;
    },
    rollouts: () => rolloutsJson(ledger(), Date.now()),
    attention: (page) => needsAttentionJson(ledger(), Date.now(), page),
  };
}
