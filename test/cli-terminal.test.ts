// What an operator sees on a terminal (issue 25): stderr is a real pty (util-linux `script`), so gtr takes
// its terminal path. Logs are short human lines (warning and above; info with -v), never JSON, and the
// progress bar keeps its own line: a log line is never drawn into the bar. On a pipe, logs stay JSON lines.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startSimulator } from '../src/sim/index.js';
import { HEX, testFleet } from './helpers/fleet.js';
import { cleanEnv, GTR, gtr, simConfig, workspace } from './helpers/cli.js';

/** Runs gtr with a pty as its stdin, stdout and stderr; everything the terminal got, and the exit code. */
function gtrOnPty(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; screen: string }> {
  const quoted = [process.execPath, GTR, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', quoted, '/dev/null'], { env: { ...cleanEnv(), COLUMNS: '200', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    child.stderr.on('data', (d: Buffer) => (screen += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen }));
  });
}

/** What each terminal line shows at the end: the text after its last carriage return, line clears removed. */
function visibleLines(screen: string): string[] {
  return screen.split(/\r?\n/).map((l) => l.slice(l.lastIndexOf('\r') + 1).replaceAll('\u001b[2K', ''));
}

const BAR = /\] \d+\/\d+ attached, \d+ failed/;

describe('logs on a terminal', () => {
  it('a reconcile with failures: human warning lines, no JSON, the progress bar never inside a log line; -v adds info lines (plan)', async () => {
    const failing = [HEX(3), HEX(17), HEX(29)];
    const sim = await startSimulator({ fleet: testFleet(40), jobDurationMs: 20, faults: { failVmUuids: failing } });
    const ws = await workspace();
    try {
      const config = ws.writeConfig(simConfig(ws, sim, { policy: { maxConcurrency: 2, maxPerHost: 1, maxErrors: '50%' }, log: { level: 'info' } }));
      const quiet = await gtrOnPty(['reconcile', '--config', config]);
      assert.equal(quiet.code, 1, quiet.screen);
      assert.doesNotMatch(quiet.screen, /\{"level"/, 'no JSON log line on a terminal');
      const lines = visibleLines(quiet.screen);
      const failures = lines.filter((l) => /^\d\d:\d\d:\d\d warning: attach failed/.test(l));
      assert.equal(failures.length, 3, quiet.screen);
      for (const l of failures) assert.match(l, /vmUuid=0+(3|11|1d) .*error=/);
      assert.ok(lines.some((l) => BAR.test(l)), 'the progress bar was drawn');
      for (const l of lines) assert.ok(!(BAR.test(l) && /warning:|info:/.test(l)), `a log line drawn into the bar: ${JSON.stringify(l)}`);
      assert.ok(!lines.some((l) => /^\d\d:\d\d:\d\d info:/.test(l)), 'no info lines without -v');
      assert.match(quiet.screen, /Outcomes: verified \d+, attached \(awaiting install\) \d+, failed 3/);

      const verbose = await gtrOnPty(['plan', '-v', '--config', config]);
      assert.equal(verbose.code, 0, verbose.screen);
      assert.ok(visibleLines(verbose.screen).some((l) => /^\d\d:\d\d:\d\d info: run finished/.test(l)), verbose.screen);
      assert.doesNotMatch(verbose.screen, /\{"level"/);
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });

  it('--log-level and --log-format json on a terminal; a pipe gets JSON lines; a bad level is exit 2 naming the flag', async () => {
    const sim = await startSimulator({ fleet: testFleet(3), jobDurationMs: 5 });
    const ws = await workspace();
    try {
      const config = ws.writeConfig(simConfig(ws, sim, {}));
      const debug = await gtrOnPty(['plan', '--log-level', 'debug', '--config', config]);
      assert.equal(debug.code, 0, debug.screen);
      assert.ok(visibleLines(debug.screen).some((l) => /^\d\d:\d\d:\d\d info: inventory read/.test(l)), debug.screen);
      const json = await gtrOnPty(['plan', '--log-format', 'json', '--log-level', 'info', '--config', config]);
      assert.equal(json.code, 0, json.screen);
      assert.ok(visibleLines(json.screen).some((l) => l.startsWith('{"level":30') && l.includes('"msg":"inventory read"')), json.screen);
      const piped = await gtr(['plan', '-v', '--config', config]);
      assert.equal(piped.code, 0, piped.stderr);
      const entries = piped.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
      assert.ok(entries.some((e) => e.msg === 'inventory read'), piped.stderr);
      const bad = await gtr(['plan', '--log-level', 'loud', '--config', config]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--log-level: got "loud", expected one of trace, debug, info, warn, error, fatal, silent/);
      assert.doesNotMatch(bad.stderr, /^\s+at /m);
    } finally {
      await sim.close();
      ws.cleanup();
    }
  });
});
