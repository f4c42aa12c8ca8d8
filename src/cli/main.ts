// The CLI entry: parse the command, build its dependencies, run it, map errors to exit codes.
// User errors print a message and a hint, never a stack trace.
import { ERROR_CODES, EXIT, GtrError, hintOf } from '../errors.js';
import { createContext, type Context } from './context.js';
import { printable } from '../text/printable.js';
export { dropOutputOnClosedPipe } from './closed-pipe.js';
import { runPlanOrReconcile } from './commands/reconcile.js';
import { runIso } from './commands/iso.js';
import { runRuns } from './commands/runs.js';
import { runStatus } from './commands/status.js';
import { runMigrate } from './commands/migrate.js';
import { runRetry } from './commands/retry.js';
import { runDaemonCommand } from './commands/daemon.js';
import { runDoctorCommand } from './commands/doctor.js';
import { runRollout } from './commands/rollout.js';
import { runSimCommand } from '../sim/cli.js';
import { VERSION } from '../version.js';
import { profilerFromEnv } from '../profile/profile.js';

export const HELP = `gtr ${VERSION}: keeps the GuestTools of every VM in a ZStack Cloud up to date.

Usage: gtr <command> [--config FILE] [options]     (gtr <command> --help for details)

Commands:
  plan                  observe and plan, change nothing (dry run, recorded)
  reconcile             one run now: plan, attach, verify, record
  iso                   the ISO catalog and the chosen targets
  runs [show ID]        run history from the ledger
  status                fleet by version, platform and architecture; last run; lease holder; rollouts
  rollout               staged upgrade rollouts: start, status, list, pause, resume, abort
  retry --vm UUID...    forget a VM's failures, quarantine and attempts (re-arms not-converging VMs)
  daemon                scheduled background service with /healthz and /metrics
  migrate               apply pending database migrations
  doctor                will this work here? checks config, secrets, ISOs, database, MN, login, clock, unit
  sim                   run the bundled ZStack API simulator (demo, tests, practice)

Configuration: --config FILE, else $GTR_CONFIG, else /etc/guesttools-reconciler/config.json, else defaults.
Exit codes: 0 ok, 1 some attaches failed, 2 usage or config, 3 ZStack unreachable / login refused / ISO
folder unusable or without a GuestTools ISO, 4 halted by the error budget, 5 another run holds the lease,
6 rollout errors, 130 / 143 reconcile stopped by SIGINT / SIGTERM (first of 130/143, 5, 3, 4, 1, 0 wins).
`;

type MakeContext = (configFile: string | undefined) => Context;

const COMMANDS: Record<string, (argv: string[], makeContext: MakeContext, env: NodeJS.ProcessEnv) => Promise<number>> = {
  plan: (argv, mk) => runPlanOrReconcile('plan', argv, mk),
  reconcile: (argv, mk) => runPlanOrReconcile('reconcile', argv, mk),
  iso: runIso,
  runs: runRuns,
  status: runStatus,
  migrate: runMigrate,
  retry: runRetry,
  rollout: runRollout,
  daemon: (argv, _mk, env) => runDaemonCommand(argv, env),
  doctor: (argv, _mk, env) => runDoctorCommand(argv, env),
  sim: (argv) => runSimCommand(argv),
};

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  // Started before anything it measures, as the measured process starts (GTR_PROFILE_FILE, benchmark).
  const profiler = profilerFromEnv(env);
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`gtr: unknown command "${command.slice(0, 40)}"\nRun "gtr --help" for the list of commands.\n`);
    return EXIT.usage;
  }
  try {
    return await run(rest, (configFile) => createContext(configFile, env, profiler), env);
  } catch (error) {
    return reportError(command, error);
  }
}

function reportError(command: string, error: unknown): number {
  if (error instanceof GtrError) {
    process.stderr.write(`gtr ${command}: ${printable(error.message, { keepNewlines: true })}\n${hintFor(error)}`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`gtr ${command}: internal error: ${printable(message, { keepNewlines: true })}\nThis is a bug; please report it with the command you ran.\n`);
  if (process.env.GTR_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return EXIT.internal;
}

/** The catalog's hint for the error's code (src/errors.ts), else the code and what it means. */
function hintFor(error: GtrError): string {
  return `${hintOf(error.code) ?? `(${error.code}: ${ERROR_CODES[error.code].about})`}\n`;
}
