// The status page's scene: a simulator fleet with history (a reconcile with a failed attach, a rollout
// and its first wave), the daemon (child process) serving it, and Debian's chromium (playwright-core)
// showing it. test/status-page-browser.test.ts checks the page in it; `npm run screenshot`
// (scripts/screenshot.ts) takes docs/status-page.png from it. Both take the picture with
// scene.screenshot, so the code that renews the documentation's picture runs in CI.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page, type Response } from 'playwright-core';
import { startSimulator } from '../../src/sim/index.js';
import { HEX, testFleet } from './fleet.js';
import { gtr, simConfig, workspace } from './cli.js';
import { startDaemon } from './daemon.js';

export const CHROMIUM = '/usr/bin/chromium';
// Markup, then a right-to-left override and an ESC sequence: the page shows them escaped (\u202e, \x1b), as the CLI does.
export const XSS_NAME = '<img src=x onerror=alert(1)>\u202eevil\u001b[2J';
/** The VM whose attach fails: the fleet's first, named XSS_NAME. */
export const FAILING_VM = HEX(1);
const NEVER = '0 0 1 1 *';

export type Status = {
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

export interface Scene {
  /** The daemon's base URL. */
  url: string;
  browser: BrowserContext;
  /** `gtr status --json` after the history was made. */
  status: Status;
  /** The built CLI with the scene's config. */
  cli(args: string[]): ReturnType<typeof gtr>;
  /** Open the status page (`/`) in a new tab; prepare runs on the tab before it loads (listeners). */
  open(prepare?: (page: Page) => void): Promise<{ page: Page; response: Response | null }>;
  /** Open the status page and write a full-page PNG of it to path. */
  screenshot(path: string): Promise<void>;
  /** Close the browser, stop the daemon (its exit status is returned) and the simulator, remove the temp folders. */
  close(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function statusPageScene(): Promise<Scene> {
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
  const sim = await startSimulator({ jobDurationMs: 5, recordVersionTag: true, guests: { installDelayMs: 5 }, password: 'Page-Secret-7', fleet, faults: { failVmUuids: [FAILING_VM] } });
  const ws = await workspace();
  const userData = mkdtempSync(join(tmpdir(), 'gtr-chromium-'));
  const cleanup = async () => {
    await sim.close();
    ws.cleanup();
    rmSync(userData, { recursive: true, force: true });
  };
  let daemon: ReturnType<typeof startDaemon> | null = null;
  try {
    const config = ws.writeConfig(simConfig(ws, sim, { zstack: { recordVersionTag: true }, schedule: { cron: NEVER }, http: { listen: '127.0.0.1:0' }, policy: { maxPerRun: 10, maxErrors: '50%' }, log: { level: 'info' } }));
    const cli = (args: string[]) => gtr([...args, '--config', config]);
    // History: a run that attaches 10 VMs (one fails), a rollout of the rest, and its first wave.
    assert.ok([0, 1].includes((await cli(['reconcile'])).code ?? -1));
    const started = await cli(['rollout', 'start', '--waves', '3,100%', '--soak', '1h', '--max-errors', '5', '--json']);
    assert.equal(started.code, 0, started.stderr);
    assert.ok([0, 1].includes((await cli(['reconcile'])).code ?? -1));
    const status = JSON.parse((await cli(['status', '--json'])).stdout) as Status;

    daemon = startDaemon(config);
    const url = await daemon.url();
    const browser = await chromium.launchPersistentContext(userData, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1200, height: 900 },
    });
    const running = daemon;
    const open = async (prepare?: (page: Page) => void) => {
      const page = await browser.newPage();
      prepare?.(page);
      const response = await page.goto(`${url}/`);
      assert.equal(response?.status(), 200, 'the status page answers');
      return { page, response };
    };
    return {
      url,
      browser,
      status,
      cli,
      open,
      async screenshot(path) {
        const { page } = await open();
        await page.screenshot({ path, fullPage: true });
        await page.close();
      },
      async close() {
        try {
          await browser.close();
          return await running.stop();
        } finally {
          await cleanup();
        }
      },
    };
  } catch (error) {
    if (daemon) await daemon.stop();
    await cleanup();
    throw error;
  }
}
