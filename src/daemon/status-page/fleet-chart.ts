// The fleet against its targets: one stacked bar per (agent type, architecture) as inline SVG, and the
// same numbers as a table (readable without the picture, and by scripts).
import type { DistributionGroup, VersionState } from '../../views/distribution.js';
import { VERSION_STATES } from '../../views/distribution.js';
import { html, type Html } from './html.js';

const STATE_LABELS: Record<VersionState, string> = {
  onTargetConfirmed: 'on target, confirmed',
  onTargetTagOnly: 'on target by tag only',
  older: 'older',
  ahead: 'ahead',
  unknown: 'unknown',
};
const COLORS: Record<VersionState, string> = { onTargetConfirmed: '#2e9e4f', onTargetTagOnly: '#9bd3a9', older: '#e0a100', ahead: '#3b6fd4', unknown: '#9aa1ad' };

const LABEL_W = 230;
const BAR_W = 440;
const ROW_H = 26;

function bar(g: DistributionGroup, row: number): Html {
  const y = row * ROW_H;
  let x = LABEL_W;
  const segments = VERSION_STATES.filter((s) => g[s] > 0).map((s) => {
    const width = g.total === 0 ? 0 : (g[s] / g.total) * BAR_W;
    const rect = html`<rect data-group="${g.agentType}/${g.architecture}" data-state="${s}" data-count="${g[s]}" x="${x.toFixed(1)}" y="${y + 4}" width="${width.toFixed(1)}" height="${ROW_H - 8}" fill="${COLORS[s]}"><title>${STATE_LABELS[s]}: ${g[s]}</title></rect>`;
    x += width;
    return rect;
  });
  // Integers first: (29 / 100) * 100 is 28.999999999999996, which floors to 28.
  const pct = g.total === 0 ? 0 : Math.floor((g.onTarget * 100) / g.total);
  return html`<text x="0" y="${y + 17}" font-size="13" fill="#1d2330">${g.agentType} ${g.architecture}</text>${segments}<text x="${LABEL_W + BAR_W + 8}" y="${y + 17}" font-size="12" fill="#4a5263">${pct}%</text>`;
}

export function fleetSection(groups: readonly DistributionGroup[], fleetRunId: number | null, fleetTotal: number): Html {
  if (groups.length === 0) return html`<section id="fleet"><h2>Fleet</h2><p class="muted">Not observed yet: no run has read the fleet.</p></section>`;
  const height = groups.length * ROW_H;
  return html`<section id="fleet"><h2>Fleet against the catalog targets</h2>
<p class="muted">${fleetTotal} VMs as run #${fleetRunId} saw them.</p>
<svg role="img" aria-label="VMs per agent type and architecture by version state" width="${LABEL_W + BAR_W + 50}" height="${height}" viewBox="0 0 ${LABEL_W + BAR_W + 50} ${height}">${groups.map((g, i) => bar(g, i))}</svg>
<p class="legend">${VERSION_STATES.map((s) => html`<span><i class="sw ${s}"></i>${STATE_LABELS[s]}</span>`)}</p>
<table id="distribution"><thead><tr><th>agent type</th><th>architecture</th><th>target</th><th class="n">VMs</th>${VERSION_STATES.map((s) => html`<th class="n">${STATE_LABELS[s]}</th>`)}</tr></thead><tbody>
${groups.map((g) => html`<tr data-group="${g.agentType}/${g.architecture}"><td>${g.agentType}</td><td>${g.architecture}</td><td>${g.target ?? '(none)'}</td><td class="n" data-state="total">${g.total}</td>${VERSION_STATES.map((s) => html`<td class="n" data-state="${s}">${g[s]}</td>`)}</tr>`)}
</tbody></table></section>`;
}
