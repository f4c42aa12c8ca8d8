// `gtr sim` as an operator practises with it (issue 25): every flag in --help with its default; names
// from a file (CJK, emoji, TAB, long), a new ISO version, failing attaches (--fail-rate, --fail-vm),
// stuck jobs (--stuck-rate), session expiry and durations such as 5s. Driven by gtr itself, as a user would.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, gtr, spawnGtr, waitFor } from './helpers/cli.js';

const FLAGS = ['vms', 'seed', 'names', 'ui-tag', 'iso', 'host', 'port', 'iso-dir', 'mn-version', 'access-key', 'clock-skew', 'expire-sessions',
  'latency', 'record-version-tag', 'no-script-library', 'no-detach', 'job-ms', 'fail-rate', 'fail-vm', 'stuck-rate', 'install-percent',
  'install-delay', 'install-ms', 'script-statuses', 'unreachable-vms'];

const NAMES = ['数据库服务器-主', '🚀 web-前端', 'tab\there', `长${'x'.repeat(300)}`];

/** Starts `gtr sim` with these flags; its endpoint, and stop() (SIGTERM, exit 0). */
async function sim(args: string[]): Promise<{ endpoint: string; out: () => string; stop: () => Promise<number | null> }> {
  const child = spawnGtr(['sim', '--port', '0', ...args]);
  const endpoint = await waitFor('the endpoint line', () => /endpoint: (\S+)/.exec(child.output().stdout)?.[1] ?? (child.exitCode !== null ? 'exited' : null));
  assert.notEqual(endpoint, 'exited', child.output().stderr);
  return {
    endpoint,
    out: () => child.output().stdout,
    stop: async () => {
      child.kill('SIGTERM');
      return (await exited(child)).code;
    },
  };
}

describe('gtr sim flags', () => {
  it('--help documents every flag with its default', async () => {
    const help = await gtr(['sim', '--help']);
    assert.equal(help.code, 0);
    const blocks = help.stdout.split(/\n(?= {2}--)/);
    for (const flag of FLAGS) {
      const block = blocks.find((b) => b.startsWith(`  --${flag} `));
      assert.ok(block, `--${flag} is in the help`);
      assert.match(block, /default/, `--${flag} names its default`);
    }
  });

  it('--names, --iso with --iso-dir, --fail-vm, --fail-rate, --stuck-rate and durations, through gtr plan and reconcile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gtr-sim-flags-'));
    try {
      const names = join(dir, 'names.txt');
      writeFileSync(names, `${NAMES.join('\n')}\n\n`);
      const isoDir = join(dir, 'isos');
      const config = (endpoint: string) => {
        writeFileSync(join(dir, 'config.json'), JSON.stringify({
          zstack: { endpoint, password: 'password', jobPollIntervalMs: 5, jobTimeoutMs: 500 }, isoDir, database: join(dir, 'state.db'),
          policy: { maxErrors: '100%', attachUntagged: true }, log: { level: 'warn' },
        }));
        return join(dir, 'config.json');
      };
      const base = ['--vms', '12', '--seed', '7', '--names', names, '--iso', '1.3.0', '--iso-dir', isoDir, '--job-ms', '5ms', '--expire-sessions', '5s'];
      const first = await sim(base);
      let planned: { vmUuid: string; vmName: string; target: string | null; action: string }[];
      try {
        assert.match(first.out(), /isos: +GuestTools 1\.3\.0/);
        assert.match(first.out(), /sessions: expire after 5 s without a call/);
        const plan = await gtr(['plan', '--json', '--config', config(first.endpoint)]);
        assert.equal(plan.code, 0, plan.stderr);
        planned = (JSON.parse(plan.stdout) as { actions: typeof planned }).actions;
        assert.deepEqual([...new Set(planned.map((a) => a.vmName))].sort(), [...NAMES].sort(), 'the names of the file, in turn');
        const human = await gtr(['plan', '--config', config(first.endpoint)]);
        assert.ok(human.stdout.includes('tab\\there') && human.stdout.includes('数据库服务器-主'), human.stdout);
        assert.ok(planned.some((a) => a.action === 'attach' && a.target === '1.3.0'), 'the new ISO version is the target');
      } finally {
        assert.equal(await first.stop(), 0);
      }

      const attaches = planned.filter((a) => a.action === 'attach');
      const victim = attaches[0].vmUuid;
      const failing = await sim([...base, '--fail-vm', victim]);
      try {
        const run = await gtr(['reconcile', '--json', '--config', config(failing.endpoint)]);
        assert.equal(run.code, 1, run.stderr);
        const outcomes = (JSON.parse(run.stdout) as { actions: { vmUuid: string; outcome: string | null; error: { code: string } | null }[] }).actions.filter((a) => a.outcome !== null);
        assert.deepEqual(outcomes.filter((a) => a.outcome === 'failed').map((a) => [a.vmUuid, a.error?.code]), [[victim, 'SYS.1006']], 'only --fail-vm fails');
      } finally {
        await failing.stop();
      }

      rmSync(join(dir, 'state.db'), { force: true });
      const everyAttach = await sim([...base, '--fail-rate', '1']);
      try {
        const run = JSON.parse((await gtr(['reconcile', '--json', '--config', config(everyAttach.endpoint)])).stdout) as { counts: { attach: number; failed: number } };
        assert.ok(run.counts.attach > 0 && run.counts.failed === run.counts.attach, `--fail-rate 1: every attach fails (${JSON.stringify(run.counts)})`);
      } finally {
        await everyAttach.stop();
      }

      rmSync(join(dir, 'state.db'), { force: true });
      const stuck = await sim([...base, '--stuck-rate', '1']);
      try {
        const run = JSON.parse((await gtr(['reconcile', '--json', '--config', config(stuck.endpoint)])).stdout) as { counts: Record<string, number> };
        assert.ok(run.counts.attach > 0 && run.counts['in-doubt'] === run.counts.attach, `--stuck-rate 1: every job stays unfinished, in doubt after jobTimeoutMs (${JSON.stringify(run.counts)})`);
      } finally {
        await stuck.stop();
      }

      for (const bad of [['--fail-rate', '2'], ['--job-ms', 'soon'], ['--iso', '1.3'], ['--fail-vm', 'web'], ['--names', join(dir, 'missing.txt')]]) {
        const r = await gtr(['sim', '--port', '0', ...bad]);
        assert.equal(r.code, 2, bad.join(' '));
        assert.match(r.stderr, new RegExp(`gtr sim: ${bad[0]}`), r.stderr.split('\n')[0]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
