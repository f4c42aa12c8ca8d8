// The status site's HTML pages: `/` (fleet, install funnel, needs attention, rollouts, last runs, daemon) and
// `/runs/ID`. Built from the same JSON documents as `gtr status|runs --json`; read-only.
import type { PageRenderer } from '../status-server.js';
import { positiveParam } from '../status-server.js';
import { fleetSection } from './fleet-chart.js';
import { html } from './html.js';
import { PAGE_CSP, page } from './layout.js';
import { decisionFilter, runPage } from './run-page.js';
import { attentionSection, headerLine, rolloutsSection, runsSection } from './sections.js';
import { installSection } from './install-section.js';

const REFRESH_SECONDS = 30;
const RUN_PAGE = /^\/runs\/([^/]+)$/;

export const renderStatusPage: PageRenderer = (url, routes) => {
  const pageNumber = (name: string) => positiveParam(url.searchParams.get(name)) ?? 1;
  if (url.pathname === '/') {
    const status = routes.status();
    const attentionPage = pageNumber('attention');
    const attention = attentionPage === 1 ? status.needsAttention : routes.attention(attentionPage);
    const body = html`${fleetSection(status.distribution, status.fleetRunId, status.fleetTotal)}${installSection(status.install)}${attentionSection(attention)}${rolloutsSection(status.rollouts, Date.now())}${runsSection(routes.runs(20).runs)}`;
    return { status: 200, csp: PAGE_CSP, html: page({ title: 'GuestTools reconciler', header: headerLine(status, routes.health()), body, refreshSeconds: REFRESH_SECONDS }) };
  }
  const match = RUN_PAGE.exec(url.pathname);
  if (!match) return null;
  const id = positiveParam(match[1] ?? null);
  const run = id === null ? null : routes.runPage(id, decisionFilter(url.searchParams), pageNumber('page'));
  const header = html`<h1><a href="/">GuestTools reconciler</a></h1>`;
  if (!run) {
    return { status: 404, csp: PAGE_CSP, html: page({ title: 'No such run', header, body: html`<section><h2>No such run</h2><p>There is no run ${match[1]}. <a href="/">Back to the status page</a>.</p></section>` }) };
  }
  return { status: 200, csp: PAGE_CSP, html: page({ title: `Run #${run.id}`, header, body: runPage(run, url.searchParams) }) };
};
