// SIGINT / SIGTERM for a one-shot `gtr reconcile` (docs/reference/exit-codes.md, 130 / 143): the first signal stops new attach starts
// and gives the attaches in flight a bounded wait before their calls are abandoned; a second signal
// exits at once. The exit code is 128 + the signal's number (130 / 143).
import type { Logger } from 'pino';
import { SIGNAL_EXIT } from '../reconcile/exit-code.js';
import { SHUTDOWN_GRACE_MS } from '../reconcile/shutdown.js';

interface ShutdownSignals {
  /** Aborted at the first signal: no new attach starts. */
  stopStarting: AbortSignal;
  /** Aborted when the grace period ends: calls in flight are abandoned. */
  abandonCalls: AbortSignal;
  /** 130 / 143 once a signal came, else null. */
  exitCode(): number | null;
  dispose(): void;
}

/** The bounded wait: GTR_SHUTDOWN_GRACE_MS (milliseconds) when set to a whole number, else 30 s. */
function graceMs(env: NodeJS.ProcessEnv): number {
  const raw = env.GTR_SHUTDOWN_GRACE_MS;
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : SHUTDOWN_GRACE_MS;
}

export function onShutdownSignals(logger: Logger, env: NodeJS.ProcessEnv = process.env): ShutdownSignals {
  const stop = new AbortController();
  const abandon = new AbortController();
  let received: 'SIGINT' | 'SIGTERM' | null = null;
  let grace: NodeJS.Timeout | null = null;
  const handler = (signal: 'SIGINT' | 'SIGTERM') => {
    if (received !== null) {
      logger.warn({ signal }, 'second signal: exiting at once; attaches in flight are replayed by the next run');
      process.exit(SIGNAL_EXIT[signal]);
    }
    received = signal;
    const waitMs = graceMs(env);
    logger.warn({ signal, graceMs: waitMs }, 'stopping: no new attach starts; attaches in flight get a bounded wait');
    stop.abort();
    grace = setTimeout(() => abandon.abort(), waitMs);
    grace.unref();
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    stopStarting: stop.signal,
    abandonCalls: abandon.signal,
    exitCode: () => (received === null ? null : SIGNAL_EXIT[received]),
    dispose() {
      if (grace) clearTimeout(grace);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
