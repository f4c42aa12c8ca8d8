// The evidence of installs in the guest (DESIGN.md 2.5, 2.7), read at the start of every real run for
// the installs still `installing`. Never the script record: the record and the details only tell that
// the launcher ran (or did not: a failed detail is an `install-failed`, its errCause and stderr tail
// kept). Once install.settle has passed since the launch, the guest's state row is refreshed with
// UpdateGuestToolsState (sync, 4.6.21+): its version at the target with the agent Running verifies the
// install; else a GuestTools:: tag this reconciler did not send at the target verifies it, and the tag
// GuestTools::InstallFailed (the installer's own report) written since the launch fails it (one from an
// earlier attempt stays on the VM until the installer reports again: it is not this install's). Nothing
// by install.timeout is `failed` with `no-evidence`. A call whose job was lost is polled by its recorded
// job uuid, never sent again.
import type { Logger } from 'pino';
import { errorToJson } from '../errors.js';
import type { InstallRow, Ledger, Settlement } from '../ledger/index.js';
import { INSTALL_FAILED, readInstallFailedAt, readVersions, type QueryPort } from '../observe/inventory.js';
import { isPlainObject } from '../plain-object.js';
import { isScriptStatusRunning, scriptDetailSucceeded, type GuestToolsState, type JobCheck, type ScriptDetail } from '../zstack/client.js';
import { OPERATION_TIMEOUT } from '../zstack/reply.js';
import { writtenSince } from '../zstack/zstack-date.js';
import { sameVersion } from './verify.js';
import { appendTo } from '../multimap.js';

interface EvidenceClient extends QueryPort {
  checkJob(jobUuid: string): Promise<JobCheck>;
  scriptDetails(recordUuid: string, extra?: string[]): Promise<ScriptDetail[]>;
  updateGuestToolsState(vmUuid: string): Promise<GuestToolsState>;
}

/** One install whose evidence this run read. */
export interface SettledInstall {
  vmUuid: string;
  target: string;
  /** The run that started it. */
  startedBy: number;
  outcome: Settlement['state'];
  reason: string | null;
  verifiedBy: 'guest' | 'tag' | null;
  errCause: string | null;
  stderrTail: string | null;
}

interface EvidenceOptions {
  runId: number;
  settleMs: number;
  timeoutMs: number;
  /** zstack.recordVersionTag: a tag at the target may be ours, so tags prove nothing. */
  sentTag: boolean;
  now: () => number;
  logger: Logger;
}

/** Lines of a failed detail's stderr kept in the ledger (the agent keeps the last 1000). */
const STDERR_LINES = 20;
const STDERR_CHARS = 2000;
/** UpdateGuestToolsState calls in flight (each is one sync request per VM). */
export const REFRESH_PARALLEL = 8;

export async function settleInstalls(client: EvidenceClient, installs: Ledger['installs'], opts: EvidenceOptions): Promise<SettledInstall[]> {
  const open = installs.open();
  if (open.length === 0) return [];
  const settled: SettledInstall[] = [];
  const settle = (row: InstallRow, s: Omit<Settlement, 'now' | 'runId'>) => {
    if (!installs.settle(row.vmUuid, row.target, { ...s, now: opts.now(), runId: opts.runId })) return;
    settled.push({
      vmUuid: row.vmUuid, target: row.target, startedBy: row.runId, outcome: s.state, reason: s.reason,
      verifiedBy: s.verifiedBy ?? null, errCause: s.errCause ?? null, stderrTail: s.stderrTail ?? null,
    });
  };
  const done = new Set<InstallRow>();

  // 1. Calls whose job answer was never read (a crash, a lost connection): the job, by its recorded uuid.
  for (const [jobUuid, rows] of groupBy(open.filter((r) => r.recordUuid === null), (r) => r.jobUuid)) {
    const state = await client.checkJob(jobUuid).catch((error: unknown) => {
      opts.logger.warn({ jobUuid, error: errorToJson(error) }, 'could not poll an install job; polled again by the next run');
      return null;
    });
    if (state?.state === 'succeeded') {
      const inventory = state.result.inventory;
      const recordUuid = isPlainObject(inventory) && typeof inventory.uuid === 'string' ? inventory.uuid : null;
      if (recordUuid !== null) {
        installs.setRecord(jobUuid, recordUuid);
        for (const r of rows) r.recordUuid = recordUuid;
      }
    } else if (state?.state === 'failed' && state.error.zstack.code !== OPERATION_TIMEOUT) {
      const e = errorToJson(state.error);
      for (const r of rows) {
        settle(r, { state: 'install-failed', reason: e.code, errCause: `${e.description}: ${e.details}` });
        done.add(r);
      }
    }
  }

  // 2. The launcher's detail, per record (one paged query per record, never one per VM).
  for (const [recordUuid, rows] of groupBy(open.filter((r) => r.recordUuid !== null && r.launchedAt === null && !done.has(r)), (r) => r.recordUuid as string)) {
    const details = await client.scriptDetails(recordUuid).catch((error: unknown) => {
      opts.logger.warn({ recordUuid, error: errorToJson(error) }, 'could not read the details of an install record; read again by the next run');
      return null;
    });
    if (details === null) continue;
    const byVm = new Map(details.map((d) => [d.vmInstanceUuid, d]));
    for (const r of rows) {
      const d = byVm.get(r.vmUuid);
      if (!d || isScriptStatusRunning(d.status)) continue;
      if (scriptDetailSucceeded(d)) {
        installs.launched(r.vmUuid, r.target, opts.now());
        continue;
      }
      settle(r, { state: 'install-failed', reason: 'detail-failed', errCause: d.errCause || `status ${d.status}, exit code ${d.exitCode ?? 'none'}`, stderrTail: tail(d.stderr) });
      done.add(r);
    }
  }

  // 3. The guest's own evidence, once the install had time to finish.
  const due = open.filter((r) => !done.has(r) && opts.now() - r.startedAt >= opts.settleMs);
  if (due.length > 0) {
    const refreshed = new Map<string, GuestToolsState>();
    await inParallel(due, REFRESH_PARALLEL, async (r) => {
      try {
        refreshed.set(r.vmUuid, await client.updateGuestToolsState(r.vmUuid));
      } catch (error) {
        opts.logger.info({ vmUuid: r.vmUuid, error: errorToJson(error) }, 'UpdateGuestToolsState failed; the tags decide for this VM');
      }
    });
    const dueVms = due.map((r) => r.vmUuid);
    const [readings, failedAt] = await Promise.all([readVersions(client, dueVms), readInstallFailedAt(client, dueVms)]);
    for (const r of due) {
      const state = refreshed.get(r.vmUuid);
      const tags = readings.tags.get(r.vmUuid) ?? [];
      if (state?.version && state.qgaState === 'Running' && sameVersion(state.version, r.target)) settle(r, { state: 'verified', reason: null, verifiedBy: 'guest' });
      else if (!opts.sentTag && tags.some((t) => sameVersion(t, r.target))) settle(r, { state: 'verified', reason: null, verifiedBy: 'tag' });
      else if (writtenSince(failedAt.get(r.vmUuid), r.startedAt)) {
        settle(r, { state: 'install-failed', reason: INSTALL_FAILED, errCause: `the guest's installer reported GuestTools::${INSTALL_FAILED}` });
      }
      else continue;
      done.add(r);
    }
  }

  // 4. Nothing by install.timeout: failed, no evidence (doubt never turns into a second install: see plan.ts mayInstall).
  for (const r of open) {
    if (!done.has(r) && opts.now() - r.startedAt >= opts.timeoutMs) settle(r, { state: 'failed', reason: 'no-evidence' });
  }
  if (settled.length > 0) opts.logger.info({ settled: settled.length, open: open.length }, 'install evidence read');
  return settled;
}

function tail(text: string | null): string | null {
  if (!text) return null;
  const lines = text.split('\n').slice(-STDERR_LINES).join('\n');
  return lines.length > STDERR_CHARS ? lines.slice(-STDERR_CHARS) : lines;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) appendTo(out, key(item), item);
  return out;
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
