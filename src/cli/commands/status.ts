// `gtr status`: the fleet by GuestTools version, platform and architecture as the last run saw it,
// the last run, the lease holder and the next maintenance window. Reads only the ledger.
import type { FleetRow } from '../../domain.js';
import { parseFlags, tableOptions } from '../args.js';
import type { MakeContext } from '../context.js';
import { printable } from '../../text/printable.js';
import { formatTable, type TableOptions } from '../../text/table.js';
import { errorBlock } from '../../text/wrap.js';
import { localTime } from '../../time-format.js';
import { statusJson } from '../../views/status.js';
import { roleStatus } from '../../ha/role-status.js';
import { rolloutLines } from './rollout-render.js';
import { installLines } from './install-render.js';
import { readDaemonState } from '../../daemon/daemon-state.js';
import { exitLines } from '../exit-lines.js';

const STATUS_HELP = `Usage: gtr status [--config FILE] [--json]

The fleet by GuestTools version, platform and architecture (as the last full run or plan saw it), the last
run, this node's role (ha.leaderCheck: leader or standby, and why), who holds the lease, the next
maintenance window, the open rollouts, installing in the guest (the funnel per group of the ISOs this
reconciler attached: attached, installing, verified, detached; the failed installs with their cause and
stderr tail; the VMs awaiting a person's install with the Linux command to paste; a management node
without the script library or without detach), and the VMs that need attention (not-converging, cdrom-busy,
quarantined, unknown-architecture, catalog-unverified, or a version that went backwards). "confirmed by": "guest" when the guest reports the version itself (QueryGuestToolsState),
"tag" when a GuestTools:: tag this reconciler did not send shows it, "nothing (our tag)" when only the
tag it sent with its last attach (zstack.recordVersionTag) does: no evidence of an install. Against the
catalog targets, "on target" is "confirmed" (guest or tag) plus "tag only" (our tag).
The daemon on this node: running or not, and what keeps it unhealthy (the ISO folder, the status port,
a config reload that failed), from daemon-status.json beside the database ("daemon" in --json).
Reads only the local database and that file, and runs the leader check (ha.leaderCheck) once.
Times are local with their offset (TZ), e.g. 2026-12-07 10:57:20 +08:00; --json keeps UTC ISO-8601.
VM names longer than 40 columns are cut with … (--wide or -o wide shows them whole, as --json does).
The needs-attention list ends with each VM's last ZStack error in full (code, description, details).

Examples:
  gtr status
  gtr status --wide
  gtr status --json | jq '.needsAttention.vms[] | {vmName, problem, error}'
  gtr status --json | jq '.install.funnel'

Never creates, migrates or writes the database: with no database file yet it says so and exits 2.
${exitLines(['ok', ['usage', 'usage, config or database error (also: no database yet)']])}`;

const CONFIRMED_BY: Record<NonNullable<FleetRow['source']>, string> = { guest: 'guest', tag: 'tag', 'sent-tag': 'nothing (our tag)' };

type DaemonFacts = ReturnType<typeof readDaemonState>;

function daemonLines(d: DaemonFacts): string[] {
  if (d === null) return ['Daemon: not running on this node (no daemon-status.json beside the database)'];
  if (!d.running) return [`Daemon: not running (pid ${d.pid} on ${d.host} last wrote its state at ${localTime(d.updatedAt)} and is gone)`];
  const head = `Daemon: pid ${d.pid}, since ${localTime(d.startedAt)}, ${d.problems.length === 0 ? 'healthy' : 'DEGRADED'}${d.listen ? `, status on ${d.listen}` : ''}`;
  return [head, ...d.problems.map((p) => `  ${p.kind} (since ${localTime(p.since)}): ${printable(p.reason.replace(/\n\s*/g, ' '))}`)];
}

function attentionLines(a: ReturnType<typeof statusJson>['needsAttention'], table: TableOptions): string[] {
  if (a.total === 0) return ['', 'Needs attention: nothing.'];
  const rows = a.vms.map((v) => [
    v.vmName ?? '', v.vmUuid, v.problem, v.current ?? '-', v.target ?? '-',
    printable([v.regression ? `version went backwards ${v.regression}` : '', v.fix].filter(Boolean).join('; ')),
  ]);
  const more = a.total > a.vms.length ? [`... and ${a.total - a.vms.length} more (the status page lists them all)`] : [];
  // The last ZStack error of each, whole (code, description, details), wrapped.
  const errors = a.vms.flatMap((v) => (v.error ? [`  ${v.vmUuid}:`, ...errorBlock(v.error, '    ')] : []));
  return ['', `Needs attention (${a.total} VMs):`, formatTable(['vm', 'uuid', 'problem', 'current', 'target', 'fix'], rows, { ...table, full: ['fix'] }), ...more,
    ...(errors.length > 0 ? ['', 'Last errors:', ...errors] : [])];
}

export async function runStatus(argv: string[], makeContext: MakeContext): Promise<number> {
  const { values } = parseFlags(argv, { json: { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(STATUS_HELP);
    return 0;
  }
  const table = tableOptions(values);
  const ctx = makeContext(values);
  try {
    // This node's role, checked now (ha.leaderCheck; instant with "none").
    const ha = roleStatus(await ctx.leaderCheck().check());
    const status = statusJson(ctx.readOnlyLedger(), ctx.config, Date.now(), ha);
    const daemon = readDaemonState(ctx.config.database);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...status, daemon }, null, 2)}\n`);
      return 0;
    }
    const out: string[] = [];
    const r = status.lastRun;
    out.push(r ? `Last run: #${r.id} ${r.status} (${r.trigger}${r.dryRun ? ', dry run' : ''}), ${localTime(r.startedAt)} .. ${r.finishedAt === null ? 'running' : localTime(r.finishedAt)}` : 'Last run: none yet');
    for (const w of r?.warnings ?? []) out.push(`  warning: ${printable(w.message)}`);
    out.push(`Role: ${ha.role} (ha.leaderCheck ${ha.leaderCheck}${ha.checkFailed ? ', check failed' : ''}: ${printable(ha.reason)}), checked ${localTime(ha.checkedAt)}`);
    out.push(`Lease: ${status.lease ? `held by ${status.lease.purpose} (pid ${status.lease.pid} on ${status.lease.host}) until ${localTime(status.lease.expiresAt)}` : 'free'}`);
    out.push(`Maintenance window: ${status.window.open ? 'open now' : `closed; next opens ${status.window.nextOpening === null ? 'never' : localTime(status.window.nextOpening)}`}`);
    out.push(...daemonLines(daemon));
    out.push(...rolloutLines(status.rollouts));
    out.push('');
    if (status.fleet.length === 0) out.push('Fleet: not observed yet (run gtr plan or gtr reconcile).');
    else {
      out.push(`Fleet (${status.fleetTotal} VMs, as of run #${status.fleetRunId}):`);
      out.push(formatTable(['version', 'confirmed by', 'platform', 'arch', 'VMs'], status.fleet.map((f) => [
        f.version === null ? '(no tag)' : f.version === '' ? '(empty tag)' : f.version,
        f.version === null ? '-' : CONFIRMED_BY[f.source ?? 'tag'], f.platform, f.architecture, f.count,
      ]), table));
      out.push('', 'Against the catalog targets:');
      out.push(formatTable(
        ['agent type', 'arch', 'target', 'VMs', 'on target', 'confirmed', 'tag only', 'older', 'ahead', 'unknown'],
        status.distribution.map((g) => [g.agentType, g.architecture, g.target ?? '(none)', g.total, g.onTarget, g.onTargetConfirmed, g.onTargetTagOnly, g.older, g.ahead, g.unknown]),
      ));
    }
    out.push(...installLines(status.install, table, r?.id ?? null));
    out.push(...attentionLines(status.needsAttention, table));
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  } finally {
    await ctx.close();
  }
}
