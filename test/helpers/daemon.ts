// `gtr daemon` as a real child process: its JSON log lines, its status URL once it listens, and a stop
// that sends SIGTERM and waits for the exit.
import { exited, spawnGtr, waitFor } from './cli.js';

export type LogLine = { msg: string; level: number; [k: string]: unknown };

export function logLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

export function startDaemon(config: string) {
  const child = spawnGtr(['daemon', '--config', config]);
  const lines = () => logLines(child.output().stdout);
  return {
    child,
    lines,
    /** The status server's base URL, from the "daemon started" line. */
    url: async () => (await waitFor('daemon started', () => lines().find((l) => l.msg === 'daemon started'), 20_000)).listen as string,
    stop: async () => {
      child.kill('SIGTERM');
      return exited(child);
    },
  };
}
