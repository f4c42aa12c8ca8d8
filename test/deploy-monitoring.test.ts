// The Grafana dashboard and the example alert rules cannot drift from /metrics: every metric name
// their queries use is one the daemon's registry exposes; and the fleet figures on /metrics are those
// of `gtr status --json` (real ledger in a temp dir, the daemon's own metrics registry).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildConfig, DEFAULT_FILE_CONFIG } from '../src/config/schema.js';
import { createMetrics } from '../src/daemon/metrics.js';
import { Ledger } from '../src/ledger/index.js';
import { statusJson } from '../src/views/status.js';
import { singleNodeRole } from '../src/ha/role-status.js';
import { ROOT } from './helpers/cli.js';

const KEYWORDS = new Set(['and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads: what is left after strings, label matchers, ranges, groupings and functions. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/\b[a-zA-Z_][\w]*\s*\(/g, ' (');
  return [...new Set((bare.match(/\b[a-zA-Z_:][\w:]*\b/g) ?? []).filter((t) => !KEYWORDS.has(t.toLowerCase())))];
}

function withMetrics<T>(fn: (ledger: Ledger, metrics: ReturnType<typeof createMetrics>) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'gtr-monitoring-'));
  const ledger = Ledger.open(join(dir, 'state.db'));
  const metrics = createMetrics({ ledger: () => ledger });
  for (let i = 0; i < 3; i++) metrics.observeRequest('QueryVmInstance', 'GET', 0.01, null);
  return fn(ledger, metrics).finally(() => {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

/** Names on /metrics: every `# TYPE` line, and a histogram's _bucket, _sum and _count series. */
async function exposedNames(metrics: ReturnType<typeof createMetrics>): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of (await metrics.registry.metrics()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = '', type] = m;
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

describe('deploy: Grafana dashboard and Prometheus alerts', () => {
  it('parses PromQL metric names', () => {
    assert.deepEqual(metricNames('sum by (le) (rate(gtr_a_bucket{x="y(z)"}[6h])) / on (job) gtr_b and bool time() - gtr_c offset 5m'), ['gtr_a_bucket', 'gtr_b', 'gtr_c']);
  });

  it('every metric name of the dashboard and of the alert rules is exposed by /metrics', async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'guesttools-reconciler.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const rules = (parse(readFileSync(join(ROOT, 'deploy', 'prometheus', 'alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    const queries = [
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
      ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ];
    await withMetrics(async (_ledger, metrics) => {
      const exposed = await exposedNames(metrics);
      const used = new Set<string>();
      for (const q of queries) {
        const names = metricNames(q.expr);
        assert.ok(names.length > 0, `${q.where} reads no metric: ${q.expr}`);
        for (const name of names) {
          assert.ok(exposed.has(name), `${q.where} uses ${name}, which /metrics does not expose`);
          used.add(name);
        }
      }
      for (const needed of ['gtr_fleet_vms', 'gtr_vms', 'gtr_attaches_total', 'gtr_run_duration_seconds_bucket', 'gtr_zstack_errors', 'gtr_rollout_wave_members', 'gtr_runs_total', 'gtr_last_success_timestamp_seconds', 'gtr_api_request_duration_seconds_bucket', 'gtr_api_errors_total']) {
        assert.ok(used.has(needed), `the dashboard or the alerts show ${needed}`);
      }
    });
    for (const alert of ['GtrRunsFailing', 'GtrBudgetHalted', 'GtrNotConvergingGrowing', 'GtrCatalogMismatch', 'GtrNoSuccessfulRun', 'GtrApiErrorRateHigh']) {
      assert.ok(rules.some((r) => r.alert === alert), `alert ${alert}`);
    }
  });

  it('gtr_fleet_vms shows the distribution of gtr status --json', async () => {
    await withMetrics(async (ledger, metrics) => {
      const now = Date.now();
      const runId = ledger.startRun({ trigger: 'cli', dryRun: false, now });
      ledger.setRunFleet(runId, [
        { version: '1.2.0', source: 'guest', platform: 'Linux', architecture: 'x86_64', count: 5 },
        { version: '1.2', source: 'tag', platform: 'Linux', architecture: 'x86_64', count: 1 },
        { version: '1.2.0', source: 'sent-tag', platform: 'Linux', architecture: 'x86_64', count: 1 },
        { version: '1.0.0', platform: 'Linux', architecture: 'x86_64', count: 3 },
        { version: '1.3', platform: 'Windows', architecture: 'x86_64', count: 2 },
        { version: 'banana', platform: 'Windows', architecture: 'x86_64', count: 1 },
        { version: null, platform: 'Linux', architecture: 'aarch64', count: 4 },
      ]);
      ledger.setRunPlan(runId, { planHash: 'sha256:x', targets: [{ agentType: 'LinuxOnKvm', architecture: 'general', version: '1.2.0', iso: 'l.iso' }, { agentType: 'WindowsOnKvm', architecture: 'x86_64', version: '1.2.0', iso: 'w.iso' }] });
      ledger.finishRun(runId, { status: 'succeeded', counts: { vms: 17 }, now });
      const status = statusJson(ledger, buildConfig(structuredClone(DEFAULT_FILE_CONFIG), () => undefined), now, singleNodeRole(now));
      const text = await metrics.registry.metrics();
      const states = {
        onTargetConfirmed: 'state="on_target",confirmed="true"',
        onTargetTagOnly: 'state="on_target",confirmed="false"',
        older: 'state="older"',
        ahead: 'state="ahead"',
        unknown: 'state="unknown"',
      } as const;
      assert.equal(status.distribution.length, 3);
      for (const g of status.distribution) {
        for (const [key, labels] of Object.entries(states) as [keyof typeof states, string][]) {
          const line = `gtr_fleet_vms{agent_type="${g.agentType}",architecture="${g.architecture}",target="${g.target ?? 'none'}",${labels}} ${g[key]}`;
          assert.ok(text.includes(line), `missing ${line}`);
        }
      }
      const linux = status.distribution.find((g) => g.agentType === 'LinuxOnKvm' && g.architecture === 'x86_64');
      assert.deepEqual([linux?.onTarget, linux?.onTargetConfirmed, linux?.onTargetTagOnly], [7, 6, 1], 'a tag we did not send confirms; the tag we sent does not');
      const windows = status.distribution.find((g) => g.agentType === 'WindowsOnKvm');
      assert.deepEqual([windows?.onTarget, windows?.ahead, windows?.unknown], [0, 2, 1], 'ahead never counts as on target; an unparseable version is unknown');
    });
  });
});
