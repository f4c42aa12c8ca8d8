// Apply: the only code that changes ZStack. Attaches run with bounded concurrency and a per-host bound;
// before each starts, the gates (the error budget first) may defer it. Each attach is written to the ledger before the PUT (with the job uuid we chose)
// and after it, so a crash leaves a job uuid to poll instead of a doubt to resend.
import type { Logger } from 'pino';
import { errorToJson, GtrError, ZStackApiError, type ZStackErrorBody } from '../errors.js';
import type { Decision } from '../plan/plan.js';
import type { DeferReason } from '../plan/reasons.js';
import { ErrorBudgetGate, firstRefusal, type AttachGate, type AttachObserver } from '../reconcile/gates.js';
import { GroupCommit, type BatchingLedger } from './group-commit.js';
import { HostQueue } from './host-queue.js';

export interface AttachClient {
  attachGuestToolsIso(
    vmUuid: string,
    opts: { jobUuid: string; systemTags?: string[]; onResend?: (newJobUuid: string) => void },
  ): Promise<void>;
}

export interface AttachLedger extends BatchingLedger {
  beginAttach(runId: number, vmUuid: string, jobUuid: string, target: string, now: number, tagged: boolean): void;
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
  /** Halt when failures exceed this number (the run's error budget gate). */
  maxErrors: number;
  recordVersionTag: boolean;
  quarantine: { afterFailures: number; baseMs: number; maxMs: number };
  newJobUuid: () => string;
  now: () => number;
  logger: Logger;
  onProgress?: (done: number, total: number, failed: number) => void;
  /** Asked before each attach starts, after the error budget (src/reconcile/gates.ts); the first refusal defers it. */
  gates?: readonly AttachGate[];
  /** Told each started attach's outcome, in the transaction that records it. */
  observers?: readonly AttachObserver[];
}

export interface AttachResult {
  outcome: 'attached' | 'failed';
  error: ZStackErrorBody | null;
  jobUuid: string;
}

export interface ApplyResult {
  results: Map<string, AttachResult>;
  /** Attaches a gate kept from starting, with its reason (recorded as defers in the ledger). */
  deferred: Map<string, DeferReason>;
  /** Attaches whose calls were abandoned at shutdown (PUT sent, job unresolved); polled at the next start. */
  abandoned: { vmUuid: string; jobUuid: string }[];
  /** The reason of the gate that stopped the run (shutdown, lease-lost, budget-halted), if one did. */
  stoppedBy: DeferReason | null;
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
  const deferred = new Map<string, DeferReason>();
  const running = new Set<Promise<void>>();
  const abandoned: ApplyResult['abandoned'] = [];
  const budget = new ErrorBudgetGate(opts.maxErrors);
  const gates: AttachGate[] = [budget, ...(opts.gates ?? [])];
  const runStoppers = gates.filter((g) => g.stopsRun === true);
  const observers: AttachObserver[] = [budget, ...(opts.observers ?? [])];
  let failed = 0;
  let stoppedBy: DeferReason | null = null;
  const refusedBy = new Set<string>();
  /** What an attach threw outside its ZStack call (a ledger write): stops the run, rethrown once in-flight calls end. */
  let ledgerFailure: { error: unknown } | null = null;
  let wake: () => void = () => {};
  const commits = new GroupCommit(ledger, () => {
    for (const gate of gates) gate.refresh?.();
  });

  const noteRefusal = (gate: AttachGate, reason: DeferReason) => {
    if (gate.stopsRun && stoppedBy === null) {
      stoppedBy = reason;
      opts.logger.warn({ gate: gate.name, reason, failed: budget.failed, maxErrors: opts.maxErrors }, 'no further attach starts in this run');
    } else if (!refusedBy.has(gate.name)) {
      refusedBy.add(gate.name);
      opts.logger.info({ gate: gate.name, reason }, 'a gate deferred attaches of this run');
    }
  };

  const attachOne = async (decision: Decision): Promise<void> => {
    // Plain fields rather than a child logger per attach: the same log lines, far less garbage.
    const at = { vmUuid: decision.vmUuid, target: decision.target };
    let jobUuid = opts.newJobUuid();
    const target = decision.target as string;
    // The gates' last word and the attach's row share one transaction, committed before the PUT below.
    const refusal = await commits.begin(() => {
      const refused = firstRefusal(gates, decision, opts.now());
      if (refused) ledger.deferDecisions(opts.runId, [decision.vmUuid], refused.reason);
      else ledger.beginAttach(opts.runId, decision.vmUuid, jobUuid, target, opts.now(), opts.recordVersionTag);
      return refused;
    });
    if (refusal) {
      deferred.set(decision.vmUuid, refusal.reason);
      noteRefusal(refusal.gate, refusal.reason);
      return;
    }
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
        abandoned.push({ vmUuid: decision.vmUuid, jobUuid });
        return;
      }
      result = { outcome: 'failed', error: errorToJson(error), jobUuid };
      inDoubt = isInDoubt(error);
      failed++;
      opts.logger.warn({ ...at, jobUuid, error: result.error }, 'attach failed');
    }
    const outcome = { failed: result.outcome === 'failed', errorCode: result.error?.code ?? null };
    commits.finish(() => {
      const now = opts.now();
      ledger.finishAttach(opts.runId, decision.vmUuid, { outcome: result.outcome, error: result.error, now, quarantine: opts.quarantine, inDoubt });
      for (const observer of observers) observer.onOutcome(decision, outcome, now);
    });
    results.set(decision.vmUuid, result);
    opts.onProgress?.(results.size, attaches.length, failed);
  };

  /** A gate that stops the run refuses the next attach already: stop taking from the queue. */
  const held: Decision[] = [];
  const takeNext = (): Decision | null => {
    const next = queue.take();
    if (next === null) return null;
    const refused = firstRefusal(runStoppers, next, opts.now());
    if (!refused) return next;
    queue.done(next);
    held.push(next);
    noteRefusal(refused.gate, refused.reason);
    return null;
  };

  const stopped = () => stoppedBy !== null || ledgerFailure !== null;
  while (!stopped() && (queue.pending > 0 || running.size > 0)) {
    let next: Decision | null;
    while (!stopped() && running.size < opts.maxConcurrency && (next = takeNext()) !== null) {
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
  if (ledgerFailure) throw (ledgerFailure as { error: unknown }).error;
  commits.flush();

  const rest = [...held, ...queue.drain()].map((d) => d.vmUuid);
  const reason: DeferReason | null = stoppedBy;
  if (rest.length > 0 && reason !== null) {
    ledger.deferDecisions(opts.runId, rest, reason);
    for (const vmUuid of rest) deferred.set(vmUuid, reason);
  }
  return { results, deferred, abandoned, stoppedBy: reason, halted: budget.exceeded, failed };
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
