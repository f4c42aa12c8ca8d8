// What the running daemon says about itself, for `gtr status` (which reads files, never the status
// port): `daemon-status.json` beside the database, rewritten whenever a problem appears or clears
// (the ISO folder, the status port, a failed config reload), removed when the daemon stops.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { isPidAlive } from '../ledger/process-alive.js';

/** What keeps a running daemon from being healthy but not from running (README "Daemon"). */
export type DaemonProblemKind = 'iso-folder' | 'status-port' | 'config-reload' | 'ticks-failing';

export interface DaemonProblem {
  kind: DaemonProblemKind;
  reason: string;
  since: string;
}

export interface ConfigReloadState {
  at: string;
  ok: boolean;
  /** The problem of a failed reload (the running configuration was kept). */
  error: string | null;
}

interface DaemonState {
  pid: number;
  host: string;
  startedAt: string;
  updatedAt: string;
  /** The status server's URL, null while its port is not bound yet. */
  listen: string | null;
  problems: DaemonProblem[];
  configReload: ConfigReloadState | null;
}

const DAEMON_STATE_FILE = 'daemon-status.json';

function daemonStatePath(database: string): string {
  return join(dirname(database), DAEMON_STATE_FILE);
}

/** Atomic: a reader sees the old file or the new one. */
export function writeDaemonState(database: string, state: DaemonState): void {
  const file = daemonStatePath(database);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o640 });
  renameSync(tmp, file);
}

export function removeDaemonState(database: string): void {
  rmSync(daemonStatePath(database), { force: true });
}

/**
 * The daemon's own account, with `running` false when the file was left by a daemon that is gone
 * (killed: only a clean stop removes it), or by one on another host; null when there is none.
 */
export function readDaemonState(database: string): (DaemonState & { running: boolean }) | null {
  let text: string;
  try {
    text = readFileSync(daemonStatePath(database), 'utf8');
  } catch {
    return null;
  }
  try {
    const state = JSON.parse(text) as DaemonState;
    if (typeof state.pid !== 'number' || !Array.isArray(state.problems)) return null;
    return { ...state, running: state.host === hostname() && isPidAlive(state.pid) };
  } catch {
    return null;
  }
}
