// Server render time of the status page (`/` and a run page) for a 100k-VM fleet: a ledger filled
// through its own API (a run with every decision, 2% failed attaches in quarantine, 1% unparseable
// tags), then the page rendered as the daemon renders it. Prints the figures; nothing asserts them.
// Usage: node --import tsx scripts/status-page-render.ts [VMS]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, DEFAULT_FILE_CONFIG } from '../src/config/schema.js';
import type { DecisionRow } from '../src/ledger/types.js';
import { Ledger } from '../src/ledger/index.js';
import { decisionTrim } from '../src/reconcile/stored-decisions.js';
import { singleNodeRole } from '../src/ha/role-status.js';
import { ledgerRoutes } from '../src/daemon/status-routes.js';
import { renderStatusPage } from '../src/daemon/status-page/index.js';

const vms = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'gtr-render-'));
const ledger = Ledger.open(join(dir, 'state.db'));
const config = buildConfig(structuredClone(DEFAULT_FILE_CONFIG), () => undefined);
try {
  const now = Date.now();
  const uuid = (i: number) => i.toString(16).padStart(32, '0');
  const runId = ledger.startRun({ trigger: 'schedule', dryRun: false, now });
  ledger.setRunPlan(runId, { planHash: 'sha256:render', targets: [{ agentType: 'LinuxOnKvm', architecture: 'general', version: '1.2.0', iso: 'l.iso' }, { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.2.0', iso: 'w.iso' }] });
  const rows: DecisionRow[] = [];
  for (let i = 0; i < vms; i++) {
    const kind = i % 100;
    const windows = i % 3 === 0;
    const base = { vmUuid: uuid(i), vmName: `vm-${i} <b>`, agentType: windows ? 'WindowsOnKvm' : 'LinuxOnKvm', architecture: i % 7 === 0 ? 'aarch64' : 'x86_64', hostUuid: uuid(1_000_000 + (i % 500)), target: '1.2.0' };
    if (kind < 2) rows.push({ ...base, action: 'attach', reason: 'outdated', current: '1.0.0' });
    else if (kind < 3) rows.push({ ...base, action: 'skip', reason: 'unparseable-tag', current: 'x.y' });
    else if (kind < 30) rows.push({ ...base, action: 'attach', reason: 'outdated', current: '1.1.0' });
    else rows.push({ ...base, action: 'skip', reason: 'up-to-date', current: '1.2.0' });
  }
  ledger.recordDecisions(runId, rows, decisionTrim());
  const quarantine = { afterFailures: 1, baseMs: 3_600_000, maxMs: 7 * 86_400_000 };
  for (const r of rows) {
    if (r.action !== 'attach') continue;
    ledger.beginAttach(runId, r.vmUuid, `job-${r.vmUuid}`, '1.2.0', now);
    const failed = r.current === '1.0.0';
    ledger.finishAttach(runId, r.vmUuid, { outcome: failed ? 'failed' : 'attached', error: failed ? { code: 'VM.1002', description: 'attach <failed>', details: '' } : null, now, quarantine });
  }
  const fleet = new Map<string, { version: string; platform: string; architecture: string; count: number }>();
  for (const r of rows) {
    const key = `${r.current}/${r.agentType}/${r.architecture}`;
    const row = fleet.get(key) ?? { version: r.current ?? '', platform: r.agentType === 'WindowsOnKvm' ? 'Windows' : 'Linux', architecture: r.architecture ?? 'x86_64', count: 0 };
    row.count++;
    fleet.set(key, row);
  }
  ledger.setRunFleet(runId, [...fleet.values()]);
  ledger.finishRun(runId, { status: 'partial', counts: { vms, attach: 29_000 }, now });

  const routes = { ...ledgerRoutes(() => ledger, () => config, singleNodeRole), health: () => ({ ok: true, nextRun: null }), metrics: () => Promise.resolve({ contentType: 'text/plain', body: '' }) };
  const time = (path: string) => {
    const samples: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 7; i++) {
      const started = process.hrtime.bigint();
      const page = renderStatusPage(new URL(path, 'http://status.local'), routes);
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      bytes = page?.html.length ?? 0;
    }
    samples.sort((a, b) => a - b);
    console.log(`${path.padEnd(34)} median ${samples[3]?.toFixed(1)} ms, max ${samples[6]?.toFixed(1)} ms, ${(bytes / 1024).toFixed(0)} KiB`);
  };
  console.log(`status page render time, ${vms} VMs (${rows.filter((r) => r.action === 'attach').length} attaches in the run, ${ledger.needsAttention(now, ['unparseable-tag'], 1, 0).total} VMs need attention):`);
  time('/');
  time('/?attention=20');
  time(`/runs/${runId}`);
  time(`/runs/${runId}?action=attach&reason=outdated&page=50`);
} finally {
  ledger.close();
  rmSync(dir, { recursive: true, force: true });
}
