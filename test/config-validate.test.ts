// Every key with a wrong value is reported with its dotted key, the value and the expectation,
// and all problems of a config come at once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { ConfigError, type ConfigProblem } from '../src/errors.js';

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-config-validate-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function writeConfig(content: unknown): string {
  const file = path.join(dir, `config-${counter++}.json`);
  fs.writeFileSync(file, JSON.stringify(content));
  return file;
}

function problemsOf(content: unknown): ConfigProblem[] {
  try {
    loadConfig({ file: writeConfig(content), env: {} });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('config was accepted');
}

/** Builds {a: {b: value}} from 'a.b'. */
function nested(key: string, value: unknown): Record<string, unknown> {
  const parts = key.split('.');
  let obj: Record<string, unknown> = { [parts.pop() as string]: value };
  while (parts.length > 0) obj = { [parts.pop() as string]: obj };
  return obj;
}

const WRONG: Array<[key: string, value: unknown, expectedFragment: RegExp]> = [
  ['zstack.endpoint', 'ftp://mn:8080', /http:\/\/ or https:\/\//],
  ['zstack.endpoint', 'not a url', /URL/],
  ['zstack.endpoint', 'http://mn:8080/zstack/v1', /without \/zstack\/v1/],
  ['zstack.endpoint', 42, /URL/],
  ['zstack.accountName', '', /non-empty string/],
  ['zstack.passwordFile', 5, /non-empty string/],
  ['zstack.requestTimeoutMs', 0, /positive integer/],
  ['zstack.requestTimeoutMs', '30s', /positive integer/],
  ['zstack.pageSize', 0, /1 to 10000/],
  ['zstack.pageSize', 10001, /1 to 10000/],
  ['zstack.pageSize', 1.5, /1 to 10000/],
  ['zstack.jobPollIntervalMs', -1, /positive integer/],
  ['zstack.jobTimeoutMs', null, /positive integer/],
  ['zstack.recordVersionTag', 'yes', /true or false/],
  ['zstack.tls.caFile', '', /non-empty string/],
  ['zstack.tls.rejectUnauthorized', 1, /true or false/],
  ['isoDir', '', /non-empty string/],
  ['ha.leaderCheck', 'keepalived', /"none", "zsha2", \{"vip"/],
  ['ha.leaderCheck', { vip: 'mn-vip' }, /IPv4 or IPv6 address/],
  ['ha.leaderCheck', { command: ['am-i-leader'] }, /absolute path/],
  ['ha.leaderCheck', { command: [] }, /absolute path/],
  ['ha.peer', 'ftp://10.0.0.6:9477', /http:\/\/ or https:\/\//],
  ['ha.syncInterval', '0', /positive duration/],
  ['database', [], /non-empty string/],
  ['schedule.cron', '* * *', /five or six fields/],
  ['schedule.cron', '61 * * * *', /cron expression/],
  ['schedule.cron', '* * * * * * *', /five or six fields/],
  ['schedule.timezone', 'Mars/Olympus_Mons', /time zone/],
  ['schedule.windows', {}, /list of windows/],
  ['schedule.jitter', '5 minutes', /duration/],
  ['policy.maxConcurrency', 'ten', /positive integer or a percentage like "20%"/],
  ['policy.maxConcurrency', 0, /positive integer/],
  ['policy.maxConcurrency', '0%', /percentage/],
  ['policy.maxConcurrency', '150%', /percentage/],
  ['policy.maxPerHost', 0, /positive integer/],
  ['policy.maxErrors', -1, /integer >= 0 or a percentage/],
  ['policy.maxErrors', '101%', /percentage/],
  ['policy.maxPerRun', -3, /integer >= 0/],
  ['policy.attachUntagged', 'false', /true or false/],
  ['policy.allowPrerelease', 0, /true or false/],
  ['policy.reattachAfter', '1 day', /duration/],
  ['policy.quarantineAfter', 0, /positive integer/],
  ['policy.quarantineBase', '0', /positive/],
  ['policy.maxAttempts', 0, /positive integer/],
  ['policy.ejectUserIso', 'yes', /true or false/],
  ['policy.include', {}, /at least one non-empty list/],
  ['policy.include', ['vm-1'], /null or an object/],
  ['policy.exclude', 'vm-1', /null or an object/],
  ['ledger.retainDays', -1, /integer >= 0/],
  ['ledger.retainRuns', 'all', /integer >= 0/],
  ['http.listen', '9477', /host:port/],
  ['http.listen', '127.0.0.1:99999', /host:port/],
  ['log.level', 'verbose', /one of fatal, error, warn, info, debug, trace, silent/],
  ['zstack', 'http://mn', /an object/],
];

describe('loadConfig: one wrong value per key', () => {
  for (const [key, value, expected] of WRONG) {
    it(`${key} = ${JSON.stringify(value)}`, () => {
      const problems = problemsOf(nested(key, value));
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.equal(problems[0].key, key);
      assert.deepEqual(problems[0].value, value);
      assert.match(problems[0].expected, expected);
    });
  }
});

describe('loadConfig: nested values', () => {
  const cases: Array<[name: string, content: unknown, key: string, expected: RegExp]> = [
    ['window with a bad day', { schedule: { windows: [{ days: ['monday'], start: '22:00', end: '04:00' }] } }, 'schedule.windows[0].days', /mon, tue/],
    ['window with a bad start', { schedule: { windows: [{ start: '24:00', end: '04:00' }] } }, 'schedule.windows[0].start', /HH:MM/],
    ['window without an end', { schedule: { windows: [{ start: '22:00' }] } }, 'schedule.windows[0].end', /HH:MM/],
    ['window with an unknown key', { schedule: { windows: [{ start: '22:00', end: '23:00', tz: 'UTC' }] } }, 'schedule.windows[0].tz', /no such key/],
    ['second window wrong', { schedule: { windows: [{ start: '22:00', end: '23:00' }, 'weekends'] } }, 'schedule.windows[1]', /object/],
    ['selector with an unknown list', { policy: { exclude: { vmNames: ['db'] } } }, 'policy.exclude.vmNames', /no such key.*vmUuids/],
    ['selector list of numbers', { policy: { include: { vmUuids: [1, 2] } } }, 'policy.include.vmUuids', /list of non-empty strings/],
    ['selector list not a list', { policy: { include: { platforms: 'Linux' } } }, 'policy.include.platforms', /list of non-empty strings/],
  ];
  for (const [name, content, key, expected] of cases) {
    it(name, () => {
      const problems = problemsOf(content);
      assert.deepEqual(problems.map((p) => p.key), [key]);
      assert.match(problems[0].expected, expected);
    });
  }

  it('accepts good windows and selectors and maps them', () => {
    const file = writeConfig({
      schedule: { windows: [{ days: ['sat', 'sun'], start: '22:00', end: '04:00' }, { start: '12:00', end: '13:00' }] },
      policy: { include: { zoneUuids: ['z1'], tags: [] }, exclude: { vmUuids: [] } },
    });
    const { config } = loadConfig({ file, env: {} });
    assert.deepEqual(config.schedule.windows, [
      { days: ['sat', 'sun'], start: '22:00', end: '04:00' },
      { days: [], start: '12:00', end: '13:00' },
    ]);
    assert.deepEqual(config.policy.include, { zoneUuids: ['z1'], tags: [] });
    // An exclude that names nothing excludes nothing.
    assert.equal(config.policy.exclude, null);
  });
});

describe('loadConfig: unknown keys at any depth', () => {
  it('reports each unknown key with its full dotted name and the known keys', () => {
    const problems = problemsOf({ zstack: { endpont: 'http://x', tls: { verify: false } }, policy: { maxConcurency: 3 }, extra: true });
    const keys = problems.map((p) => p.key).sort();
    assert.deepEqual(keys, ['extra', 'policy.maxConcurency', 'zstack.endpont', 'zstack.tls.verify']);
    const typo = problems.find((p) => p.key === 'policy.maxConcurency');
    assert.match(typo?.expected ?? '', /no such key; known keys here: .*maxConcurrency/);
  });

  it('treats "__proto__" in the file as an unknown key, not as a prototype', () => {
    const file = path.join(dir, 'proto.json');
    fs.writeFileSync(file, '{"__proto__": {"isoDir": "/evil"}}');
    assert.throws(() => loadConfig({ file, env: {} }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems.map((p) => p.key), ['__proto__']);
      return true;
    });
  });
});

describe('loadConfig: all problems at once', () => {
  it('lists every problem in one ConfigError, each line naming key, value and expectation', () => {
    const file = writeConfig({
      zstack: { endpoint: 'mn:8080', pageSize: 0 },
      schedule: { cron: 'every 5 minutes', timezone: 'Nowhere/Town' },
      policy: { maxConcurrency: 'ten', maxErrors: '200%' },
      http: { listen: 'localhost' },
      log: { level: 'loud' },
      bogus: 1,
    });
    assert.throws(() => loadConfig({ file, env: {} }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, 'GTR_CONFIG_INVALID');
      assert.equal(error.exitCode, 2);
      assert.deepEqual(error.problems.map((p) => p.key).sort(), [
        'bogus',
        'http.listen',
        'log.level',
        'policy.maxConcurrency',
        'policy.maxErrors',
        'schedule.cron',
        'schedule.timezone',
        'zstack.endpoint',
        'zstack.pageSize',
      ]);
      assert.ok(error.message.includes(file), 'message names the file');
      assert.ok(
        error.message.includes('policy.maxConcurrency: got "ten", expected a positive integer or a percentage like "20%"'),
        error.message,
      );
      return true;
    });
  });
});

describe('ha: a peer needs a leader check and a shared token', () => {
  it('rejects ha.peer with leaderCheck "none" and without ha.tokenFile, naming both keys', () => {
    const problems = problemsOf({ ha: { peer: 'http://10.0.0.6:9477' } });
    assert.match(problems.find((p) => p.key === 'ha.leaderCheck')?.expected ?? '', /both nodes would attach/);
    assert.match(problems.find((p) => p.key === 'ha.tokenFile')?.expected ?? '', /token both nodes share/);
  });

  it('accepts a vip check with a peer and keeps the token out of the config', () => {
    const tokenFile = path.join(dir, 'ha.token');
    fs.writeFileSync(tokenFile, 'peer-token-0123456789abcdef\n', { mode: 0o600 });
    const loaded = loadConfig({ file: writeConfig({ ha: { leaderCheck: { vip: '10.0.0.10' }, peer: 'http://10.0.0.6:9477/', tokenFile } }), env: {} });
    assert.deepEqual(loaded.config.ha, { leaderCheck: { kind: 'vip', address: '10.0.0.10' }, peer: 'http://10.0.0.6:9477', syncIntervalMs: 60_000, tokenFile });
    assert.equal(loaded.haToken, 'peer-token-0123456789abcdef');
    assert.doesNotMatch(JSON.stringify(loaded.config), /peer-token/);
  });
});

describe('install keys', () => {
  it('parses the install section and policy.detachAfterVerify into the shape the pass uses', () => {
    const { config } = loadConfig({
      file: writeConfig({ install: { mode: 'qga', maxConcurrency: 4, settle: '90s', timeout: '20m', linux: { command: 'echo hi' } }, policy: { detachAfterVerify: false } }),
      env: {},
    });
    assert.deepEqual(config.install, { mode: 'qga', maxConcurrency: 4, settleMs: 90_000, timeoutMs: 1_200_000, linux: { command: 'echo hi' }, windows: { command: null } });
    assert.equal(config.policy.detachAfterVerify, false);
    const defaults = loadConfig({ file: writeConfig({}), env: {} }).config;
    assert.deepEqual(defaults.install, { mode: 'off', maxConcurrency: 10, settleMs: 180_000, timeoutMs: 1_800_000, linux: { command: null }, windows: { command: null } });
    assert.equal(defaults.policy.detachAfterVerify, true);
  });

  it('names each bad install key with what it expected', () => {
    const problems = problemsOf({ install: { mode: 'ssh', maxConcurrency: 0, timeout: '0', windows: { command: '' }, extra: 1 }, policy: { detachAfterVerify: 'yes' } });
    const byKey = new Map(problems.map((p) => [p.key, p.expected]));
    assert.equal(byKey.get('install.mode'), 'one of off, qga');
    assert.match(String(byKey.get('install.maxConcurrency')), /positive integer/);
    assert.match(String(byKey.get('install.timeout')), /positive/);
    assert.match(String(byKey.get('install.windows.command')), /non-empty/);
    assert.equal(byKey.get('policy.detachAfterVerify'), 'true or false');
    assert.ok(byKey.has('install.extra'), JSON.stringify(problems));
  });
});
