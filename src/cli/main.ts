// The CLI entry: parse the command, build its dependencies, run it, map errors to exit codes.
// User errors print a message and a hint, never a stack trace.
import { ERROR_CODES, EXIT, GtrError, hintOf, messageOf } from '../errors.js';
import type { MakeContext } from './context.js';
import { printable } from '../text/printable.js';
import { didYouMean } from '../text/did-you-mean.js';
export { dropOutputOnClosedPipe } from './closed-pipe.js';
import { VERSION } from '../version.js';
import { profilerFromEnv } from '../profile/profile.js';

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

/** Commands with subcommands: an error of `gtr rollout pause ...` is prefixed `gtr rollout pause:`. */
const SUBCOMMANDS: Record<string, readonly string[]> = {
  rollout: ['start', 'status', 'list', 'pause', 'resume', 'abort'],
  runs: ['show'],
};

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv[0] === 'help' && argv.length > 1) return main([...argv.slice(1), '--help'], env); // gtr help CMD [SUB]
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write((await import('./help.js')).HELP); // loaded for the help only, as the commands are
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
    const near = didYouMean(command, Object.keys(COMMANDS), (c) => `"gtr ${c}"`);
    process.stderr.write(`gtr: unknown command "${printable(command.slice(0, 40))}"${near}\nRun "gtr --help" for the list of commands.\n`);
    return EXIT.usage;
  }
  try {
    return await run(rest, (flags) => createContext(flags, env, profiler), env);
  } catch (error) {
    const sub = rest.find((a) => !a.startsWith('-'));
    return reportError(sub !== undefined && SUBCOMMANDS[command]?.includes(sub) ? `${command} ${sub}` : command, error);
  }
}

function reportError(command: string, error: unknown): number {
  if (error instanceof GtrError) {
    process.stderr.write(`gtr ${command}: ${printable(error.message, { keepNewlines: true })}\n${hintFor(error, command)}`);
    return error.exitCode;
  }
  const message = messageOf(error);
  process.stderr.write(`gtr ${command}: internal error: ${printable(message, { keepNewlines: true })}\nThis is a bug; please report it with the command you ran.\n`);
  if (process.env.GTR_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return EXIT.internal;
}

/** The command's own help for a usage error; else the catalog's hint for the code (src/errors.ts), else the code and what it means. */
function hintFor(error: GtrError, command: string): string {
  if (error.code === 'GTR_USAGE') return `Run "gtr ${command} --help" for its usage and examples.\n`;
  return `${hintOf(error.code) ?? `(${error.code}: ${ERROR_CODES[error.code].about})`}\n`;
}
