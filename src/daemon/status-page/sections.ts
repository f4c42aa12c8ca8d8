// The parts of the main page: the daemon line, the needs-attention list, open rollouts, recent runs.
// Each takes the JSON documents of the CLI (`gtr status|runs --json`), so the page shows their numbers.
import type { needsAttentionJson } from '../../views/attention.js';
import type { runsJson } from '../../views/history.js';
import type { statusJson } from '../../views/status.js';
import type { Health } from '../status-server.js';
import { html, type Html } from './html.js';
import { budgetText, STATUS_COLUMNS } from '../../rollout/report.js';

type Status = ReturnType<typeof statusJson>;
type Attention = ReturnType<typeof needsAttentionJson>;
type Rollout = Status['rollouts'][number];
type RunSummary = ReturnType<typeof runsJson>['runs'][number];

const MEMBER_COLORS: Record<(typeof STATUS_COLUMNS)[number], string> = { verified: '#2e9e4f', attached: '#8bc79b', installing: '#5fae7a', failed: '#b3261e', skipped: '#9aa1ad', pending: '#e4e7eb' };

export function headerLine(status: Status, health: Health): Html {
  const lease = status.lease;
  const next = typeof health.nextRun === 'string' ? health.nextRun : null;
  return html`<h1><a href="/">GuestTools reconciler</a></h1>
<span id="health" class="${health.ok ? 'ok' : 'bad'}">${health.ok ? 'healthy' : `unhealthy: ${String(health.reason ?? '')}`}</span>
<span>role: ${typeof health.role === 'string' ? health.role : 'daemon'}</span>
<span>next tick: ${next ?? 'none'}</span>
<span>lease: ${lease ? `${lease.purpose} (pid ${lease.pid} on ${lease.host}) until ${lease.expiresAt}` : 'free'}</span>
<span>window: ${status.window.open ? 'open' : `closed, opens ${status.window.nextOpening ?? 'never'}`}</span>`;
}

/** Page links for a list of `total` items, `size` per page; `href(n)` builds page n's link. */
export function pager(total: number, size: number, current: number, href: (n: number) => string): Html | null {
  const pages = Math.ceil(total / size);
  if (pages <= 1) return null;
  const shown = [1, current - 1, current, current + 1, pages].filter((n, i, all) => n >= 1 && n <= pages && all.indexOf(n) === i).sort((a, b) => a - b);
  return html`<nav class="pages">page ${shown.map((n) => (n === current ? html`<span>${n}</span>` : html`<a href="${href(n)}">${n}</a>`))} of ${pages}</nav>`;
}

export function attentionSection(a: Attention): Html {
  const rows = a.vms.map(
    (v) => html`<tr data-vm="${v.vmUuid}"><td>${v.vmName ?? '(unknown name)'}<br><code>${v.vmUuid}</code></td><td data-problem>${v.problem}</td><td>${v.decision ?? ''}${v.failures > 0 ? html`<br>${v.failures} failure(s) in a row` : null}${v.quarantinedUntil ? html`<br>until ${v.quarantinedUntil}` : null}${v.regression ? html`<br>regressed ${v.regression}` : null}</td><td>${v.error ? html`<code>${v.error.code}</code> ${v.error.description}` : ''}</td><td>${v.runId === null ? '' : html`<a href="/runs/${v.runId}">#${v.runId}</a>`}</td><td><code>${v.fix}</code></td></tr>`,
  );
  return html`<section id="attention"><h2>Needs attention: <span id="attention-total">${a.total}</span> VMs</h2>
${a.total === 0 ? html`<p class="muted">Nothing needs a person.</p>` : html`<table><thead><tr><th>VM</th><th>problem</th><th>decision</th><th>error</th><th>run</th><th>fix</th></tr></thead><tbody>${rows}</tbody></table>`}
${pager(a.total, a.pageSize, a.page, (n) => `/?attention=${n}#attention`)}</section>`;
}

function waveBar(w: Rollout['waveProgress'][number]): Html {
  const width = 140;
  let x = 0;
  const rects = STATUS_COLUMNS.filter((s) => w[s] > 0).map((s) => {
    const part = w.members === 0 ? 0 : (w[s] / w.members) * width;
    const rect = html`<rect x="${x.toFixed(1)}" y="0" width="${part.toFixed(1)}" height="14" fill="${MEMBER_COLORS[s]}"><title>${s}: ${w[s]}</title></rect>`;
    x += part;
    return rect;
  });
  return html`<svg role="img" aria-label="wave ${w.number} progress" width="${width}" height="14" viewBox="0 0 ${width} 14"><rect width="${width}" height="14" fill="#f0f1f3"/>${rects}</svg>`;
}

function soakText(w: Rollout['waveProgress'][number], now: number): string {
  if (!w.soaking || w.soakEndsAt === null) return '';
  const minutes = Math.max(0, Math.ceil((Date.parse(w.soakEndsAt) - now) / 60_000));
  return `soaking, ${minutes} min left (until ${w.soakEndsAt})`;
}

/** What the running wave waits for: the same columns as `gtr rollout status` (name, uuid, state, waiting since, times out at). */
function waitingTable(r: Rollout): Html | null {
  const w = r.waiting;
  if (!w || w.total === 0) return null;
  const more = w.total - w.members.length;
  return html`<p>Wave ${w.wave} waits for <span data-waiting-total>${w.total}</span> of its ${w.waveMembers} members until ${w.timesOutAt}; then those without the guest's evidence count as failed (no-evidence).</p>
<table data-waiting><thead><tr><th>name</th><th>uuid</th><th>state</th><th>waiting since</th><th>times out at</th></tr></thead><tbody>
${w.members.map((m) => html`<tr data-member="${m.vmUuid}"><td data-col="name">${m.vmName}${m.canary ? ' (canary)' : ''}</td><td data-col="uuid"><code>${m.vmUuid}</code></td><td data-col="state">${m.state}</td><td data-col="waiting-since">${m.waitingSince ?? '-'}</td><td data-col="times-out-at">${m.timesOutAt ?? '-'}</td></tr>`)}
</tbody></table>${more > 0 ? html`<p class="muted">... and ${more} more (<code>gtr rollout status ${r.id} --json</code> lists every member).</p>` : null}`;
}

export function rolloutsSection(rollouts: readonly Rollout[], now: number): Html {
  if (rollouts.length === 0) return html`<section id="rollouts"><h2>Rollouts</h2><p class="muted">No active or paused rollout.</p></section>`;
  return html`<section id="rollouts"><h2>Rollouts</h2>${rollouts.map(
    (r) => html`<div data-rollout="${r.id}"><p><b>#${r.id}</b> ${r.agentTypes.join(', ')} to ${r.target}: <b>${r.state}</b>${r.stateReason ? ` (${r.stateReason})` : ''}; max errors ${r.maxErrors} per wave, <span data-budget>${budgetText(r.errors)}</span>.
${r.state === 'paused' ? html` Resume with <code>gtr rollout resume ${r.id}</code>.` : null}</p>
<table><thead><tr><th>wave</th><th>size</th><th>state</th><th class="n">members</th>${STATUS_COLUMNS.map((s) => html`<th class="n">${s}</th>`)}<th>started</th><th>times out</th><th>soak ends</th></tr></thead><tbody>
${r.waveProgress.map((w) => html`<tr data-wave="${w.number}"><td>${w.number}</td><td>${w.spec}</td><td>${w.timedOut ? `${w.state} (timed out)` : w.state}<br>${waveBar(w)}</td><td class="n" data-count="members">${w.members}</td>${STATUS_COLUMNS.map((s) => html`<td class="n" data-count="${s}">${w[s]}</td>`)}<td>${w.startedAt ?? '-'}</td><td>${w.timesOutAt ?? '-'}</td><td>${w.soakEndsAt ?? '-'}${soakText(w, now) ? html`<br>${soakText(w, now)}` : null}</td></tr>`)}
</tbody></table>${waitingTable(r)}</div>`,
  )}</section>`;
}

function countsText(counts: Record<string, number>): string {
  return ['vms', 'attach', 'succeeded', 'verified', 'failed', 'defer'].filter((k) => counts[k] !== undefined).map((k) => `${k} ${counts[k]}`).join(', ');
}

function seconds(r: RunSummary): string {
  if (r.finishedAt === null) return 'running';
  return `${Math.round((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 100) / 10} s`;
}

export function runsSection(runs: readonly RunSummary[]): Html {
  return html`<section id="runs"><h2>Last ${runs.length} runs</h2>
${runs.length === 0 ? html`<p class="muted">No runs yet.</p>` : html`<table><thead><tr><th>run</th><th>trigger</th><th>status</th><th>started</th><th>duration</th><th>counts</th></tr></thead><tbody>
${runs.map((r) => html`<tr data-run="${r.id}"><td><a href="/runs/${r.id}">#${r.id}</a></td><td>${r.trigger}${r.dryRun ? ' (dry run)' : ''}</td><td class="${['failed', 'halted', 'partial', 'interrupted'].includes(r.status) ? 'bad' : ''}">${r.status}</td><td>${r.startedAt}</td><td>${seconds(r)}</td><td>${countsText(r.counts)}</td></tr>`)}
</tbody></table>`}</section>`;
}
