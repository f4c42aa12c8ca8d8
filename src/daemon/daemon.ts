// `gtr daemon`: the scheduled background service. Each tick is one run of the same pipeline as
// `gtr reconcile`, under the shared lease. SIGTERM/SIGINT stop cleanly, SIGHUP reloads the config.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { loadConfig, redactedConfig } from '../config/load.js';
import { EXIT_DRAIN_MS, notifierFromConfig, type Notifier } from '../notify/from-config.js';
import type { Config } from '../config/schema.js';
import { scanCatalog } from '../catalog/scan.js';
import { ConfigError, errorToJson, GtrError, messageOf } from '../errors.js';
import { Ledger } from '../ledger/index.js';
import { createLogger } from '../log.js';
import { Leadership } from './leadership.js';
import { runPass } from '../reconcile/pass.js';
import { SHUTDOWN_GRACE_MS } from '../reconcile/shutdown.js';
import { DAEMON_ACTOR } from '../rollout/actor.js';
import type { ZStackClient } from '../zstack/client.js';
import { clientFromConfig, requireCredentials } from '../zstack/from-config.js';
import { createMetrics, type Metrics } from './metrics.js';
import { startSchedule, type Schedule } from '../schedule/cron.js';
import { createAuthenticator } from './http-auth.js';
import { renderStatusPage } from './status-page/index.js';
import { ledgerRoutes } from './status-routes.js';
import { startStatusServer } from './status-server.js';
import { LedgerSync } from '../ha/ledger-sync.js';
import { peerRoutes } from './peer-routes.js';
import { DAEMON_RETRY, RetryLoop } from './retry-loop.js';
import { removeDaemonState, writeDaemonState, type ConfigReloadState, type DaemonProblem, type DaemonProblemKind } from './daemon-state.js';

/** An unusable ISO folder (missing, unreadable, empty): the daemon runs degraded and retries. */
function isCatalogError(error: unknown): error is GtrError {
  return error instanceof GtrError && (error.code === 'GTR_CATALOG_EMPTY' || error.code === 'GTR_CATALOG_UNUSABLE');
}

/** A status port another process holds (an old instance still stopping) or an address not up yet: retried. */
function isListenTransient(error: unknown): boolean {
  const cause = error instanceof GtrError ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  return cause?.code === 'EADDRINUSE' || cause?.code === 'EADDRNOTAVAIL';
}

/** /healthz says degraded (503, problem ticks-failing) once this many scheduled runs failed in a row. */
export const FAILED_TICKS_DEGRADED = 3;

interface DaemonOptions {
  configFile: string | null;
  env: NodeJS.ProcessEnv;
}

export class Daemon {
  private config: Config;
  private readonly logger: Logger;
  private readonly ledger: Ledger;
  private client: ZStackClient;
  private staleClient: ZStackClient | null = null;
  private readonly metrics: Metrics;
  /** ha.leaderCheck as configured at start (a reload does not change it). */
  private readonly leadership: Leadership;
  /** The ledger mirror between the two nodes (ha.peer); null without a peer. */
  private sync: LedgerSync | null = null;
  private schedule: Schedule | null = null;
  private http: Awaited<ReturnType<typeof startStatusServer>> | null = null;
  private current: Promise<void> | null = null;
  private runStartedAt: number | null = null;
  private stopping = false;
  /** Bookkeeping steps after the last run that failed (the run kept its record): /healthz shows them. */
  private bookkeepingProblems: string[] = [];
  /**
   * The ISO catalog is unusable (empty, missing) at start or at the last tick: /healthz says so until a
   * tick succeeds or the retry loop finds the folder usable again.
   */
  private catalogProblem: string | null = null;
  private readonly catalogRetry: RetryLoop;
  /** The status port could not be bound (busy, address not up yet): retried by listenRetry. */
  private portProblem: string | null = null;
  /** Scheduled runs that failed in a row (the lease held by another run is no failure), and the last error. */
  private failedTicks: { count: number; lastError: string | null } = { count: 0, lastError: null };
  private listenRetry: RetryLoop | null = null;
  /** The last SIGHUP: a failed one keeps the running configuration and makes /healthz unhealthy until a good one. */
  private reloadState: ConfigReloadState | null = null;
  private readonly problemSince = new Map<DaemonProblemKind, string>();
  private readonly startedAt = new Date().toISOString();
  /** Aborted at SIGTERM: no new attaches start. */
  private readonly stopStarting = new AbortController();
  /** Aborted when the grace period ends: calls in flight are abandoned (their jobs are polled at the next start). */
  private readonly abandonCalls = new AbortController();

  private constructor(
    private readonly opts: DaemonOptions,
    config: Config,
    logger: Logger,
    /** notify.webhooks as configured at start (a reload does not change them). */
    private readonly notifier: Notifier,
  ) {
    this.config = config;
    this.logger = logger;
    this.ledger = Ledger.open(config.database);
    this.leadership = new Leadership(config, opts.env, logger);
    this.metrics = createMetrics({
      ledger: () => this.ledger,
      leader: this.leadership,
      problems: () => this.problems().map((p) => p.kind),
    });
    this.client = this.newClient(config);
    this.catalogRetry = new RetryLoop(() => this.retryCatalog(), {
      ...DAEMON_RETRY,
      onWait: (delayMs) => this.logger.info({ isoDir: this.config.isoDir, retryInMs: delayMs }, 'waiting for the ISO folder'),
    });
  }

  /** Validates everything a run needs before serving: config, database, ISO folder, password, listen address. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const { config, warnings, source, httpCredentials, webhookSecrets, haToken } = loadConfig({ file: opts.configFile, env: opts.env });
    const logger = createLogger({ level: config.log.level, destination: 'stdout', name: 'gtr-daemon' });
    for (const warning of warnings) logger.warn({ warning }, 'configuration warning');
    logger.info({ source, config: redactedConfig(config) }, 'effective configuration');
    requireCredentials(config);
    // A missing or empty ISO folder is not a configuration error: the daemon runs degraded and retries.
    let catalogProblem: string | null = null;
    try {
      await scanCatalog(config.isoDir, { allowPrerelease: config.policy.allowPrerelease });
    } catch (error) {
      if (!isCatalogError(error)) throw error;
      catalogProblem = `${error.code}: ${error.message}`;
      logger.warn({ error: errorToJson(error) }, 'the ISO folder is not usable: running degraded (unhealthy) and retrying');
    }
    const daemon = new Daemon(opts, config, logger, notifierFromConfig(config, webhookSecrets, logger));
    if (catalogProblem !== null) daemon.setCatalogProblem(catalogProblem);
    // Runs left behind by a dead process are marked now; their job uuids are polled on the first tick.
    const { runIds } = daemon.ledger.markInterruptedRuns(Date.now());
    if (runIds.length > 0) logger.warn({ runIds }, 'marked interrupted runs');
    if (config.ha.peer !== null && haToken !== null) {
      daemon.sync = new LedgerSync({
        peer: { url: config.ha.peer, token: haToken },
        syncIntervalMs: config.ha.syncIntervalMs,
        ledger: () => daemon.ledger,
        roles: daemon.leadership,
        logger,
        runInProgress: () => daemon.current !== null,
      });
    }
    const sync = daemon.sync;
    const listen = () => startStatusServer(config.http.listen, {
      health: () => daemon.health(),
      metrics: async () => ({ contentType: daemon.metrics.registry.contentType, body: await daemon.metrics.registry.metrics() }),
      ...ledgerRoutes(() => daemon.ledger, () => daemon.config, (now) => daemon.leadership.status(now)),
    }, {
      auth: httpCredentials ? createAuthenticator(httpCredentials) : null,
      pages: renderStatusPage,
      peer: sync && haToken !== null
        ? peerRoutes({ token: haToken, ledger: () => daemon.ledger, facts: (now) => sync.facts(now), busy: () => sync.busy, logger })
        : undefined,
    });
    try {
      daemon.http = await listen();
    } catch (error) {
      if (!isListenTransient(error)) {
        await daemon.catalogRetry.stop();
        await daemon.client.close();
        daemon.ledger.close();
        throw error;
      }
      // An old instance still stopping, a VIP not up yet: run (ticks go on) and bind the port once it is free.
      daemon.portProblem = `status port: ${(error as Error).message}; retrying`;
      logger.warn({ listen: config.http.listen, error: errorToJson(error) }, 'the status port is not free: running degraded and retrying');
      daemon.listenRetry = new RetryLoop(() => daemon.retryListen(listen), {
        ...DAEMON_RETRY,
        onWait: (delayMs) => logger.info({ listen: config.http.listen, retryInMs: delayMs }, 'waiting for the status port'),
      });
      daemon.listenRetry.start();
    }
    daemon.leadership.start();
    daemon.sync?.start();
    daemon.schedule = startSchedule(config.schedule, () => daemon.tick());
    daemon.publish();
    logger.info({ listen: daemon.http?.url ?? null, cron: config.schedule.cron, timezone: config.schedule.timezone, nextRun: daemon.schedule.nextRun(),
      problems: daemon.problems() }, 'daemon started');
    return daemon;
  }

  /** What keeps this daemon from being healthy while it runs (the ISO folder, the status port, a failed reload). */
  problems(): DaemonProblem[] {
    const out: DaemonProblem[] = [];
    const add = (kind: DaemonProblemKind, reason: string | null) => {
      if (reason === null) {
        this.problemSince.delete(kind);
        return;
      }
      const since = this.problemSince.get(kind) ?? new Date().toISOString();
      this.problemSince.set(kind, since);
      out.push({ kind, reason, since });
    };
    add('iso-folder', this.catalogProblem);
    add('status-port', this.portProblem);
    add('ticks-failing', this.failedTicks.count >= FAILED_TICKS_DEGRADED
      ? `the last ${this.failedTicks.count} scheduled runs failed (the last: ${this.failedTicks.lastError ?? 'unknown'}); the next tick tries again`
      : null);
    const r = this.reloadState;
    add('config-reload', r && !r.ok
      ? `config reload failed at ${r.at}: ${r.error ?? ''}; still running the previous configuration (a restart would refuse to start until the file is fixed)`
      : null);
    return out;
  }

  /** Rewrites daemon-status.json (for `gtr status`); a failure is logged, never fatal. */
  private publish(): void {
    if (this.stopping) return;
    try {
      writeDaemonState(this.config.database, {
        pid: process.pid, host: hostname(), startedAt: this.startedAt, updatedAt: new Date().toISOString(),
        listen: this.http?.url ?? null, problems: this.problems(), configReload: this.reloadState,
      });
    } catch (error) {
      this.logger.warn({ error: messageOf(error) }, 'cannot write daemon-status.json beside the database');
    }
  }

  /** A tick's result: null when it ran, else why it failed; crossing FAILED_TICKS_DEGRADED (or clearing it) is published. */
  private countTick(failure: string | null): void {
    const was = this.failedTicks.count >= FAILED_TICKS_DEGRADED;
    this.failedTicks = failure === null ? { count: 0, lastError: null } : { count: this.failedTicks.count + 1, lastError: failure };
    if (was !== this.failedTicks.count >= FAILED_TICKS_DEGRADED || (was && failure !== null)) this.publish();
  }

  private setCatalogProblem(reason: string | null): void {
    if (reason === this.catalogProblem) return;
    this.catalogProblem = reason;
    if (reason !== null) this.catalogRetry.start();
    this.publish();
  }

  private async retryCatalog(): Promise<boolean> {
    if (this.catalogProblem === null || this.stopping) return true;
    try {
      await scanCatalog(this.config.isoDir, { allowPrerelease: this.config.policy.allowPrerelease });
    } catch (error) {
      if (!isCatalogError(error)) throw error;
      this.catalogProblem = `${error.code}: ${error.message}`;
      return false;
    }
    this.logger.info({ isoDir: this.config.isoDir }, 'the ISO folder is usable again');
    this.setCatalogProblem(null);
    return true;
  }

  private async retryListen(listen: () => ReturnType<typeof startStatusServer>): Promise<boolean> {
    if (this.stopping) return true;
    try {
      this.http = await listen();
    } catch (error) {
      this.portProblem = `status port: ${(error as Error).message}; retrying`;
      return false;
    }
    this.portProblem = null;
    this.logger.info({ listen: this.http.url }, 'status server listening');
    this.publish();
    return true;
  }

  get url(): string {
    return this.http?.url ?? '';
  }

  health() {
    const now = Date.now();
    const stuckAfterMs = this.config.zstack.jobTimeoutMs * 2;
    const last = this.ledger.lastRun();
    const ha = this.leadership.status(now);
    const facts = {
      scheduler: this.schedule?.alive() ? 'running' : 'stopped',
      runInProgressSince: this.runStartedAt === null ? null : new Date(this.runStartedAt).toISOString(),
      nextRun: this.schedule?.nextRun()?.toISOString() ?? null,
      lastRun: last ? { id: last.id, status: last.status, finishedAt: last.finishedAt } : null,
      role: ha.role,
      ha: this.sync ? { ...ha, sync: this.sync.health(now) } : ha,
      bookkeepingFailures: this.bookkeepingProblems,
      problems: this.problems(),
      configReload: this.reloadState,
    };
    if (this.stopping) return { ok: false, reason: 'shutting down', ...facts };
    if (!this.schedule?.alive()) return { ok: false, reason: 'scheduler is not running', ...facts };
    const [problem] = facts.problems;
    if (problem) return { ok: false, reason: problem.reason, ...facts };
    if (ha.checkFailed) return { ok: false, reason: `the leader check failed: ${ha.reason}`, ...facts };
    const catchingUp = this.sync?.health(now).reason;
    if (catchingUp) return { ok: false, reason: `leader not attaching yet: ${catchingUp}`, ...facts };
    if (this.runStartedAt !== null && now - this.runStartedAt > stuckAfterMs) {
      return { ok: false, reason: `run stuck for more than ${Math.round(stuckAfterMs / 1000)} s (2 x zstack.jobTimeoutMs)`, ...facts };
    }
    return { ok: true, ...facts };
  }

  /** One scheduled run; skipped while another tick of this daemon runs or when stopping. */
  async tick(): Promise<void> {
    // Not while the ledger is being replaced by the peer's snapshot: the run would write under it.
    if (this.stopping || this.current || this.sync?.busy) return;
    this.current = this.runOnce().finally(() => {
      this.current = null;
      this.runStartedAt = null;
    });
    await this.current;
  }

  private async runOnce(): Promise<void> {
    // A standby skips the whole tick; the role change was logged once by the leadership.
    if (!(await this.leadership.leadsNow())) return;
    // A new leader catching up from its peer skips the tick too (the sync logs why, /healthz says it):
    // a run now would keep the ledger busy, and the snapshot may not replace it under a run.
    if (this.sync?.health(Date.now()).reason) return;
    const started = Date.now();
    this.runStartedAt = started;
    if (this.staleClient) {
      await this.staleClient.close();
      this.staleClient = null;
    }
    const now = () => Date.now();
    const { config, client, ledger, logger } = this;
    try {
      const { report } = await runPass({ config, client, ledger, logger, now, events: this.notifier }, {
        trigger: 'schedule', dryRun: false, leasePurpose: 'daemon', actor: DAEMON_ACTOR,
        stopStarting: this.stopStarting.signal, leader: this.leadership,
        gates: this.sync ? [this.sync.gate()] : [],
      });
      this.setCatalogProblem(null);
      this.countTick(report.status === 'failed' ? `run #${report.runId} failed${report.message ? `: ${report.message}` : ''}` : null);
      this.bookkeepingProblems = report.bookkeepingFailures ?? [];
      this.metrics.recordRun(report, (Date.now() - started) / 1000, Date.now());
      logger.info({ runId: report.runId, status: report.status, counts: report.counts, message: report.message, seconds: (Date.now() - started) / 1000 }, 'run summary');
    } catch (error) {
      if (error instanceof GtrError && error.code === 'GTR_LEASE_HELD') {
        logger.warn({ holder: error.details.holder }, 'tick skipped: another run holds the lease');
        return;
      }
      if (isCatalogError(error)) this.setCatalogProblem(`${error.code}: ${error.message}`);
      this.countTick(error instanceof GtrError ? `${error.code}: ${error.message}` : messageOf(error));
      this.metrics.recordFailedRun(Date.now(), (Date.now() - started) / 1000);
      logger.error({ error: errorToJson(error) }, 'run failed; the next tick tries again');
    }
  }

  /**
   * SIGHUP: re-read the config; an invalid one is reported (log, /healthz, the page, `gtr status`, the
   * gtr_config_reload_failed metric) and the running one kept.
   */
  async reload(): Promise<void> {
    let next: Config;
    const at = new Date().toISOString();
    try {
      const loaded = loadConfig({ file: this.opts.configFile, env: this.opts.env });
      requireCredentials(loaded.config);
      next = loaded.config;
      for (const warning of loaded.warnings) this.logger.warn({ warning }, 'configuration warning');
    } catch (error) {
      const message = messageOf(error);
      // The keys of an invalid config, never their values (a secret may be among them).
      const invalid = error instanceof ConfigError ? { invalidKeys: error.problems.map((p) => p.key) } : {};
      this.logger.error({ error: message, ...invalid }, 'config reload failed; keeping the running configuration');
      this.reloadState = { at, ok: false, error: message };
      this.metrics.recordReload(false);
      this.publish();
      return;
    }
    this.reloadState = { at, ok: true, error: null };
    this.metrics.recordReload(true);
    const old = this.config;
    if (next.database !== old.database || next.http.listen !== old.http.listen || JSON.stringify(next.notify) !== JSON.stringify(old.notify) ||
      JSON.stringify(next.ha) !== JSON.stringify(old.ha)) {
      this.logger.warn({ keys: ['database', 'http.listen', 'notify.webhooks', 'ha.*'] }, 'these keys change only at restart; keeping their running values');
    }
    this.config = { ...next, database: old.database, http: old.http, notify: old.notify, ha: old.ha };
    this.logger.level = next.log.level;
    if (JSON.stringify(next.zstack) !== JSON.stringify(old.zstack)) {
      // A run may still use the current client, so it is closed before the next tick. If an older one is
      // already waiting for that, no tick ran since, and the current client was never used: close it now.
      if (this.staleClient) void this.client.close();
      else this.staleClient = this.client;
      this.client = this.newClient(next);
    }
    if (JSON.stringify(next.schedule) !== JSON.stringify(old.schedule) && this.schedule && !this.stopping) {
      await this.schedule.stop();
      this.schedule = startSchedule(next.schedule, () => this.tick());
    }
    this.logger.info({ config: redactedConfig(this.config), nextRun: this.schedule?.nextRun() }, 'configuration reloaded');
    this.publish();
  }

  /** First SIGTERM/SIGINT: stop scheduling, let in-flight attaches finish (bounded), record, close. */
  async stop(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.info({ runInProgress: this.current !== null, graceMs }, 'stopping');
    await this.catalogRetry.stop();
    await this.listenRetry?.stop();
    await this.schedule?.stop();
    this.leadership.stop();
    await this.sync?.stop();
    this.stopStarting.abort();
    const grace = setTimeout(() => this.abandonCalls.abort(), graceMs);
    try {
      await this.current;
    } finally {
      clearTimeout(grace);
    }
    await this.http?.close();
    await this.client.close();
    await this.staleClient?.close();
    this.ledger.close();
    removeDaemonState(this.config.database);
    // The last run's events (a halted or interrupted run) still go out, within a bound.
    await this.notifier.close(EXIT_DRAIN_MS);
    this.logger.info('stopped');
  }

  private newClient(config: Config): ZStackClient {
    return clientFromConfig(config, this.logger, this.abandonCalls.signal, this.metrics.observeRequest);
  }
}
