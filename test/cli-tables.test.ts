// Tables and times as an operator reads them (issue 25): VM names in Chinese, with emoji, a TAB, a
// right-to-left override and 5,000 characters keep every column straight (display width), are shown
// escaped, and are cut at 40 columns with … (whole with --wide / -o wide and in --json). Times in human
// output are local with their offset (TZ=Asia/Shanghai), JSON keeps UTC; a failure's whole ZStack error
// (code, description, details) is in the summary and in `runs show`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import stringWidth from 'string-width';
import { startSimulator } from '../src/sim/index.js';
import { HEX, testFleet } from './helpers/fleet.js';
import { gtr, simConfig, workspace } from './helpers/cli.js';

const LONG = `长${'x'.repeat(4999)}`;
const NAMES = ['数据库服务器-主', '🚀 web-前端 🎉', 'tab\there', LONG, 'evil\u202eevil', 'plain-vm'];
const SHANGHAI = { TZ: 'Asia/Shanghai' };

/** The display column where `needle` starts on each line that holds it. */
function columnsOf(lines: string[], needle: (l: string) => number): number[] {
  return lines.map((l) => [l, needle(l)] as const).filter(([, at]) => at >= 0).map(([l, at]) => stringWidth(l.slice(0, at)));
}

describe('tables with odd VM names', () => {
  it('plan: CJK, emoji, TAB, bidi and a 5,000-character name keep the columns; cut at 40 columns; whole with --wide and --json', async () => {
    const sim = await startSimulator({ fleet: testFleet(NAMES.length, { patch: (i) => ({ name: NAMES[i] }) }), jobDurationMs: 5 });
    const ws = await workspace();
    try {
      const config = ws.writeConfig(simConfig(ws, sim, {}));
      const plan = await gtr(['plan', '--config', config]);
      assert.equal(plan.code, 0, plan.stderr);
      const lines = plan.stdout.split('\n');
      const uuidAt = (l: string) => (/[0-9a-f]{32}/.exec(l)?.index ?? -1);
      const starts = columnsOf(lines, uuidAt);
      assert.equal(starts.length, NAMES.length, plan.stdout);
      assert.equal(new Set(starts).size, 1, `the uuid column starts at one display column on every row: ${starts.join(',')}`);
      assert.ok(Math.max(...lines.map((l) => stringWidth(l))) < 160, 'no row thousands of columns wide');
      assert.ok(plan.stdout.includes('tab\\there'), 'TAB shown as \\t');
      assert.ok(plan.stdout.includes('evil\\u202eevil'), 'the bidi override shown escaped');
      assert.doesNotMatch(plan.stdout, /[\t\u202e]/);
      const long = lines.find((l) => l.includes(HEX(4)));
      assert.match(long ?? '', /长x+… /, 'the long name cut with …');
      assert.ok(stringWidth(long?.slice(0, uuidAt(long)).trim() ?? '') <= 40, 'cut at 40 columns');

      for (const wideFlag of [['--wide'], ['-o', 'wide']]) {
        const wide = await gtr(['plan', ...wideFlag, '--config', config]);
        assert.equal(wide.code, 0, wide.stderr);
        assert.ok(wide.stdout.includes(LONG), `${wideFlag.join(' ')} shows the whole name`);
        assert.equal(new Set(columnsOf(wide.stdout.split('\n'), uuidAt)).size, 1, 'still aligned');
      }
      const json = JSON.parse((await gtr(['plan', '--json', '--config', config])).stdout) as { actions: { vmName: string }[] };
      assert.deepEqual(json.actions.map((a) => a.vmName).sort(), [...NAMES].sort(), 'JSON has every name whole');
      const badOutput = await gtr(['plan', '-o', 'yaml', '--config', config]);
      assert.equal(badOutput.code, 2);
      assert.match(badOutput.stderr, /-o\/--output: got "yaml", expected wide/);
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });
});

describe('times and errors in human output', () => {
  it('TZ=Asia/Shanghai: status and runs show +08:00 times, JSON keeps UTC; the whole ZStack error in the summary, runs show and status', async () => {
    const sim = await startSimulator({ fleet: testFleet(4), jobDurationMs: 5, faults: { failVmUuids: [HEX(2)] } });
    const ws = await workspace();
    try {
      const config = ws.writeConfig(simConfig(ws, sim, { policy: { maxErrors: 10 } }));
      const run = await gtr(['reconcile', '--config', config], { env: SHANGHAI });
      assert.equal(run.code, 1, run.stderr);
      const record = JSON.parse((await gtr(['runs', 'show', '1', '--json', '--config', config])).stdout) as { startedAt: string; actions: { vmUuid: string; error: { code: string; description: string; details: string } | null }[] };
      assert.match(record.startedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'JSON keeps UTC ISO');
      const error = record.actions.find((a) => a.vmUuid === HEX(2))?.error;
      assert.ok(error && error.details.length > 60, 'the simulator gives a long details text');
      // Wrapped lines joined again: the whole description and details are there.
      const flat = (text: string) => text.split('\n').map((l) => l.trim()).join(' ');
      for (const [what, out] of [['summary', run.stdout], ['runs show', (await gtr(['runs', 'show', '1', '--config', config])).stdout], ['status', (await gtr(['status', '--config', config])).stdout]]) {
        assert.ok(flat(out).includes(`${error.code}: ${error.description}`), `${what}: code and description`);
        assert.ok(flat(out).includes(error.details), `${what}: the whole details\n${out}`);
      }

      const local = `${new Date(Date.parse(record.startedAt) + 8 * 3_600_000).toISOString().slice(0, 10)}`;
      const status = await gtr(['status', '--config', config], { env: SHANGHAI });
      assert.match(status.stdout, new RegExp(`Last run: #1 partial \\(cli\\), ${local} \\d\\d:\\d\\d:\\d\\d \\+08:00 \\.\\. ${local} \\d\\d:\\d\\d:\\d\\d \\+08:00`));
      const hour = (Number(record.startedAt.slice(11, 13)) + 8) % 24;
      assert.match(status.stdout, new RegExp(`, ${local} ${String(hour).padStart(2, '0')}:`), 'the local hour is UTC + 8');
      const runs = await gtr(['runs', '--config', config], { env: SHANGHAI });
      assert.match(runs.stdout, /\b1\s+cli\s+no\s+partial\s+\d+s ago\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00/, 'started as an age, finished local');
      const show = await gtr(['runs', 'show', '1', '--config', config], { env: { TZ: 'America/New_York' } });
      assert.match(show.stdout, /Run #1 \(cli\): partial, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d -0[45]:00/);
      const statusJson = JSON.parse((await gtr(['status', '--json', '--config', config], { env: SHANGHAI })).stdout) as { lastRun: { startedAt: string }; needsAttention: { vms: { error: { details: string } | null }[] } };
      assert.equal(statusJson.lastRun.startedAt, record.startedAt, 'status --json keeps UTC');
      assert.equal(statusJson.needsAttention.vms[0]?.error?.details, error.details, 'details in the status JSON');
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });
});

describe('gtr status is read-only', () => {
  it('with no database yet: a clear message, exit 2, and still no database file (nor its folder)', async () => {
    const ws = await workspace();
    try {
      const database = join(ws.dir, 'not-yet', 'state.db');
      const config = ws.writeConfig({ isoDir: ws.isoDir, database, zstack: { password: 'x' } });
      for (const args of [['status'], ['status', '--json']]) {
        const r = await gtr([...args, '--config', config]);
        assert.equal(r.code, 2, r.stdout);
        assert.match(r.stderr, /the file does not exist yet/);
        assert.doesNotMatch(r.stderr, /^\s+at /m);
      }
      assert.equal(existsSync(database), false);
      assert.equal(existsSync(join(ws.dir, 'not-yet')), false);
    } finally {
      ws.cleanup();
    }
  });
});
