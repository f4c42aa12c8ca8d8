// The status page in a real browser: Debian's chromium driven by playwright-core, against a daemon
// (child process) whose ledger holds real runs and a rollout against the simulator. The page must show
// the numbers of `gtr status --json`, link to a run's decisions, and show a hostile VM name as text
// without running it. Chromium missing is a failure, never a skip (.ci/run installs it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startSimulator } from '../src/sim/index.js';
import { HEX, testFleet } from './helpers/fleet.js';
import { gtr, ROOT, simConfig, workspace } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';

const CHROMIUM = '/usr/bin/chromium';
const XSS_NAME = '<img src=x onerror=alert(1)>';
const NEVER = '0 0 1 1 *';

type Status = {
  fleetTotal: number;
  distribution: { agentType: string; architecture: string; total: number; onTarget: number; onTargetConfirmed: number; onTargetTagOnly: number; older: number; ahead: number; unknown: number }[];
  needsAttention: { total: number; vms: { vmUuid: string; vmName: string | null; problem: string }[] };
  rollouts: {
    id: number;
    errors: { wave: number | null; failed: number; budget: number };
    waveProgress: { number: number; members: number; verified: number; attached: number; installing: number; failed: number; skipped: number; pending: number }[];
    waiting: { total: number; members: { vmUuid: string; vmName: string; canary: boolean; state: string; waitingSince: string; timesOutAt: string }[] } | null;
  }[];
};

describe('status page in chromium', () => {
  it('shows the numbers of gtr status --json, links runs, and shows a hostile VM name as text', async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
    const fleet = testFleet(24, {
      hosts: 6,
      patch: (i) => ({
        ...(i === 0 ? { name: XSS_NAME } : {}),
        ...(i === 1 ? { tags: ['GuestTools::banana'] } : {}),
        // On target before we came (a tag the MN wrote), or a guest that reports what we attach: confirmed.
        ...(i === 4 ? { tags: ['GuestTools::1.2.0'] } : {}),
        ...(i % 6 === 2 ? { installs: true, guest: { qgaState: 'Running' as const, version: '1.0.0' } } : {}),
        ...(i % 4 === 3 ? { platform: 'Windows' } : {}),
        ...(i % 8 === 5 ? { architecture: 'aarch64' } : {}),
      }),
    });
    // recordVersionTag: the MN keeps the tag we send, so attached VMs whose guest never installs are on target by that tag only.
    const sim = await startSimulator({ jobDurationMs: 5, recordVersionTag: true, guests: { installDelayMs: 5 }, password: 'Page-Secret-7', fleet, faults: { failVmUuids: [HEX(1)] } });
    const ws = await workspace();
    const userData = mkdtempSync(join(tmpdir(), 'gtr-chromium-'));
    try {
      const config = ws.writeConfig(simConfig(ws, sim, { zstack: { recordVersionTag: true }, schedule: { cron: NEVER }, http: { listen: '127.0.0.1:0' }, policy: { maxPerRun: 10, maxErrors: '50%' }, log: { level: 'info' } }));
      const cli = (args: string[]) => gtr([...args, '--config', config]);
      // History: a run that attaches 10 VMs (one fails), a rollout of the rest, and its first wave.
      assert.ok([0, 1].includes((await cli(['reconcile'])).code ?? -1));
      const started = await cli(['rollout', 'start', '--waves', '3,100%', '--soak', '1h', '--max-errors', '5', '--json']);
      assert.equal(started.code, 0, started.stderr);
      assert.ok([0, 1].includes((await cli(['reconcile'])).code ?? -1));
      const status = JSON.parse((await cli(['status', '--json'])).stdout) as Status;
      assert.ok(status.needsAttention.vms.some((v) => v.vmName === XSS_NAME), 'the hostile VM needs attention (its attach failed)');
      const sum = (key: 'onTargetConfirmed' | 'onTargetTagOnly') => status.distribution.reduce((n, g) => n + g[key], 0);
      assert.ok(sum('onTargetConfirmed') > 0 && sum('onTargetTagOnly') > 0, 'VMs on target both confirmed and by our tag only');

      const daemon = startDaemon(config);
      const browser = await chromium.launchPersistentContext(userData, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1200, height: 900 },
      });
      try {
        const url = await daemon.url();
        const page = await browser.newPage();
        const dialogs: string[] = [];
        const consoleErrors: string[] = [];
        page.on('dialog', (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });
        page.on('console', (m) => {
          if (m.type() === 'error') consoleErrors.push(m.text());
        });
        page.on('pageerror', (e) => consoleErrors.push(e.message));
        const response = await page.goto(`${url}/`);
        assert.equal(response?.status(), 200);
        assert.match(response?.headers()['content-security-policy'] ?? '', /default-src 'none'/);
        assert.equal(response?.headers()['x-content-type-options'], 'nosniff');

        // Distribution: every group's numbers as in `gtr status --json`.
        for (const g of status.distribution) {
          for (const key of ['total', 'onTargetConfirmed', 'onTargetTagOnly', 'older', 'ahead', 'unknown'] as const) {
            const cell = page.locator(`#distribution tr[data-group="${g.agentType}/${g.architecture}"] td[data-state="${key}"]`);
            assert.equal(await cell.textContent(), String(g[key]), `${g.agentType}/${g.architecture} ${key}`);
            // The bar draws a segment for each state with VMs, carrying the same count.
            const segment = page.locator(`#fleet svg rect[data-group="${g.agentType}/${g.architecture}"][data-state="${key}"]`);
            if (key !== 'total') assert.equal(g[key] > 0 ? await segment.getAttribute('data-count') : await segment.count(), g[key] > 0 ? String(g[key]) : 0, `bar ${g.agentType}/${g.architecture} ${key}`);
          }
        }
        assert.equal(await page.locator('#distribution tbody tr').count(), status.distribution.length);
        assert.equal(await page.locator('#fleet svg rect').count() > 0, true, 'the bars are drawn');

        // Needs attention: the same VMs and problems; the hostile name shows as text and runs nothing.
        assert.equal(await page.locator('#attention-total').textContent(), String(status.needsAttention.total));
        for (const v of status.needsAttention.vms) {
          assert.equal(await page.locator(`#attention tr[data-vm="${v.vmUuid}"] td[data-problem]`).textContent(), v.problem);
        }
        const hostile = page.locator(`#attention tr[data-vm="${HEX(1)}"]`);
        assert.match((await hostile.textContent()) ?? '', /<img src=x onerror=alert\(1\)>.*SYS\.1006.*gtr retry --vm/s, 'name as text, the error, the fix');
        assert.equal(await page.locator('#attention img').count(), 0, 'no element made from the VM name');

        // Rollout waves: the per-wave counts of `gtr status --json`.
        const rollout = status.rollouts[0];
        assert.ok(rollout, 'an open rollout');
        for (const w of rollout.waveProgress) {
          for (const key of ['members', 'attached', 'installing', 'verified', 'failed', 'skipped', 'pending'] as const) {
            const cell = page.locator(`[data-rollout="${rollout.id}"] tr[data-wave="${w.number}"] td[data-count="${key}"]`);
            assert.equal(await cell.textContent(), String(w[key]), `wave ${w.number} ${key}`);
          }
          assert.equal(w.members, w.attached + w.installing + w.verified + w.failed + w.skipped + w.pending, 'the status columns add up to the members');
        }
        // The CLI's columns, in its order; and what the running wave waits for, as `gtr rollout status` lists it.
        const headers = await page.locator(`[data-rollout="${rollout.id}"] table`).first().locator('th').allTextContents();
        assert.deepEqual(headers, ['wave', 'size', 'state', 'members', 'attached', 'installing', 'verified', 'failed', 'skipped', 'pending', 'started', 'times out', 'soak ends']);
        assert.equal(await page.locator(`[data-rollout="${rollout.id}"] [data-budget]`).textContent(), `wave 1: ${rollout.errors.failed} failed, at most ${rollout.errors.budget} allowed`);
        const waiting = rollout.waiting;
        assert.ok(waiting && waiting.total > 0, 'wave 1 waits for members attached without evidence (our own tag only)');
        assert.equal(await page.locator(`[data-rollout="${rollout.id}"] [data-waiting-total]`).textContent(), String(waiting.total));
        for (const m of waiting.members) {
          const cells = await page.locator(`[data-rollout="${rollout.id}"] tr[data-member="${m.vmUuid}"] td`).allTextContents();
          assert.deepEqual(cells, [`${m.vmName}${m.canary ? ' (canary)' : ''}`, m.vmUuid, m.state, m.waitingSince, m.timesOutAt]);
        }
        const human = await cli(['rollout', 'status', String(rollout.id)]);
        for (const m of waiting.members) assert.match(human.stdout, new RegExp(`${m.vmUuid}\\s+${m.state.replace(/[()]/g, '\\$&')}\\s+${m.waitingSince}\\s+${m.timesOutAt}`), 'the same row in the CLI');
        // The README's picture is refreshed with GTR_UPDATE_SCREENSHOT=1; otherwise it goes to the temp folder.
        const shot = process.env.GTR_UPDATE_SCREENSHOT === '1' ? join(ROOT, 'docs', 'status-page.png') : join(userData, 'status-page.png');
        await page.screenshot({ path: shot, fullPage: true });

        // Follow the first run's link; filter its decisions to the failed attach's reason.
        await page.locator('#runs a[href="/runs/1"]').click();
        await page.waitForURL(`${url}/runs/1`);
        const run = JSON.parse((await cli(['runs', 'show', '1', '--json'])).stdout) as { status: string; actions: { vmUuid: string; action: string; reason: string }[] };
        assert.equal(await page.locator('#run-status').textContent(), run.status);
        assert.equal(await page.locator('#decisions-total').textContent(), String(run.actions.length));
        await page.locator('select[name="action"]').selectOption('attach');
        await page.locator('button[type="submit"]').click();
        await page.waitForURL(/action=attach/);
        assert.equal(await page.locator('#decisions-total').textContent(), String(run.actions.filter((a) => a.action === 'attach').length));
        assert.match((await page.locator(`#decisions tr[data-vm="${HEX(1)}"]`).textContent()) ?? '', /<img src=x onerror=alert\(1\)>.*SYS\.1006/s);

        assert.deepEqual(dialogs, [], 'no script ran');
        assert.deepEqual(consoleErrors, [], 'no console errors (a CSP violation would show here)');
      } finally {
        await browser.close();
        assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
      }
    } finally {
      await sim.close();
      ws.cleanup();
      rmSync(userData, { recursive: true, force: true });
    }
  });
});
