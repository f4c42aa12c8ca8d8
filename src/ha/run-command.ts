// Runs a leader-check program without a shell, bounded in time and output: the daemon asks every few
// seconds, so a hung or chatty program must cost little and never hold a tick.
import { execFile } from 'node:child_process';

const COMMAND_TIMEOUT_MS = 10_000;
const MAX_OUTPUT_BYTES = 64 * 1024;

interface CommandResult {
  /** The exit code; null when the program did not exit on its own (killed, or never started). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Why there is no exit code: not found, not executable, timed out, killed. */
  failure: string | null;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Run as this user (root only: `gtr doctor` checks as the service user). */
  runAs?: { uid: number; gid: number };
  env?: NodeJS.ProcessEnv;
}

export function runCommand(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const [file, ...args] = argv as [string, ...string[]];
  const timeoutMs = opts.timeoutMs ?? COMMAND_TIMEOUT_MS;
  return new Promise((resolve) => {
    execFile(file, args, {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: MAX_OUTPUT_BYTES,
      windowsHide: true,
      env: opts.env,
      ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
    }, (error, stdout, stderr) => {
      if (!error) return resolve({ exitCode: 0, stdout, stderr, failure: null });
      const e = error as NodeJS.ErrnoException & { code?: string | number; killed?: boolean; signal?: string | null };
      if (typeof e.code === 'number') return resolve({ exitCode: e.code, stdout, stderr, failure: null });
      let failure: string;
      if (e.killed === true) failure = `did not finish within ${timeoutMs / 1000} s`;
      else if (e.code === 'ENOENT') failure = `${file} not found`;
      else if (e.code === 'EACCES') failure = `${file} is not executable by this user`;
      else if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') failure = `printed more than ${MAX_OUTPUT_BYTES} bytes`;
      else if (e.signal) failure = `killed by ${e.signal}`;
      else failure = e.message;
      resolve({ exitCode: null, stdout, stderr, failure });
    });
  });
}

/** The first non-empty line of a program's output, shortened, for a reason text (renderers escape it). */
export function firstLine(text: string): string {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}
