// /runs/ID: one run's summary and its stored decisions, filterable by action and reason through query
// parameters (a plain GET form, no script) and paged.
import { outcomeText, runSpanText, type runPageJson } from '../../views/history.js';
import { html, type Html } from './html.js';
import { pager } from './sections.js';

type Run = ReturnType<typeof runPageJson>;
export const DECISIONS_PAGE_SIZE = 100;

function options(values: readonly string[], chosen: string | null): Html[] {
  return [html`<option value="">any</option>`, ...values.map((v) => html`<option value="${v}"${v === chosen ? html` selected` : null}>${v}</option>`)];
}

/** The action and reason filters of a run page's query (empty means any). */
export function decisionFilter(query: URLSearchParams): { action: string | null; reason: string | null } {
  return { action: query.get('action') || null, reason: query.get('reason') || null };
}

export function runPage(run: Run, query: URLSearchParams): Html {
  const { action, reason } = decisionFilter(query);
  const distinct = (pick: (k: Run['kinds'][number]) => string) => [...new Set(run.kinds.map(pick))].sort();
  const stored = run.kinds.reduce((n, k) => n + k.n, 0);
  const link = (n: number) => `/runs/${run.id}?${new URLSearchParams({ ...(action ? { action } : {}), ...(reason ? { reason } : {}), page: String(n) }).toString()}`;
  const unlisted = Object.entries({ ...run.countedOnly, ...run.unchanged });
  return html`<section id="run"><h2>Run #${run.id}: <span id="run-status">${run.status}</span></h2>
<p>${run.trigger}${run.dryRun ? ' (dry run)' : ''}, ${runSpanText(run)}${run.message ? html`<br>${run.message}` : null}</p>
<p>targets: ${run.targets.map((t) => html`<code>${JSON.stringify(t)}</code> `)}</p>
<table id="counts"><tbody>${Object.entries(run.counts).map(([k, v]) => html`<tr><td>${k}</td><td class="n">${v}</td></tr>`)}</tbody></table>
${unlisted.length > 0 ? html`<p class="muted">Not listed below (stored as counts only, or unchanged since an earlier run): ${unlisted.map(([k, v]) => `${k} ${v}`).join(', ')}.</p>` : null}
</section>
<section id="decisions"><h2>Decisions: <span id="decisions-total">${run.total}</span> of ${stored} stored</h2>
<form method="get" action="/runs/${run.id}"><label>action <select name="action">${options(distinct((a) => a.action), action)}</select></label>
<label>reason <select name="reason">${options(distinct((a) => a.reason), reason)}</select></label><button type="submit">filter</button></form>
<table><thead><tr><th>VM</th><th>action</th><th>reason</th><th>current</th><th>target</th><th>outcome</th><th>error</th></tr></thead><tbody>
${run.actions.map((a) => html`<tr data-vm="${a.vmUuid}"><td>${a.vmName}<br><code>${a.vmUuid}</code></td><td>${a.action}</td><td>${a.reason}</td><td>${a.current ?? ''}</td><td>${a.target ?? ''}</td><td>${a.outcome === null ? '' : outcomeText(a)}</td><td>${a.error ? html`<code>${a.error.code}</code> ${a.error.description}` : ''}</td></tr>`)}
</tbody></table>${pager(run.total, run.pageSize, run.page, link)}</section>`;
}
