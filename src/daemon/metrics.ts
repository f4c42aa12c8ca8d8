// Prometheus metrics of the daemon (prom-client). Counters follow the daemon's own runs; gauges about
// the fleet are read from the last recorded run at scrape time, so they survive restarts.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Ledger, RunRecord } from '../ledger/index.js';
import type { RunReport } from '../reconcile/report.js';
import { registerRolloutMetrics } from '../rollout/metrics.js';
import type { RequestObserver } from '../zstack/http.js';
import { RequestCounts } from '../zstack/request-counts.js';
import { registerStatusMetrics } from './status-metrics.js';
import { ALWAYS_LEADER, type HaRoleSource } from '../ha/role.js';
import { reasonsWhere } from '../plan/reasons.js';
import type { DaemonProblemKind } from './daemon-state.js';

interface MetricsSources {
  ledger: () => Ledger;
  /** This node's role (ha.leaderCheck); always the leader when absent. */
  leader?: HaRoleSource;
  /** What keeps the running daemon unhealthy (src/daemon/daemon-state.ts): iso-folder, status-port, config-reload, ticks-failing. */
  problems?: () => readonly string[];
}

const DAEMON_PROBLEMS = ['iso-folder', 'status-port', 'config-reload', 'ticks-failing'] as const satisfies readonly DaemonProblemKind[];

/** Skips that still count as out of date (REASONS' `outOfDate`). */
const OUT_OF_DATE_SKIPS = reasonsWhere((r) => r.outOfDate === true);

/** Out of date: everything past the up-to-date / ahead checks of the plan that was not skipped for policy. */
function outOfDate(counts: Record<string, number>): number {
  return OUT_OF_DATE_SKIPS.reduce((n, key) => n + (counts[key] ?? 0), (counts.attach ?? 0) + (counts.defer ?? 0));
}

/**
 * The newest finished run that read the whole fleet (the one `gtr status` shows), else the newest
 * finished run: a run in progress has no counts yet, and a `--vm` run sees only a few VMs.
 */
function lastObservedRun(ledger: Ledger): RunRecord | undefined {
  const finished = ledger.listRuns(50).filter((r) => r.finishedAt !== null);
  const fleetRunId = ledger.lastFleet()?.runId;
  return finished.find((r) => r.id === fleetRunId) ?? finished[0];
}

export function createMetrics(sources: MetricsSources) {
  const registry = new Registry();
  const runs = new Counter({ name: 'gtr_runs_total', help: 'Runs finished by this daemon, by status', labelNames: ['status'], registers: [registry] });
  const attaches = new Counter({ name: 'gtr_attaches_total', help: 'Attaches by outcome', labelNames: ['outcome'], registers: [registry] });
  const bookkeepingFailures = new Counter({
    name: 'gtr_bookkeeping_failures_total',
    help: 'Bookkeeping steps after a run (rollouts, retention, events) that failed; the run kept its record',
    registers: [registry],
  });
  const attachesVerifiedByTag = new Counter({
    name: 'gtr_attaches_verified_by_tag_total',
    help: 'Verified attaches confirmed only by a GuestTools:: tag this reconciler did not send (no guest report)',
    registers: [registry],
  });
  // Installing in the guest (issue 23): what the evidence said of each install, and the clean-up after verify.
  const installs = new Counter({
    name: 'gtr_installs_total',
    help: 'Installs in the guest by outcome: started (the installer was launched), verified (the guest confirmed the target), install-failed (the guest\'s installer or the MN said so), no-evidence (nothing by install.timeout)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const detaches = new Counter({
    name: 'gtr_detaches_total',
    help: 'Detaches of the GuestTools ISO after verify (policy.detachAfterVerify) by outcome: detached, detach-failed (the MN refused), in-doubt (polled by the next run)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'gtr_installs_in_flight',
    help: 'Installs in the guest started and waiting for the guest\'s evidence (installs in state installing), read from the ledger at scrape time',
    registers: [registry],
    collect() {
      this.set(sources.ledger().installs.inFlight());
    },
  });
  const duration = new Histogram({
    name: 'gtr_run_duration_seconds',
    help: 'Wall time of runs',
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600],
    registers: [registry],
  });
  const lastRunAt = new Gauge({ name: 'gtr_last_run_timestamp_seconds', help: 'When the last run finished', registers: [registry] });
  const lastSuccessAt = new Gauge({
    name: 'gtr_last_success_timestamp_seconds',
    help: 'When the last run finished that did not fail, halt or get interrupted',
    registers: [registry],
  });
  new Gauge({
    name: 'gtr_vms',
    help: 'VMs by current GuestTools version, platform and architecture, as the last run saw them; confirmed="guest" when the guest reports that version itself, "tag" when a GuestTools:: tag this reconciler did not send says so, "sent-tag" when only the tag it sent with its last attach does (no evidence), "none" without a version',
    labelNames: ['version', 'platform', 'architecture', 'confirmed'],
    registers: [registry],
    collect() {
      this.reset();
      for (const row of sources.ledger().lastFleet()?.rows ?? []) {
        const confirmed = row.source ?? (row.version === null ? 'none' : 'tag');
        this.inc({ version: row.version ?? 'none', platform: row.platform, architecture: row.architecture, confirmed }, row.count);
      }
    },
  });
  const fromLastRun = (name: string, help: string, pick: (counts: Record<string, number>) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const last = lastObservedRun(sources.ledger());
        this.set(last ? pick(last.counts) : 0);
      },
    });
  fromLastRun('gtr_vms_out_of_date', 'VMs older than their catalog target in the last run', outOfDate);
  fromLastRun('gtr_vms_deferred', 'VMs deferred in the last run', (c) => c.defer ?? 0);
  fromLastRun('gtr_vms_quarantined', 'VMs in quarantine in the last run', (c) => c['defer/quarantined'] ?? 0);
  fromLastRun('gtr_vms_not_converging', 'VMs skipped as not-converging in the last run (gtr retry --vm UUID re-arms them)', (c) => c['skip/not-converging'] ?? 0);
  fromLastRun('gtr_vms_cdrom_busy', 'VMs deferred because CD-ROM 0 holds a user ISO in the last run', (c) => c['defer/cdrom-busy'] ?? 0);
  fromLastRun('gtr_catalog_unverified_vms', 'VMs deferred because the catalog probe of their group failed in the last run', (c) => c['defer/catalog-unverified'] ?? 0);
  fromLastRun('gtr_regressions', 'VMs whose GuestTools version went backwards in the last run', (c) => c.regressions ?? 0);
  fromLastRun('gtr_catalog_mismatch_vms', 'VMs skipped because the MN offers another version than the ISO folder', (c) => c['skip/catalog-mismatch'] ?? 0);
  // Counted here, from every client the daemon had (a reload replaces the client, not the counts).
  const counts = new RequestCounts();
  const apiGauge = (name: string, help: string, pick: (c: RequestCounts) => Partial<Record<string, number>>) =>
    new Gauge({
      name,
      help,
      labelNames: ['api'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [api, n] of Object.entries(pick(counts))) this.set({ api }, n ?? 0);
      },
    });
  apiGauge('gtr_zstack_requests', 'ZStack API requests since the daemon started, by API', (s) => s.requests);
  apiGauge('gtr_zstack_errors', 'ZStack API errors since the daemon started, by API', (s) => s.errors);
  // Per request: the API name and method are bounded label values (never a VM uuid or a path).
  const apiDuration = new Histogram({
    name: 'gtr_api_request_duration_seconds',
    help: 'ZStack API requests by API and method: time to the full reply, or to the failure',
    labelNames: ['api', 'method'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const apiErrors = new Counter({
    name: 'gtr_api_errors_total',
    help: 'Failed ZStack API requests by API and kind: zstack (code: the MN\'s error code), http (code: the status), timeout or network (code: the socket error)',
    labelNames: ['api', 'kind', 'code'],
    registers: [registry],
  });
  registerRolloutMetrics(registry, sources.ledger);
  registerStatusMetrics(registry, sources.ledger, () => lastObservedRun(sources.ledger())?.counts ?? {});
  const leader = sources.leader ?? ALWAYS_LEADER;
  new Gauge({
    name: 'gtr_leader',
    help: '1 while this node is the leader of its pair of management nodes (ha.leaderCheck; always 1 with "none"), 0 while standby',
    registers: [registry],
    collect() {
      this.set(leader.role(Date.now()) === 'leader' ? 1 : 0);
    },
  });

  const reloads = new Counter({ name: 'gtr_config_reloads_total', help: 'Config reloads (SIGHUP) by result: ok, or failed (the running configuration was kept)', labelNames: ['result'], registers: [registry] });
  const reloadFailed = new Gauge({
    name: 'gtr_config_reload_failed',
    help: '1 when the last config reload failed: the daemon runs its previous configuration, and a restart would refuse to start until the file is fixed',
    registers: [registry],
  });
  reloadFailed.set(0);
  new Gauge({
    name: 'gtr_daemon_problem',
    help: '1 while the daemon runs degraded for this reason (iso-folder: not usable, retried; status-port: not free, retried; config-reload: the last reload failed)',
    labelNames: ['problem'],
    registers: [registry],
    collect() {
      const now = sources.problems?.() ?? [];
      for (const problem of DAEMON_PROBLEMS) this.set({ problem }, now.includes(problem) ? 1 : 0);
    },
  });

  const observeRequest: RequestObserver = (api, method, seconds, failure) => {
    counts.observe(api, method, seconds, failure);
    apiDuration.observe({ api, method }, seconds);
    if (failure) apiErrors.inc({ api, kind: failure.kind, code: failure.code });
  };

  return {
    registry,
    observeRequest,
    recordRun(report: Pick<RunReport, 'status' | 'counts' | 'bookkeepingFailures' | 'stages'>, seconds: number, finishedAt: number) {
      runs.inc({ status: report.status });
      bookkeepingFailures.inc(report.bookkeepingFailures?.length ?? 0);
      duration.observe(seconds);
      lastRunAt.set(finishedAt / 1000);
      if (!['failed', 'halted', 'interrupted'].includes(report.status)) lastSuccessAt.set(finishedAt / 1000);
      const c = report.counts;
      for (const outcome of ['verified', 'attached', 'failed', 'in-doubt', 'not-started', 'interrupted'] as const) attaches.inc({ outcome }, c[outcome] ?? 0);
      attachesVerifiedByTag.inc(c.verifiedByTag ?? 0);
      const stages = report.stages;
      if (stages) {
        // install-failed: the evidence read in this run and the MN's refusals of the call.
        installs.inc({ outcome: 'started' }, stages.install.started);
        installs.inc({ outcome: 'verified' }, stages.install.verified);
        installs.inc({ outcome: 'install-failed' }, stages.install.installFailed);
        installs.inc({ outcome: 'no-evidence' }, stages.install.noEvidence);
        detaches.inc({ outcome: 'detached' }, stages.detach.detached);
        detaches.inc({ outcome: 'detach-failed' }, stages.detach.failed);
        detaches.inc({ outcome: 'in-doubt' }, stages.detach.inDoubt);
      }
    },
    recordReload(ok: boolean) {
      reloads.inc({ result: ok ? 'ok' : 'failed' });
      reloadFailed.set(ok ? 0 : 1);
    },
    recordFailedRun(finishedAt: number, seconds: number) {
      runs.inc({ status: 'failed' });
      duration.observe(seconds);
      lastRunAt.set(finishedAt / 1000);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
