// Apply: the only code that changes ZStack. Attaches run with bounded concurrency, a per-host bound and
// an error budget. Each attach is written to the ledger before the PUT (with the job uuid we chose)
// and after it, so a crash leaves a job uuid to poll instead of a doubt to resend.
import type { Logger } from 'pino';
import { errorToJson, GtrError, ZStackApiError, type ZStackErrorBody } from '../errors.js';
import type { Decision } from '../plan/plan.js';
import { GroupCommit, type BatchingLedger } from './group-commit.js';
import { HostQueue } from './host-queue.js';

export interface AttachClient {
  attachGuestToolsIso(
    vmUuid: string,
    opts: { jobUuid: string; systemTags?: string[]; onResend?: (newJobUuid: string) => void },
  ): Promise<void>;
}

export interface AttachLedger extends BatchingLedger {
  beginAttach(runId: number, vmUuid: string, jobUuid: string, target: string, now: number): void;
  replaceJobUuid(runId: number, vmUuid: string, jobUuid: string): void;
  finishAttach(
    runId: number,
    vmUuid: string,
    r: {
      outcome: 'attached' | 'failed';
      error: ZStackErrorBody | null;
      now: number;
      quarantine: { afterFailures: number; baseMs: number; maxMs: number };
      inDoubt?: boolean;
    },
  ): void;
  deferDecisions(runId: number, vmUuids: string[], reason: string): void;
}

export interface ApplyOptions {
  runId: number;
  maxConcurrency: number;
  maxPerHost: number;
  /** Halt when failures exceed this number. */
  maxErrors: number;
  recordVersionTag: boolean;
  quarantine: { afterFailures: number; baseMs: number; maxMs: number };
  newJobUuid: () => string;
  now: () => number;
  logger: Logger;
  onProgress?: (done: number, total: number, failed: number) => void;
  /** Stop starting new attaches (shutdown); in-flight ones finish. */
  signal?: AbortSignal;
}

export interface AttachResult {
  outcome: 'attached' | 'failed';
  error: ZStackErrorBody | null;
  jobUuid: string;
}

export interface ApplyResult {
  results: Map<string, AttachResult>;
  /** Attaches never started because the error budget ran out. */
  budgetHalted: string[];
  /** Attaches never started because of shutdown; still plain attach decisions in the ledger. */
  notStarted: string[];
  /** Attaches whose calls were abandoned at shutdown; pending in the ledger, polled at the next start. */
  abandoned: string[];
  halted: boolean;
  failed: number;
}

export async function applyAttaches(
  attaches: readonly Decision[],
  client: AttachClient,
  ledger: AttachLedger,
  opts: ApplyOptions,
): Promise<ApplyResult> {
  const queue = new HostQueue(attaches, (d) => d.hostUuid ?? `vm:${d.vmUuid}`, opts.maxPerHost);
  const results = new Map<string, AttachResult>();
  const running = new Set<Promise<void>>();
  const abandoned: string[] = [];
  let failed = 0;
  let halted = false;
  /** What an attach threw outside its ZStack call (a ledger write): stops the run, rethrown once in-flight calls end. */
  let ledgerFailure: { error: unknown } | null = null;
  let wake: () => void = () => {};
  const commits = new GroupCommit(ledger);

  const attachOne = async (decision: Decision): Promise<void> => {
    // Plain fields rather than a child logger per attach: the same log lines, far less garbage.
    const at = { vmUuid: decision.vmUuid, target: decision.target };
    let jobUuid = opts.newJobUuid();
    const target = decision.target as string;
    // Committed (with others of this turn) before the PUT below is sent.
    await commits.begin(() => ledger.beginAttach(opts.runId, decision.vmUuid, jobUuid, target, opts.now()));
    let result: AttachResult;
    let inDoubt = false;
    try {
      await client.attachGuestToolsIso(decision.vmUuid, {
        jobUuid,
        systemTags: opts.recordVersionTag ? [`GuestTools::${target}`] : [],
        onResend: (newUuid) => {
          // The interceptor rejected the first PUT (session expired): record the new job before resending.
          jobUuid = newUuid;
          ledger.replaceJobUuid(opts.runId, decision.vmUuid, newUuid);
        },
      });
      result = { outcome: 'attached', error: null, jobUuid };
      opts.logger.info({ ...at, jobUuid }, 'attach finished');
    } catch (error) {
      if (error instanceof GtrError && error.code === 'GTR_ABORTED') {
        // Shutdown mid-call: the ledger keeps the job uuid as pending; the next start polls it.
        opts.logger.warn({ ...at, jobUuid }, 'attach abandoned at shutdown; its job will be polled at the next start');
        abandoned.push(decision.vmUuid);
        return;
      }
      result = { outcome: 'failed', error: errorToJson(error), jobUuid };
      inDoubt = isInDoubt(error);
      failed++;
      opts.logger.warn({ ...at, jobUuid, error: result.error }, 'attach failed');
    }
    commits.finish(() => ledger.finishAttach(opts.runId, decision.vmUuid, {
      outcome: result.outcome,
      error: result.error,
      now: opts.now(),
      quarantine: opts.quarantine,
      inDoubt,
    }));
    results.set(decision.vmUuid, result);
    if (failed > opts.maxErrors && !halted) {
      halted = true;
      opts.logger.error({ failed, maxErrors: opts.maxErrors }, 'error budget exceeded; halting the run');
    }
    opts.onProgress?.(results.size, attaches.length, failed);
  };

  const stopped = () => halted || ledgerFailure !== null || opts.signal?.aborted === true;
  const onAbort = () => wake();
  opts.signal?.addEventListener('abort', onAbort);
  while (!stopped() && (queue.pending > 0 || running.size > 0)) {
    let next: Decision | null;
    while (!stopped() && running.size < opts.maxConcurrency && (next = queue.take()) !== null) {
      const decision = next;
      const task: Promise<void> = attachOne(decision)
        .catch((error: unknown) => {
          ledgerFailure ??= { error };
        })
        .finally(() => {
          queue.done(decision);
          running.delete(task);
          wake();
        });
      running.add(task);
    }
    if (running.size === 0) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
  await Promise.all(running);
  opts.signal?.removeEventListener('abort', onAbort);
  if (ledgerFailure) throw (ledgerFailure as { error: unknown }).error;
  commits.flush();

  const rest = queue.drain().map((d) => d.vmUuid);
  let budgetHalted: string[] = [];
  let notStarted: string[] = [];
  if (halted) {
    budgetHalted = rest;
    if (rest.length > 0) ledger.deferDecisions(opts.runId, rest, 'budget-halted');
  } else notStarted = rest;
  return { results, budgetHalted, notStarted, abandoned, halted, failed };
}

/**
 * Did the attach fail without the management node saying so? A ZStack error (from the PUT or its job)
 * or a request that provably never left this host is a real failure; a job timeout, a lost job or a
 * poll that got no answer leaves the attach possibly running, so it must not be sent again soon.
 */
export function isInDoubt(error: unknown): boolean {
  if (error instanceof ZStackApiError) return false;
  // A login comes before the PUT, or after the MN rejected it unrun (ID.1001): nothing ran either way.
  if (error instanceof GtrError && error.details.api === 'LogInByAccount') return false;
  // `sent: false` on a job poll says nothing about the PUT before it.
  return !(error instanceof GtrError && error.details.sent === false && error.details.api !== 'QueryJob');
}
