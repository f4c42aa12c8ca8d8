// `gtr plan` and `gtr reconcile`: one run of the pipeline, as a dry run or for real.
import { setTimeout as delay } from 'node:timers/promises';
import { errorToJson, GtrError } from '../../errors.js';
import { onShutdownSignals } from '../shutdown-signals.js';
import { parseFlags, positiveInt, tableOptions, vmRefs } from '../args.js';
import { findVms } from '../../observe/find-vms.js';
import { resolveVmRefs } from '../vm-refs.js';
import type { MakeContext } from '../context.js';
import type { Ledger } from '../../ledger/index.js';
import { waitForCatchUp } from '../../ha/reconcile-wait.js';
import { passExitCode } from '../../reconcile/exit-code.js';
import { runPass } from '../../reconcile/pass.js';
import { cliActor } from '../../rollout/actor.js';
import { renderRun } from '../render-run.js';
import { writeReportJson } from '../json-out.js';
import { progressBar } from '../progress.js';
import { exitLines } from '../exit-lines.js';

const SELECTOR_TAGS_HELP = `policy.include.tags / policy.exclude.tags name a VM's UI tags (the tag pattern's name as the
ZStack UI shows it, or a legacy user tag's text) or its system tags (exact text, e.g. "ha::NeverStop").
A policy.exclude.tags name that no UI tag and no system tag has is a config error (exit 2).
`;

const VM_HELP = `--vm takes a VM's uuid or its name (exactly as ZStack shows it); a name must belong to one VM. A uuid
or name ZStack does not know, or a name several VMs have (they are listed), is exit 2.
Tables cut VM names at 40 columns with … (--wide or -o wide shows them whole, as --json does).
`;

const PLAN_HELP = `Usage: gtr plan [--config FILE] [--json] [--wide] [--vm UUID|NAME]...

Observe and plan without changing anything: reads the ISO folder and every VM, decides attach / skip /
defer per VM with a reason, records the dry run, and prints the decisions and counts.
${VM_HELP}${SELECTOR_TAGS_HELP}
Examples:
  gtr plan
  gtr plan --vm web-01 --vm 数据库服务器-主
  gtr plan --json | jq '.actions[] | select(.action == "attach") | .vmName'

${exitLines(['ok', ['usage', 'usage or config error'], 'unreachable'])}`;

const RECONCILE_HELP = `Usage: gtr reconcile [--config FILE] [--dry-run] [--json] [--wide] [--vm UUID|NAME]... [--limit N]

One run now: plan, then attach the GuestTools ISO to every out-of-date VM within the policy limits,
verify, and record everything in the ledger.
  --dry-run     plan and record only (same as gtr plan)
  --json        print one JSON document instead of the summary
  --vm UUID|NAME  only this VM (repeatable)
  --limit N     attach at most N VMs in this run
  --wide, -o wide  VM names whole in the tables
${VM_HELP}On a terminal a progress bar shows the attaches; logs show as short lines at warning and above (-v: info).
SIGINT / SIGTERM: no new attach starts; attaches in flight get a bounded wait (30 s, or
GTR_SHUTDOWN_GRACE_MS), then their calls are abandoned (outcome interrupted, job uuid kept: the next
run's replay polls it); the run is recorded as interrupted; a second signal exits at once.
${SELECTOR_TAGS_HELP}
Examples:
  gtr reconcile --limit 5
  gtr reconcile --vm web-01 -v
  gtr reconcile --json > run.json

${exitLines([['ok', 'nothing failed'], 'someFailed', 'usage', 'unreachable', 'budgetHalted', ['leaseHeld', 'another run holds the lease ' +
  'or this node is the standby of a pair of management nodes (ha.leaderCheck; also when it loses leadership during the run: the rest ' +
  "are deferred as not-leader) or, with ha.peer, this node leads but its ledger has not caught up with the peer's after " +
  '2 x ha.syncInterval (GTR_HA_NOT_CAUGHT_UP)'], 'signal'], { precedence: true })}With ha.peer, a node that just became leader first waits (at most 2 x ha.syncInterval, attaching
nothing, before taking the lease) until its ledger has caught up with the peer's, as the daemon does:
while the peer still says it leads or has a run under way (its daemon's, or a gtr reconcile holding its
lease), and until this node's daemon has put the peer's newer ledger in place. A peer that cannot be
reached is waited for only when this node's copy is older than 2 x ha.syncInterval.
`;

export async function runPlanOrReconcile(
  command: 'plan' | 'reconcile',
  argv: string[],
  makeContext: MakeContext,
): Promise<number> {
  const { values } = parseFlags(argv, {
    json: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    vm: { type: 'string', multiple: true },
    limit: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(command === 'plan' ? PLAN_HELP : RECONCILE_HELP);
    return 0;
  }
  const dryRun = command === 'plan' || values['dry-run'] === true;
  const limit = positiveInt('limit', values.limit);
  const refs = vmRefs(values.vm);
  const table = tableOptions(values);
  const ctx = makeContext(values);
  const shutdown = dryRun ? null : onShutdownSignals(ctx.logger);
  // Only the leader of a pair of MNs attaches (ha.leaderCheck); a plan changes nothing, so runs anywhere.
  const leader = dryRun ? null : ctx.leaderCheck();
  let opened: Ledger | null = null;
  try {
    if (leader) {
      const answer = await leader.check();
      if (answer.role !== 'leader') {
        throw new GtrError('GTR_NOT_LEADER', `this node is the standby (ha.leaderCheck ${answer.kind}: ${answer.reason}); nothing was attached`, { details: { leaderCheck: answer.kind } });
      }
      leader.start();
    }
    const ledger = ctx.ledger();
    opened = ledger;
    // A node that just became leader catches up with its peer's ledger first, as the daemon does
    // (docs/design.md 7); before the lease, which the daemon's catch-up waits for.
    if (leader && ctx.peer) {
      const { basis, why } = await waitForCatchUp({
        peer: ctx.peer, database: ledger.path, syncIntervalMs: ctx.config.ha.syncIntervalMs, logger: ctx.logger,
        leads: () => leader.role(Date.now()) === 'leader', signal: shutdown?.stopStarting,
      });
      ctx.logger.info({ peer: ctx.peer.url, basis, why }, 'ledger caught up with the peer');
    }
    const client = ctx.client(shutdown?.abandonCalls);
    // --vm UUID|NAME: each must be a VM the MN knows (a name, exactly one), else exit 2 naming it.
    const vms = refs && resolveVmRefs(refs, await findVms(client, refs), 'in ZStack');
    const now = () => Date.now();
    const showProgress = !values.json && process.stderr.isTTY === true && !dryRun;
    const progress = showProgress ? progressBar(ctx.terminal) : null;
    const deps = { config: ctx.config, client, ledger, logger: ctx.logger, now, profiler: ctx.profiler, events: ctx.events };
    const { report, exitCode } = await runPass(deps, {
      trigger: 'cli', dryRun, vmUuids: vms, limit, onProgress: progress ?? undefined,
      leasePurpose: 'reconcile', actor: cliActor(),
      stopStarting: shutdown?.stopStarting, leader: leader ?? undefined,
    });
    progress?.end();
    // A run whose end could not be written (the database locked or full): tried again briefly, then the
    // error is the exit; the next start, in any process, finds this one gone and marks the run.
    const unrecorded = await finishLateRunsBriefly(ledger);
    if (unrecorded !== null) throw unrecorded;
    if (values.json) await writeReportJson(process.stdout, report);
    else process.stdout.write(renderRun(report, table));
    return passExitCode(shutdown?.exitCode() ?? null, exitCode);
  } catch (error) {
    // A run that stopped on an error whose end could not be written either: tried again before the exit.
    if (opened) await finishLateRunsBriefly(opened);
    // Stopped by a signal: its code wins over the error's (src/reconcile/exit-code.ts); else main maps the error.
    const code = shutdown?.exitCode() ?? null;
    if (code === null) throw error;
    ctx.logger.error({ error: errorToJson(error) }, 'run stopped by a signal');
    return code;
  } finally {
    leader?.stop();
    shutdown?.dispose();
    await ctx.close();
  }
}

/** Up to 3 more tries, a second apart; the last failure, or null once every run's end is written. */
async function finishLateRunsBriefly(ledger: Pick<Ledger, 'finishLateRuns'>): Promise<unknown> {
  let failure = ledger.finishLateRuns();
  for (let attempt = 0; failure !== null && attempt < 3; attempt++) {
    await delay(1000);
    failure = ledger.finishLateRuns();
  }
  return failure;
}
