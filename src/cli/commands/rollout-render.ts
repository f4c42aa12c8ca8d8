// Human output of rollouts: the one-line summary in `gtr status`, the detail of `gtr rollout status`
// and the table of `gtr rollout list`.
import { formatTable } from '../table.js';
import type { rolloutJson } from '../../rollout/report.js';

type RolloutJson = ReturnType<typeof rolloutJson>;

export function summaryLine(r: RolloutJson): string {
  const wave = r.currentWave === null ? 'no wave started' : `wave ${r.currentWave}/${r.waveProgress.length}`;
  const why = r.state === 'paused' && r.stateReason ? ` (${r.stateReason})` : '';
  const unconfirmed = r.counts.unconfirmed > 0 ? ` (+${r.counts.unconfirmed} unconfirmed)` : '';
  return `#${r.id} ${r.state}${why}: ${r.agentTypes.join(', ')} -> ${r.target}, ${wave}, ${r.counts.verified}/${r.counts.members} verified${unconfirmed}, ` +
    `${r.counts.failed} failed (max ${r.maxErrors} per wave)`;
}

export function rolloutLines(open: readonly RolloutJson[]): string[] {
  if (open.length === 0) return ['Rollouts: none open'];
  return open.map((r) => `Rollout ${summaryLine(r)}`);
}

export function renderRollout(r: RolloutJson): string {
  const out: string[] = [];
  out.push(`Rollout ${summaryLine(r)}`);
  out.push(`Started ${r.createdAt} by ${r.createdBy}; waves ${r.waves}, soak ${r.soak}, wave timeout ${r.waveTimeout}, max errors ${r.maxErrors}`);
  const canaries = [...r.canaries.vms, ...r.canaries.clusters.map((c) => `cluster ${c}`), ...r.canaries.tags.map((t) => `tag ${t}`)];
  if (canaries.length > 0) out.push(`Canaries: ${canaries.join(', ')}`);
  out.push('');
  out.push(formatTable(
    ['group', 'target', 'members', 'attached', 'verified', 'unconfirmed', 'failed', 'skipped', 'pending'],
    r.groups.map((g) => [`${g.agentType}/${g.architecture}`, g.target, g.members, g.attached, g.verified, g.unconfirmed, g.failed, g.skipped, g.pending]),
  ));
  out.push('');
  out.push(formatTable(
    ['wave', 'size', 'state', 'members', 'attached', 'verified', 'unconfirmed', 'failed', 'skipped', 'pending', 'started', 'soak ends'],
    r.waveProgress.map((w) => [w.number, w.spec, w.timedOut ? `${w.state} (timed out)` : w.state, w.members, w.attached, w.verified, w.unconfirmed,
      w.failed, w.skipped, w.pending, w.startedAt ?? '-', w.soakEndsAt ?? '-']),
  ));
  const failed = (r.members ?? []).filter((m) => m.status === 'failed' || m.detachError);
  if (failed.length > 0) {
    out.push('', 'Failed members:');
    for (const m of failed) out.push(`  ${m.vmUuid} ${m.vmName} (wave ${m.wave}): ${m.reason ?? m.detachError ?? 'failed'}`);
  }
  if (r.transitions && r.transitions.length > 0) {
    out.push('', 'History:');
    for (const t of r.transitions) {
      const change = t.from || t.to ? ` ${t.from ?? '-'} -> ${t.to ?? '-'}` : '';
      out.push(`  ${t.at} ${t.event}${t.wave !== null ? ` wave ${t.wave}` : ''}${change} by ${t.who}${t.why ? `: ${t.why}` : ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}

export function renderList(rollouts: readonly RolloutJson[]): string {
  if (rollouts.length === 0) return 'No rollouts yet (gtr rollout start).\n';
  return `${formatTable(
    ['id', 'state', 'agent types', 'target', 'wave', 'members', 'verified', 'failed', 'created', 'by'],
    rollouts.map((r) => [r.id, r.state, r.agentTypes.join(','), r.target, r.currentWave === null ? '-' : `${r.currentWave}/${r.waveProgress.length}`,
      r.counts.members, r.counts.verified, r.counts.failed, r.createdAt ?? '-', r.createdBy]),
  )}\n`;
}
