// Whether a recorded process still runs (docs/design.md 5): a process is alive only if its host, boot id,
// pid and start time all match. A pid alone is not enough: after a reboot the same pid is often taken
// again (boot order is deterministic), by anything or by the restarted daemon itself.
import fs from 'node:fs';
import os from 'node:os';

/** Who a lease holder or a run is. `bootId`/`startTime` are null where they cannot be read (not Linux, or old rows). */
export interface ProcessIdentity {
  host: string;
  pid: number;
  bootId: string | null;
  /** Start time of the process in clock ticks since boot (/proc/PID/stat field 22), as text. */
  startTime: string | null;
}

export type IsAlive = (who: ProcessIdentity) => boolean;

/** Signal 0 probes without signalling; EPERM means the process exists but belongs to another user. */
export function isPidAlive(pid: number): boolean {
  // pid 0 and negative pids address process groups: never probe them.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return typeof e === 'object' && e !== null && 'code' in e && e.code === 'EPERM';
  }
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function currentBootId(): string | null {
  return readText('/proc/sys/kernel/random/boot_id')?.trim() || null;
}

/** Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses, so count from its last ')'. */
export function processStartTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): field 22 is fields[19].
  return fields[19] ?? null;
}

/** This process, as recorded in the lease and its runs. */
export function selfIdentity(): ProcessIdentity {
  return { host: os.hostname(), pid: process.pid, bootId: currentBootId(), startTime: processStartTime(process.pid) };
}

/**
 * Default liveness. A process on another host cannot be seen, so it counts as alive (its lease then
 * only ends at expiry). On this host: another boot, a pid that is gone, or a pid now used by a process
 * that started at another time is not the recorded process.
 */
export function defaultIsAlive(who: ProcessIdentity): boolean {
  if (who.host !== os.hostname()) return true;
  if (who.bootId !== null && who.bootId !== currentBootId()) return false;
  if (!isPidAlive(who.pid)) return false;
  return who.startTime === null || processStartTime(who.pid) === who.startTime;
}

/** Same process: every field that both sides know matches. */
export function sameProcess(a: ProcessIdentity, b: ProcessIdentity): boolean {
  return a.host === b.host && a.pid === b.pid && (a.bootId ?? b.bootId) === (b.bootId ?? a.bootId)
    && (a.startTime ?? b.startTime) === (b.startTime ?? a.startTime);
}
