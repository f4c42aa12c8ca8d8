// Whether a recorded pid still runs. Only meaningful on the host that recorded it.
import os from 'node:os';

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

/** Default liveness: a pid on this host is probed; a process on another host cannot be seen, so it counts as alive. */
export function defaultIsAlive(pid: number, host: string): boolean {
  return host === os.hostname() ? isPidAlive(pid) : true;
}
