// `gtr rollout SUB --help` (and `gtr help rollout SUB`): each subcommand's own usage, with examples.
import { exitLines } from '../exit-lines.js';

const COMMON = `Options of every command: --config FILE, -v, --log-level LEVEL, --log-format auto|human|json (gtr --help).
With ha.peer, start/pause/resume/abort are also sent to the other node; a line says whether it got them.
`;

export const SUB_HELP: Record<string, string> = {
  start: `Usage: gtr rollout start [--agent-type WindowsOnKvm|LinuxOnKvm|all] [--target AGENT=VERSION]...
                         [--waves 1,10%,50%,100%] [--soak 30m] [--wave-timeout 6h] [--max-errors N|N%]
                         [--canary-vm UUID]... [--canary-cluster UUID]... [--canary-tag TAG]...
                         [--allow-unmatched-canaries] [--reason TEXT] [--json]

Start a staged rollout: the out-of-date eligible VMs now are its members, canaries first, then by
sha256(uuid), each to the catalog target of its (agent type, architecture) group. Wave sizes are
cumulative; the last wave takes the rest. --max-errors is per wave (default 5%). Defaults: rollout.*.
--target only asserts the version the catalog offers (exit 2 when it differs). A canary selector that
matches no member exits 2 and names it, unless --allow-unmatched-canaries.

Examples:
  gtr rollout start --agent-type WindowsOnKvm --waves 1,10%,100% --soak 1h
  gtr rollout start --canary-tag canary --target LinuxOnKvm=1.3.0 --reason "change 4711"

${COMMON}${exitLines([['ok', 'started'], ['usage', 'usage or config (also: a canary matches nothing)'],
  ['unreachable', 'ZStack or the ISO catalog unusable'], ['rollout', 'an open rollout of that agent type exists']])}`,
  status: `Usage: gtr rollout status [ID] [--json]

Per group and per wave: members attached, verified, failed, skipped, pending; when the running wave
times out and its soak ends; the running wave's unfinished members (at most 20, then a count). Times
are local with their offset; --json keeps UTC. Without ID: the open rollouts.

Examples:
  gtr rollout status
  gtr rollout status 3 --json

${exitLines(['ok', 'usage', ['rollout', 'no such rollout']])}`,
  list: `Usage: gtr rollout list [--limit N] [--json]

The rollouts, newest first (default 20).

Examples:
  gtr rollout list --limit 5

${exitLines(['ok', 'usage'])}`,
  pause: `Usage: gtr rollout pause ID [--reason TEXT] [--json]

No new attach of this rollout starts (attaches in flight finish). Pausing a paused rollout is no error:
it says "already paused" and exits 0.

Examples:
  gtr rollout pause 3 --reason "helpdesk calls from wave 2"

${COMMON}${exitLines([['ok', 'paused (or already paused)'], 'usage', ['rollout', 'no such rollout or a finished one']])}`,
  resume: `Usage: gtr rollout resume ID [--reason TEXT] [--json]

Attaching goes on. After an error-budget pause, the budget counts new failures only. Resuming an active
rollout is no error: it says "already active" and exits 0.

Examples:
  gtr rollout resume 3 --reason "cause fixed"

${COMMON}${exitLines([['ok', 'resumed (or already active)'], 'usage', ['rollout', 'no such rollout or a finished one']])}`,
  abort: `Usage: gtr rollout abort ID [--detach] [--reason TEXT] [--json]

Stop the rollout for good. --detach also detaches the ISO (DetachGuestToolsIsoFromVm) from every member
this reconciler attached that is not verified.

Examples:
  gtr rollout abort 3 --detach --reason "wrong ISO"

${COMMON}${exitLines([['ok', 'aborted (or already aborted)'], 'usage', ['unreachable', 'ZStack unreachable (--detach)'], ['rollout', 'no such rollout']])}`,
};
