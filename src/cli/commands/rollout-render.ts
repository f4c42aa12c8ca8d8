// Human output of rollouts: the one-line summary in `gtr status`, the detail of `gtr rollout status`
// (with what the running wave waits for) and the table of `gtr rollout list`.
import { formatTable } from '../../text/table.js';
import { localTime } from '../../time-format.js';
import { printable } from '../../text/printable.js';
import { budgetText, STATUS_COLUMNS, type rolloutJson } from '../../rollout/report.js';

type RolloutJson = ReturnType<typeof rolloutJson>;

export function summaryLine(r: RolloutJson): string {
  const wave = r.currentWave === null ? 'no wave started' : `wave ${r.currentWave}/${r.waveProgress.length}`;
  const why = r.state === 'paused' && r.stateReason ? ` (${r.stateReason})` : '';
  const waits = r.waiting && r.waiting.total > 0
    ? `; wave ${r.waiting.wave} waits for ${r.waiting.total} member${r.waiting.total === 1 ? '' : 's'}, times out at ${localTime(r.waiting.timesOutAt)}`
    : '';
  return `#${r.id} ${r.state}${why}: ${r.agentTypes.join(', ')} -> ${r.target}, ${wave}, ${r.counts.verified}/${r.counts.members} verified, ` +
    `${r.counts.failed} failed (max ${r.maxErrors} per wave; ${budgetText(r.errors)})${waits}`;
}

export function rolloutLines(open: readonly RolloutJson[]): string[] {
  if (open.length === 0) return ['Rollouts: none open'];
  return open.map((r) => `Rollout ${summaryLine(r)}`);
}

/** The running wave's unfinished members: name, uuid, state, waiting since, times out at; at most 20, then a count. */
function waitingLines(r: RolloutJson): string[] {
  const w = r.waiting;
  if (!w || w.total === 0) return [];
  const out = [`Wave ${w.wave} waits for ${w.total} of its ${w.waveMembers} members until ${localTime(w.timesOutAt)}; then those without the guest's evidence count as failed (no-evidence):`];
  out.push(formatTable(
    ['name', 'uuid', 'state', 'waiting since', 'times out at'],
    w.members.map((m) => [`${m.vmName}${m.canary ? ' (canary)' : ''}`, m.vmUuid, m.state, orDash(m.waitingSince), orDash(m.timesOutAt)]),
  ));
  const more = w.total - w.members.length;
  if (more > 0) out.push(`... and ${more} more (gtr rollout status ${r.id} --json lists every member)`);
  return out;
}

export function renderRollout(r: RolloutJson): string {
  const out: string[] = [];
  out.push(`Rollout ${summaryLine(r)}`);
  out.push(`Started ${orDash(r.createdAt)} by ${r.createdBy}; waves ${r.waves}, soak ${r.soak}, wave timeout ${r.waveTimeout}, max errors ${r.maxErrors}`);
  const canaries = [...r.canaries.vms, ...r.canaries.clusters.map((c) => `cluster ${c}`), ...r.canaries.tags.map((t) => `tag ${t}`)];
  if (canaries.length > 0) out.push(`Canaries: ${printable(canaries.join(', '))}`);
  out.push('');
  out.push(formatTable(
    ['group', 'target', 'members', ...STATUS_COLUMNS],
    r.groups.map((g) => [`${g.agentType}/${g.architecture}`, g.target, g.members, ...STATUS_COLUMNS.map((s) => g[s])]),
  ));
  out.push('');
  out.push(formatTable(
    ['wave', 'size', 'state', 'members', ...STATUS_COLUMNS, 'started', 'times out', 'soak ends'],
    r.waveProgress.map((w) => [w.number, w.spec, w.timedOut ? `${w.state} (timed out)` : w.state, w.members, ...STATUS_COLUMNS.map((s) => w[s]),
      orDash(w.startedAt), orDash(w.timesOutAt), orDash(w.soakEndsAt)]),
  ));
  const waiting = waitingLines(r);
  if (waiting.length > 0) out.push('', ...waiting);
  const failed = (r.members ?? []).filter((m) => m.status === 'failed' || m.detachError);
  if (failed.length > 0) {
    out.push('', 'Failed members:');
    for (const m of failed) out.push(`  ${m.vmUuid} ${printable(m.vmName)} (wave ${m.wave}): ${printable(m.reason ?? m.detachError ?? 'failed')}`);
  }
  if (r.transitions && r.transitions.length > 0) {
    out.push('', 'History:');
    for (const t of r.transitions) {
      const change = t.from || t.to ? ` ${t.from ?? '-'} -> ${t.to ?? '-'}` : '';
      out.push(`  ${localTime(t.at)} ${t.event}${t.wave !== null ? ` wave ${t.wave}` : ''}${change} by ${t.who}${t.why ? `: ${printable(t.why)}` : ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}

export function renderList(rollouts: readonly RolloutJson[]): string {
  if (rollouts.length === 0) return 'No rollouts yet (gtr rollout start).\n';
  return `${formatTable(
    ['id', 'state', 'agent types', 'target', 'wave', 'members', 'verified', 'failed', 'created', 'by'],
    rollouts.map((r) => [r.id, r.state, r.agentTypes.join(','), r.target, r.currentWave === null ? '-' : `${r.currentWave}/${r.waveProgress.length}`,
      r.counts.members, r.counts.verified, r.counts.failed, orDash(r.createdAt), r.createdBy]),
  )}\n`;
}

/** An instant in the local zone with its offset, or `-`. */
function orDash(at: string | null | undefined): string {
  return at == null ? '-' : localTime(at);
}
