// `gtr daemon`: start the service and wire the signals. The Daemon class does the work.
import { Daemon } from '../../daemon/daemon.js';
import { EXIT, GtrError } from '../../errors.js';
import { parseFlags } from '../args.js';

export const DAEMON_HELP = `Usage: gtr daemon [--config FILE]

Run as a background service: reconcile on schedule.cron (in schedule.timezone), never two runs at
once, attaches only inside schedule.windows. Serves /healthz, /metrics, /api/status and /api/runs on
http.listen (default 127.0.0.1:9477). Logs JSON lines to stdout.
Signals: SIGTERM/SIGINT stop scheduling, let in-flight attaches finish (up to 30 s), record the run and
exit 0; a second signal exits at once with code 1. SIGHUP reloads the config (an invalid one is
reported and the running one kept).
Exit codes: 0 stopped cleanly, 1 forced stop, 2 configuration, database, ISO folder or listen error.
`;

export async function runDaemonCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseFlags('daemon', argv, {});
  if (values.help) {
    process.stdout.write(DAEMON_HELP);
    return 0;
  }
  // The handlers come first: "daemon started" is logged inside start(), and a SIGHUP that arrives
  // before a handler exists would kill the process (its default action).
  let daemon: Daemon | null = null;
  let stopSignal: NodeJS.Signals | null = null;
  let stopped: ((code: number) => void) | null = null;
  const stop = (d: Daemon) => {
    d.stop().then(
      () => stopped?.(0),
      (error: unknown) => {
        process.stderr.write(`gtr daemon: error while stopping: ${error instanceof Error ? error.message : String(error)}\n`);
        stopped?.(1);
      },
    );
  };
  const onStop = (signal: NodeJS.Signals) => {
    if (stopSignal !== null) {
      process.stderr.write(`gtr daemon: second ${signal}: exiting at once; work in flight is recovered at the next start\n`);
      process.exit(1);
    }
    stopSignal = signal;
    if (daemon) stop(daemon);
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  // Before start() returns the config is being read anyway: nothing to reload.
  process.on('SIGHUP', () => void daemon?.reload());
  try {
    daemon = await Daemon.start({ configFile: values.config ?? null, env });
  } catch (error) {
    // Whatever keeps the service from starting (ZStack unreachable is not among them: ticks retry) is exit 2.
    if (!(error instanceof GtrError)) throw error;
    process.stderr.write(`gtr daemon: refusing to start: ${error.message}\n`);
    return EXIT.usage;
  }
  const started = daemon;
  return new Promise<number>((resolve) => {
    stopped = resolve;
    // A stop signal during start() is acted on now.
    if (stopSignal !== null) stop(started);
  });
}
