// `gtr daemon`: start the service and wire the signals. The Daemon class does the work.
import { Daemon, FAILED_TICKS_DEGRADED } from '../../daemon/daemon.js';
import { loadConfig } from '../../config/load.js';
import { requireCredentials } from '../../zstack/from-config.js';
import { EXIT, GtrError, messageOf } from '../../errors.js';
import { parseFlags } from '../args.js';
import { printable } from '../../text/printable.js';
import { exitLines } from '../exit-lines.js';

const DAEMON_HELP = `Usage: gtr daemon [--config FILE] [--check-config]

Run as a background service: reconcile on schedule.cron (in schedule.timezone), never two runs at
once, attaches only inside schedule.windows. Serves /healthz, /metrics, /api/status and /api/runs on
http.listen (default 127.0.0.1:9477). Logs JSON lines to stdout.
Signals: SIGTERM/SIGINT stop scheduling, let in-flight attaches finish (up to 30 s), record the run and
exit 0; a second signal exits at once with code 1. SIGHUP reloads the config (an invalid one is
reported and the running one kept: /healthz turns unhealthy, gtr status and the page say so).
A missing or empty ISO folder, or a status port another process still holds, does not stop it: it runs
degraded (/healthz unhealthy with the reason) and retries with backoff until fixed.
${FAILED_TICKS_DEGRADED} scheduled runs failed in a row (ZStack unreachable, login refused, ...) make it degraded too
(/healthz 503, problem ticks-failing, gtr_daemon_problem{problem="ticks-failing"} 1) until a run goes through.
--check-config  only load and validate the configuration as a start or a reload would (the unit's
                ExecReload runs it first, so a broken file fails "systemctl reload"); starts nothing.
${exitLines([['ok', 'stopped cleanly (--check-config: valid)'], ['someFailed', 'forced stop'],
  ['usage', 'configuration or database error, or a listen address that cannot be used (not a busy port)']])}`;

/** `--check-config`: what start() and reload() validate before anything runs; exit 0 or 2 with every problem. */
function checkConfig(configFile: string | null, env: NodeJS.ProcessEnv): number {
  try {
    const { config, source, warnings } = loadConfig({ file: configFile, env });
    requireCredentials(config);
    for (const warning of warnings) process.stderr.write(`gtr daemon: warning: ${printable(warning)}\n`);
    process.stdout.write(`gtr daemon: configuration ok (${printable(source)})\n`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof GtrError)) throw error;
    process.stderr.write(`gtr daemon: configuration invalid: ${printable(error.message, { keepNewlines: true })}\n`);
    return EXIT.usage;
  }
}

export async function runDaemonCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseFlags(argv, { 'check-config': { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(DAEMON_HELP);
    return 0;
  }
  if (values['check-config']) return checkConfig(values.config ?? null, env);
  // The handlers come first: "daemon started" is logged inside start(), and a SIGHUP that arrives
  // before a handler exists would kill the process (its default action).
  let daemon: Daemon | null = null;
  let stopSignal: NodeJS.Signals | null = null;
  let stopped: ((code: number) => void) | null = null;
  const stop = (d: Daemon) => {
    d.stop().then(
      () => stopped?.(0),
      (error: unknown) => {
        process.stderr.write(`gtr daemon: error while stopping: ${messageOf(error)}\n`);
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
    // Whatever keeps the service from starting is exit 2: the configuration, the database, a listen address
    // that cannot work. ZStack unreachable, the ISO folder and a busy port are not among them: retried.
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
