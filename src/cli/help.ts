// `gtr --help`: the commands, the options of every command and the exit codes. Its own module, loaded
// when the help is printed, so that `gtr --version` loads neither it nor what it renders from.
import { VERSION } from '../version.js';
import { LOG_FLAGS_HELP } from './args.js';
import { exitLines } from './exit-lines.js';

export const HELP = `gtr ${VERSION}: keeps the GuestTools of every VM in a ZStack Cloud up to date.

Usage: gtr <command> [--config FILE] [options]     (gtr help <command>, or gtr <command> --help, for details)

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
Examples:
  gtr doctor                          will it work here?
  gtr plan                            what would change (records a dry run)
  gtr reconcile --limit 5             attach 5 VMs now
  gtr help reconcile                  one command's help, with examples

Configuration: --config FILE, else $GTR_CONFIG, else /etc/guesttools-reconciler/config.json, else defaults.
${exitLines(['ok', 'someFailed', 'usage', 'unreachable', 'budgetHalted', 'leaseHeld', 'rollout', 'internal', ['signal', 'reconcile stopped by SIGINT / SIGTERM']], { precedence: true })}`;
