// Apply: the attaches of a run, with bounded concurrency and a per-host bound. Each starts through the
// run's start path (start-path.ts): the gates (the error budget among them) and the fence are asked and
// the attach's row is written with the job uuid we chose, in one transaction, before the PUT; the
// outcome is written after it. A crash leaves a job uuid to poll instead of a doubt to resend.
import type { Logger } from 'pino';
import { errorToJson, GtrError, ZStackApiError, type ZStackErrorBody } from '../errors.js';
import type { Decision } from '../plan/plan.js';
import type { DeferReason } from '../plan/reasons.js';
import { firstRefusal, type AttachGate, type AttachObserver } from '../plan/gates.js';
import { ErrorBudgetGate } from './error-budget.js';
import type { ActionOptions, ActionResult } from '../zstack/client.js';
import { OPERATION_TIMEOUT } from '../zstack/reply.js';
import type { BatchingLedger } from './group-commit.js';
import { HostQueue } from './host-queue.js';
import type { Refusal, StartAnswer, StartPath } from './start-path.js';

interface AttachClient {
  attachGuestToolsIso(vmUuid: string, opts: ActionOptions): Promise<ActionResult>;
}

interface AttachLedger extends BatchingLedger {
  beginAttach(runId: number, vmUuid: string, jobUuid: string, target: string, now: number, tagged: boolean): void;
  replaceJobUuid(runId: number, vmUuid: string, jobUuid: string): void;
  /** A started attach the MN rejected unrun (ID.1001) whose re-send a gate refused: a defer after all. */
  unstartAttach(runId: number, vmUuid: string, reason: string, why: string): void;
  finishAttach(
    runId: number,
    vmUuid: string,
    r: {
      outcome: AttachOutcome;
      error: ZStackErrorBody | null;
      now: number;
      quarantine: { afterFailures: number; baseMs: number; maxMs: number };
    },
  ): void;
  /** An attach whose call failed before any PUT (its login): failed in this run, nothing recorded against the VM. */
  failUnstarted(runId: number, vmUuid: string, error: ZStackErrorBody | null, now: number): void;
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
  /** The run's one start path (its fence and gates); apply adds the error budget. */
  start: StartPath;
  /** Told each started attach's outcome, in the transaction that records it. */
  observers?: readonly AttachObserver[];
}

/**
 * `in-doubt`: the PUT went out and the MN may have run it, but the run could not learn the result (a lost
 * job, an MN restart, a poll without answer, the MN's timeout SYS.1001). Never a failure: not counted
 * against the error budget, and the VM waits reattachAfter like after an attach that went through.
 */
type AttachOutcome = 'attached' | 'failed' | 'in-doubt';

interface AttachResult {
  outcome: AttachOutcome;
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
  inDoubt: number;
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
  const start = opts.start.withGates([budget]);
  const runStoppers = start.allGates.filter((g) => g.stopsRun === true);
  const observers: AttachObserver[] = [budget, ...(opts.observers ?? [])];
  let failed = 0;
  let inDoubt = 0;
  let stoppedBy: DeferReason | null = null;
  const refusedBy = new Set<string>();
  /** What an attach threw outside its ZStack call (a ledger write): stops the run, rethrown once in-flight calls end. */
  let ledgerFailure: { error: unknown } | null = null;
  let wake: () => void = () => {};

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
    const target = decision.target as string;
    let jobUuid = '';
    let refusal: Refusal | null = null;
    let ledgerError: { error: unknown } | null = null;
    // Asked by the client right before each PUT (src/apply/start-path.ts): the first start records the
    // attach's row, a re-send after ID.1001 its new job uuid; a refusal of either is a defer.
    const permit = async (attempt: 'first' | 'resend') => {
      const next = opts.newJobUuid();
      let answer: StartAnswer;
      try {
        answer = await start.start({
          api: 'AttachGuestToolsIsoToVm',
          subject: decision,
          jobUuid: next,
          record: () => {
            if (attempt === 'first') ledger.beginAttach(opts.runId, decision.vmUuid, next, target, opts.now(), opts.recordVersionTag);
            else ledger.replaceJobUuid(opts.runId, decision.vmUuid, next);
          },
          refused: (r) => {
            if (attempt === 'first') ledger.deferDecisions(opts.runId, [decision.vmUuid], r.reason);
            else ledger.unstartAttach(opts.runId, decision.vmUuid, r.reason, `the MN rejected the attach unrun (session expired, ID.1001); not sent again: ${r.gate.name} refused`);
          },
        });
      } catch (error) {
        ledgerError = { error };
        throw error;
      }
      if (answer.permit) jobUuid = next;
      else refusal = answer.refusal;
      return answer.permit;
    };
    let result: AttachResult;
    try {
      const sent = await client.attachGuestToolsIso(decision.vmUuid, {
        permit,
        systemTags: opts.recordVersionTag ? [`GuestTools::${target}`] : [],
      });
      if (sent === 'refused') {
        const r = refusal as Refusal | null;
        if (r === null) throw new Error(`apply: attach of ${decision.vmUuid} refused without a refusal`);
        deferred.set(decision.vmUuid, r.reason);
        noteRefusal(r.gate, r.reason);
        return;
      }
      result = { outcome: 'attached', error: null, jobUuid };
      opts.logger.info({ ...at, jobUuid }, 'attach finished');
    } catch (error) {
      if (ledgerError) throw (ledgerError as { error: unknown }).error; // stops the run
      if (error instanceof GtrError && error.code === 'GTR_ABORTED') {
        // Shutdown mid-call: the ledger keeps the job uuid as pending; the next start polls it.
        opts.logger.warn({ ...at, jobUuid }, 'attach abandoned at shutdown; its job will be polled at the next start');
        abandoned.push({ vmUuid: decision.vmUuid, jobUuid });
        return;
      }
      // Before any PUT (the login failed): a failure of this run, not of the VM.
      const doubt = jobUuid !== '' && isInDoubt(error);
      result = { outcome: doubt ? 'in-doubt' : 'failed', error: errorToJson(error), jobUuid };
      if (doubt) inDoubt++;
      else failed++;
      opts.logger.warn({ ...at, jobUuid, error: result.error }, doubt ? 'attach in doubt: it may have run; the VM waits for reattachAfter' : 'attach failed');
    }
    const outcome = { failed: result.outcome === 'failed', errorCode: result.error?.code ?? null };
    start.finish(() => {
      const now = opts.now();
      if (result.jobUuid === '') ledger.failUnstarted(opts.runId, decision.vmUuid, result.error, now);
      else ledger.finishAttach(opts.runId, decision.vmUuid, { outcome: result.outcome, error: result.error, now, quarantine: opts.quarantine });
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
  start.flush();

  const rest = [...held, ...queue.drain()].map((d) => d.vmUuid);
  const reason: DeferReason | null = stoppedBy;
  if (rest.length > 0 && reason !== null) {
    ledger.deferDecisions(opts.runId, rest, reason);
    for (const vmUuid of rest) deferred.set(vmUuid, reason);
  }
  return { results, deferred, abandoned, stoppedBy: reason, halted: budget.exceeded, failed, inDoubt };
}

/**
 * Did the attach fail without the management node saying it did not happen? A ZStack error (from the
 * PUT or its job) or a request that provably never left this host is a real failure; a job timeout, a
 * lost job, a poll that got no answer, or the MN's own operation timeout (SYS.1001: the host may still
 * finish it) leaves the attach possibly running, so it must not be sent again soon.
 */
export function isInDoubt(error: unknown): boolean {
  if (error instanceof ZStackApiError) return error.zstack.code === OPERATION_TIMEOUT;
  // A login comes before the PUT, or after the MN rejected it unrun (ID.1001): nothing ran either way.
  if (error instanceof GtrError && error.details.api === 'LogInByAccount') return false;
  // `sent: false` on a job poll says nothing about the PUT before it.
  return !(error instanceof GtrError && error.details.sent === false && error.details.api !== 'QueryJob');
}
