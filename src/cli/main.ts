// The CLI entry: parse the command, build its dependencies, run it, map errors to exit codes.
// User errors print a message and a hint, never a stack trace.
import { ERROR_CODES, EXIT, GtrError, hintOf } from '../errors.js';
import type { MakeContext } from './context.js';
import { printable } from '../text/printable.js';
export { dropOutputOnClosedPipe } from './closed-pipe.js';
import { VERSION } from '../version.js';
import { profilerFromEnv } from '../profile/profile.js';
import { LOG_FLAGS_HELP } from './args.js';

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

Options of every command: --config FILE, -h/--help, -v/--verbose, --log-level LEVEL, --log-format auto|human|json.
${LOG_FLAGS_HELP}
Configuration: --config FILE, else $GTR_CONFIG, else /etc/guesttools-reconciler/config.json, else defaults.
Exit codes: 0 ok, 1 some attaches failed, 2 usage or config, 3 ZStack unreachable / login refused / ISO
folder unusable or without a GuestTools ISO, 4 halted by the error budget, 5 another run holds the lease,
6 rollout errors, 130 / 143 reconcile stopped by SIGINT / SIGTERM (first of 130/143, 5, 3, 4, 1, 0 wins).
`;

type Command = (argv: string[], makeContext: MakeContext, env: NodeJS.ProcessEnv) => Promise<number>;

/** Each command's module is loaded when that command runs: `gtr --version` loads neither the daemon nor the simulator. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  plan: async () => {
    const { runPlanOrReconcile } = await import('./commands/reconcile.js');
    return (argv, mk) => runPlanOrReconcile('plan', argv, mk);
  },
  reconcile: async () => {
    const { runPlanOrReconcile } = await import('./commands/reconcile.js');
    return (argv, mk) => runPlanOrReconcile('reconcile', argv, mk);
  },
  iso: async () => (await import('./commands/iso.js')).runIso,
  runs: async () => (await import('./commands/runs.js')).runRuns,
  status: async () => (await import('./commands/status.js')).runStatus,
  migrate: async () => (await import('./commands/migrate.js')).runMigrate,
  retry: async () => (await import('./commands/retry.js')).runRetry,
  rollout: async () => (await import('./commands/rollout.js')).runRollout,
  daemon: async () => {
    const { runDaemonCommand } = await import('./commands/daemon.js');
    return (argv, _mk, env) => runDaemonCommand(argv, env);
  },
  doctor: async () => {
    const { runDoctorCommand } = await import('./commands/doctor.js');
    return (argv, _mk, env) => runDoctorCommand(argv, env);
  },
  sim: async () => {
    const { runSimCommand } = await import('../sim/cli.js');
    return (argv) => runSimCommand(argv);
  },
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
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  // The command's modules are loaded before the profiler starts, as when they were loaded at startup.
  const run = load ? await load() : undefined;
  const { createContext } = await import('./context.js');
  // Started before anything it measures, as the measured process starts (GTR_PROFILE_FILE, benchmark).
  const profiler = profilerFromEnv(env);
  if (!run) {
    process.stderr.write(`gtr: unknown command "${command.slice(0, 40)}"\nRun "gtr --help" for the list of commands.\n`);
    return EXIT.usage;
  }
  try {
    return await run(rest, (flags) => createContext(flags, env, profiler), env);
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
