// The status page's install section (issue 23 step 7): the funnel per group of the ISOs this
// reconciler attached (attached -> installing -> verified -> detached), the failed installs with their
// cause and stderr tail, the VMs awaiting a person's install with the command to paste, and what the
// management node lacks. From `gtr status --json`'s `install`, so the page shows the CLI's numbers.
import type { statusJson } from '../../views/status.js';
import { html, type Html } from './html.js';
import { MANUAL_WHY } from '../../views/install-status.js';

type Install = ReturnType<typeof statusJson>['install'];
type FunnelRow = Install['funnel'][number];

const STAGES = ['attached', 'installing', 'verified', 'detached'] as const;
const SIDE = ['awaiting', 'installFailed', 'noEvidence', 'detachFailed'] as const;
const SIDE_LABEL: Record<(typeof SIDE)[number], string> = { awaiting: 'awaiting', installFailed: 'install-failed', noEvidence: 'no-evidence', detachFailed: 'detach-failed' };

/** attached -> installing -> verified -> detached, each bar as wide as its share of the attached. */
function funnelBars(g: FunnelRow): Html {
  const width = 160;
  return html`<svg role="img" aria-label="install funnel of ${g.target}" width="${width}" height="${STAGES.length * 8}" viewBox="0 0 ${width} ${STAGES.length * 8}">${STAGES.map((s, i) => {
    const w = g.attached === 0 ? 0 : (g[s] / g.attached) * width;
    return html`<rect x="0" y="${i * 8}" width="${w.toFixed(1)}" height="6" fill="${['#8bc79b', '#5fae7a', '#2e9e4f', '#1f6f37'][i]}"><title>${s}: ${g[s]}</title></rect>`;
  })}</svg>`;
}

export function installSection(s: Install): Html | null {
  const missing = [s.unavailable.scriptLibrary, s.unavailable.detach].filter((m) => m !== null);
  if (s.mode === 'off' && s.funnel.length === 0 && s.failures.total === 0 && s.awaitingPerson.total === 0 && missing.length === 0) return null;
  const funnel = s.funnel.length === 0 ? html`<p class="muted">Nothing attached by this reconciler yet.</p>` : html`<table data-funnel-table><thead><tr><th>agent type</th><th>arch</th><th>target</th><th>funnel</th>${STAGES.map((k) => html`<th class="n">${k}</th>`)}${SIDE.map((k) => html`<th class="n">${SIDE_LABEL[k]}</th>`)}</tr></thead><tbody>
${s.funnel.map((g) => html`<tr data-funnel="${g.agentType ?? '?'}/${g.architecture ?? '?'}/${g.target}"><td>${g.agentType ?? '?'}</td><td>${g.architecture ?? '?'}</td><td>${g.target}</td><td>${funnelBars(g)}</td>${STAGES.map((k) => html`<td class="n" data-count="${k}">${g[k]}</td>`)}${SIDE.map((k) => html`<td class="n" data-count="${SIDE_LABEL[k]}">${g[k]}</td>`)}</tr>`)}
</tbody></table>`;
  const failures = s.failures.total === 0 ? null : html`<h3>Install failures: <span data-failures-total>${s.failures.total}</span> VMs</h3>
<table data-failures><thead><tr><th>VM</th><th>target</th><th>outcome</th><th>cause</th><th>run</th><th>fix</th></tr></thead><tbody>
${s.failures.vms.map((f) => html`<tr data-vm="${f.vmUuid}"><td>${f.vmName ?? '(unknown name)'}<br><code>${f.vmUuid}</code></td><td>${f.target}</td><td data-outcome>${f.state}${f.reason ? html`<br>${f.reason}` : null}</td><td data-cause>${f.errCause ?? ''}${f.stderrTail ? html`<pre data-stderr>${f.stderrTail}</pre>` : null}</td><td><a href="/runs/${f.startedBy}">#${f.startedBy}</a></td><td><code>${f.fix}</code></td></tr>`)}
</tbody></table>${s.failures.total > s.failures.vms.length ? html`<p class="muted">... and ${s.failures.total - s.failures.vms.length} more (<code>gtr status --json</code>).</p>` : null}`;
  const m = s.awaitingPerson;
  const manual = m.total === 0 ? null : html`<h3>Awaiting a person's install: <span data-awaiting-total>${m.total}</span> VMs (run <a href="/runs/${m.runId}">#${m.runId}</a>)</h3>
<table data-awaiting><thead><tr><th>VM</th><th>platform</th><th>why</th></tr></thead><tbody>
${m.vms.map((v) => html`<tr data-vm="${v.vmUuid}"><td>${v.vmName ?? ''}<br><code>${v.vmUuid}</code></td><td>${v.platform}</td><td>${MANUAL_WHY[v.why] ?? v.why}</td></tr>`)}
</tbody></table>${m.total > m.vms.length ? html`<p class="muted">... and ${m.total - m.vms.length} more.</p>` : null}
${m.linuxCommand === null ? null : html`<p>In each Linux guest, as root:</p><pre data-linux-command>${m.linuxCommand}</pre>`}`;
  return html`<section id="install"><h2>Install in the guest</h2>
<p>install.mode <b>${s.mode}</b>, policy.detachAfterVerify <b>${s.detachAfterVerify ? 'on' : 'off'}</b>.</p>
${missing.map((w) => html`<p class="bad" data-unavailable>unavailable (run #${s.unavailable.runId}): ${w}</p>`)}
${funnel}${failures}${manual}</section>`;
}
