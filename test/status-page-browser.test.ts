// The status page in a real browser: Debian's chromium driven by playwright-core, against a daemon
// (child process) whose ledger holds real runs and a rollout against the simulator. The page must show
// the numbers of `gtr status --json`, link to a run's decisions, and show a hostile VM name as text
// without running it. Chromium missing is a failure, never a skip (.ci/run installs it). The scene
// (test/helpers/status-page-scene.ts) and its screenshot are the ones `npm run screenshot` uses for
// docs/status-page.png, so the code that renews the documentation's picture runs here too.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAILING_VM, statusPageScene, XSS_NAME } from './helpers/status-page-scene.js';
import { localTime } from '../src/time-format.js';

const re = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('status page in chromium', () => {
  it('shows the numbers of gtr status --json, links runs, and shows a hostile VM name as text', async () => {
    const scene = await statusPageScene();
    const { status, cli, url } = scene;
    const shots = mkdtempSync(join(tmpdir(), 'gtr-shot-'));
    let stopped: Awaited<ReturnType<typeof scene.close>> | null = null;
    try {
      assert.ok(status.needsAttention.vms.some((v) => v.vmName === XSS_NAME), 'the hostile VM needs attention (its attach failed)');
      const sum = (key: 'onTargetConfirmed' | 'onTargetTagOnly') => status.distribution.reduce((n, g) => n + g[key], 0);
      assert.ok(sum('onTargetConfirmed') > 0 && sum('onTargetTagOnly') > 0, 'VMs on target both confirmed and by our tag only');
      {
        const dialogs: string[] = [];
        const consoleErrors: string[] = [];
        const { page, response } = await scene.open((tab) => {
          tab.on('dialog', (d) => {
            dialogs.push(d.message());
            void d.dismiss();
          });
          tab.on('console', (m) => {
            if (m.type() === 'error') consoleErrors.push(m.text());
          });
          tab.on('pageerror', (e) => consoleErrors.push(e.message));
        });
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
        const hostile = page.locator(`#attention tr[data-vm="${FAILING_VM}"]`);
        assert.match((await hostile.textContent()) ?? '', /<img src=x onerror=alert\(1\)>\\u202eevil\\x1b\[2J.*SYS\.1006.*gtr retry --vm/s, 'name as text, escaped; the error, the fix');
        const content = await page.content();
        assert.ok(!content.includes('\u202e') && !content.includes('\u001b'), 'no raw bidi override or ESC anywhere in the page');
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
        for (const m of waiting.members) assert.match(human.stdout, new RegExp(`${m.vmUuid}\\s+${m.state.replace(/[()]/g, '\\$&')}\\s+${re(localTime(m.waitingSince))}\\s+${re(localTime(m.timesOutAt))}`), 'the same row in the CLI, times local');

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
        assert.match((await page.locator(`#decisions tr[data-vm="${FAILING_VM}"]`).textContent()) ?? '', /<img src=x onerror=alert\(1\)>.*SYS\.1006/s);

        assert.deepEqual(dialogs, [], 'no script ran');
        assert.deepEqual(consoleErrors, [], 'no console errors (a CSP violation would show here)');
      }
      // The documentation's picture (npm run screenshot): the same call, into a temp file; no pixel comparison.
      const shot = join(shots, 'status-page.png');
      await scene.screenshot(shot);
      assert.equal(readFileSync(shot).subarray(1, 4).toString(), 'PNG', 'a PNG file');
      assert.ok(statSync(shot).size > 10_000, 'of a rendered page, not an empty one');
    } finally {
      stopped = await scene.close();
      rmSync(shots, { recursive: true, force: true });
    }
    assert.deepEqual(stopped, { code: 0, signal: null }, 'the daemon stops cleanly');
  });
});
