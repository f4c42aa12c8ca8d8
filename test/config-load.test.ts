// Where the config comes from (file, GTR_CONFIG, system file, env), password files, and
// the promise that secrets never reach an error message.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, redactedConfig } from '../src/config/load.js';
import { parseDuration } from '../src/time-format.js';
import { requireCredentials } from '../src/zstack/from-config.js';
import { ConfigError, GtrError } from '../src/errors.js';
import { thrown } from './helpers/cli.js';

const SECRET = 'Hunter2-s3cret!';
const NO_SYSTEM_FILE = '/nonexistent/gtr/config.json';
let dir: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-config-load-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string, mode = 0o600): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
  return file;
}

describe('parseDuration', () => {
  const cases: Array<[string, number | null]> = [
    ['24h', 86_400_000],
    ['30m', 1_800_000],
    ['90s', 90_000],
    ['1500ms', 1500],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['0', 0],
    ['0s', 0],
    ['', null],
    ['10', null],
    ['-5m', null],
    ['5 m', null],
    ['5x', null],
    ['h', null],
  ];
  for (const [text, ms] of cases) it(`${JSON.stringify(text)} -> ${ms}`, () => assert.equal(parseDuration(text), ms));
});

describe('loadConfig: which file', () => {
  it('uses defaults when no file is named and the system file does not exist', () => {
    const { config, source, warnings } = loadConfig({ env: {}, systemPath: NO_SYSTEM_FILE });
    assert.equal(source, 'defaults');
    assert.deepEqual(warnings, []);
    assert.equal(config.zstack.endpoint, 'http://127.0.0.1:8080');
    assert.equal(config.policy.reattachAfterMs, 24 * 3_600_000);
    assert.deepEqual(config.policy.maxErrors, { kind: 'percent', value: 5 });
    assert.deepEqual(config.policy.maxConcurrency, { kind: 'count', value: 10 });
    assert.equal(config.zstack.password, null);
  });

  it('reads the system file when it exists and nothing else is named', () => {
    const system = write('system.json', JSON.stringify({ policy: { maxPerHost: 4 } }));
    const { config, source } = loadConfig({ env: {}, systemPath: system });
    assert.equal(source, system);
    assert.equal(config.policy.maxPerHost, 4);
  });

  it('prefers --config over GTR_CONFIG over the system file', () => {
    const system = write('sys.json', JSON.stringify({ log: { level: 'warn' } }));
    const fromEnv = write('env.json', JSON.stringify({ log: { level: 'debug' } }));
    const fromFlag = write('flag.json', JSON.stringify({ log: { level: 'trace' } }));
    assert.equal(loadConfig({ env: { GTR_CONFIG: fromEnv }, systemPath: system }).config.log.level, 'debug');
    assert.equal(loadConfig({ file: fromFlag, env: { GTR_CONFIG: fromEnv }, systemPath: system }).config.log.level, 'trace');
  });

  it('resolves a relative --config against cwd, and relative paths in the file against its folder', () => {
    const sub = path.join(dir, 'etc');
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, 'rel.json'), JSON.stringify({ database: 'state.db', isoDir: '../isos' }));
    const { config, source } = loadConfig({ file: 'etc/rel.json', env: { GTR_DATABASE: '' }, cwd: dir });
    assert.equal(source, path.join(sub, 'rel.json'));
    assert.equal(config.database, path.join(sub, 'state.db'));
    assert.equal(config.isoDir, path.join(dir, 'isos'));
  });

  it('fails with GTR_CONFIG_UNREADABLE naming the file when it is missing', () => {
    const missing = path.join(dir, 'nope.json');
    const error = thrown(() => loadConfig({ file: missing, env: {} }));
    assert.ok(error instanceof GtrError);
    assert.equal(error.code, 'GTR_CONFIG_UNREADABLE');
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /nope\.json.*ENOENT/);
  });

  it('fails with GTR_CONFIG_UNREADABLE and a line number on bad JSON, without quoting the file', () => {
    const file = write('bad.json', `{\n  "zstack": {\n    "password": ${SECRET}\n  }\n}\n`);
    const error = thrown(() => loadConfig({ file, env: {} }));
    assert.ok(error instanceof GtrError);
    assert.equal(error.code, 'GTR_CONFIG_UNREADABLE');
    assert.match(error.message, /not valid JSON.*line 3/);
    assert.ok(!error.message.includes('Hunter') && !error.message.includes('H'.concat('u')), error.message);
    assert.equal(error.cause, undefined);
  });

  it('rejects a file that is JSON but not an object', () => {
    const file = write('list.json', '[1, 2]');
    const error = thrown(() => loadConfig({ file, env: {} }));
    assert.ok(error instanceof GtrError);
    assert.equal(error.code, 'GTR_CONFIG_UNREADABLE');
    assert.match(error.message, /must hold a JSON object, found a list/);
  });
});

describe('loadConfig: environment', () => {
  const file = () => write('layers.json', JSON.stringify({ zstack: { endpoint: 'http://file:8080', accountName: 'file' }, isoDir: '/file/iso', database: '/file/db', log: { level: 'warn' } }));

  it('environment overrides the file', () => {
    const env = {
      GTR_ZSTACK_ENDPOINT: 'https://env:8443',
      GTR_ZSTACK_ACCOUNT: 'env-admin',
      GTR_ISO_DIR: '/env/iso',
      GTR_DATABASE: '/env/db',
      GTR_LOG_LEVEL: 'debug',
    };
    const fromEnv = loadConfig({ file: file(), env }).config;
    assert.equal(fromEnv.zstack.endpoint, 'https://env:8443');
    assert.equal(fromEnv.zstack.accountName, 'env-admin');
    assert.equal(fromEnv.isoDir, '/env/iso');
    assert.equal(fromEnv.database, '/env/db');
    assert.equal(fromEnv.log.level, 'debug');
  });

  it('ignores empty environment variables and resolves relative env paths against cwd', () => {
    const { config } = loadConfig({ env: { GTR_LOG_LEVEL: '', GTR_DATABASE: 'data/state.db' }, cwd: '/srv/gtr', systemPath: NO_SYSTEM_FILE });
    assert.equal(config.log.level, 'info');
    assert.equal(config.database, '/srv/gtr/data/state.db');
  });

  it('reports a bad env value with the key and the layer in the message', () => {
    const error = thrown(() => loadConfig({ env: { GTR_LOG_LEVEL: 'chatty' }, systemPath: NO_SYSTEM_FILE }));
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems.map((p) => p.key).sort(), ['log.level']);
    assert.match(error.message, /environment \(GTR_LOG_LEVEL\)/);
  });
});

describe('loadConfig: passwords', () => {
  it('takes the password from GTR_ZSTACK_PASSWORD', () => {
    const { config } = loadConfig({ env: { GTR_ZSTACK_PASSWORD: SECRET }, systemPath: NO_SYSTEM_FILE });
    assert.deepEqual(requireCredentials(config), { kind: 'password', accountName: 'admin', password: SECRET });
  });

  it('reads zstack.passwordFile and drops the trailing newline', () => {
    const pw = write('pw', `${SECRET}\n`);
    const file = write('with-pwfile.json', JSON.stringify({ zstack: { passwordFile: pw } }));
    const { config, warnings } = loadConfig({ file, env: {} });
    assert.equal(config.zstack.password, SECRET);
    assert.equal(config.zstack.passwordFile, pw);
    assert.deepEqual(warnings, []);
  });

  it('warns when the password file is readable by group or others, without the content', () => {
    const pw = write('pw-open', `${SECRET}\r\n`, 0o644);
    const { config, warnings } = loadConfig({ env: { GTR_ZSTACK_PASSWORD_FILE: pw }, systemPath: NO_SYSTEM_FILE });
    assert.equal(config.zstack.password, SECRET);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /zstack\.passwordFile .*pw-open.*mode 644.*chmod 600/);
    assert.ok(!warnings[0].includes(SECRET));
  });

  it('warns when a config file holding a password is readable by others', () => {
    const file = write('open.json', JSON.stringify({ zstack: { password: SECRET } }), 0o644);
    const { warnings } = loadConfig({ file, env: {} });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /config file .*open\.json/);
    assert.ok(!warnings[0].includes(SECRET));
  });

  it('reports an unreadable password file by key and path', () => {
    const missing = path.join(dir, 'missing-pw');
    const error = thrown(() => loadConfig({ env: { GTR_ZSTACK_PASSWORD_FILE: missing }, systemPath: NO_SYSTEM_FILE }));
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems, [{ key: 'zstack.passwordFile', value: missing, expected: 'a readable file holding the password (ENOENT)' }]);
  });

  it('reports an empty password file', () => {
    const empty = write('empty-pw', '\n');
    const error = thrown(() => loadConfig({ env: { GTR_ZSTACK_PASSWORD_FILE: empty }, systemPath: NO_SYSTEM_FILE }));
    assert.ok(error instanceof ConfigError);
    assert.match(error.problems[0].expected, /empty/);
  });

  it('rejects password and passwordFile in the same layer, without showing the password', () => {
    const pw = write('pw2', SECRET);
    const file = write('both.json', JSON.stringify({ zstack: { password: SECRET, passwordFile: pw } }));
    const error = thrown(() => loadConfig({ file, env: {} }));
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 1);
    assert.equal(error.problems[0].key, 'zstack.password');
    assert.equal(error.problems[0].value, '[redacted]');
    assert.match(error.problems[0].expected, /not both/);
    assert.ok(!error.message.includes(SECRET));
    assert.ok(!JSON.stringify(error.details).includes(SECRET));
  });

  it('lets a later layer replace the password source of an earlier one', () => {
    const pw = write('pw3', 'from-file');
    const file = write('pwfile-layer.json', JSON.stringify({ zstack: { passwordFile: pw } }));
    const { config } = loadConfig({ file, env: { GTR_ZSTACK_PASSWORD: SECRET } });
    assert.equal(config.zstack.password, SECRET);
    assert.equal(config.zstack.passwordFile, null);
  });

  it('never shows the password in problems, details or messages, whatever is wrong with it', () => {
    const file = write('bad-pw.json', JSON.stringify({ zstack: { password: 123456789, pasword: SECRET, tls: { secret: SECRET } } }));
    const error = thrown(() => loadConfig({ file, env: {} }));
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems.map((p) => [p.key, p.value]).sort(), [
      ['zstack.password', '[redacted]'],
      ['zstack.pasword', '[redacted]'],
      ['zstack.tls.secret', '[redacted]'],
    ]);
    for (const text of [error.message, JSON.stringify(error.details), JSON.stringify(error.problems)]) {
      assert.ok(!text.includes(SECRET) && !text.includes('123456789'), text);
    }
  });

  it('requireCredentials says a command calling ZStack needs an AccessKey or a password when there is neither', () => {
    const { config } = loadConfig({ env: {}, systemPath: NO_SYSTEM_FILE });
    const error = thrown(() => requireCredentials(config));
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems[0].key, 'zstack.password');
    assert.match(error.message, /GTR_ZSTACK_PASSWORD/);
    assert.match(error.message, /zstack\.accessKeyId/);
  });

  it('redactedConfig hides the password and keeps everything else', () => {
    const { config } = loadConfig({ env: { GTR_ZSTACK_PASSWORD: SECRET }, systemPath: NO_SYSTEM_FILE });
    const shown = JSON.stringify(redactedConfig(config));
    assert.ok(!shown.includes(SECRET));
    assert.match(shown, /"password":"\[redacted\]"/);
    assert.match(shown, /"endpoint":"http:\/\/127\.0\.0\.1:8080"/);
    assert.equal(config.zstack.password, SECRET, 'the config itself is untouched');
  });
});

describe('loadConfig: result', () => {
  it('is deep-frozen', () => {
    const file = write('frozen.json', JSON.stringify({ policy: { include: { vmUuids: ['a'] } }, schedule: { windows: [{ start: '01:00', end: '02:00' }] } }));
    const { config } = loadConfig({ file, env: {} });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.zstack.tls));
    assert.ok(Object.isFrozen(config.policy.include?.vmUuids));
    assert.ok(Object.isFrozen(config.schedule.windows[0]));
    assert.throws(() => {
      (config.policy as { maxPerHost: number }).maxPerHost = 99;
    }, TypeError);
  });

  it('checks that zstack.tls.caFile can be read', () => {
    const ca = write('ca.pem', '-----BEGIN CERTIFICATE-----\n');
    const withCa = (caFile: string) => write('ca.json', JSON.stringify({ zstack: { tls: { caFile } } }));
    assert.equal(loadConfig({ file: withCa(ca), env: {} }).config.zstack.tls.caFile, ca);
    const error = thrown(() => loadConfig({ file: withCa(dir), env: {} }));
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems[0].key, 'zstack.tls.caFile');
  });

  it('maps durations and limits into milliseconds and {kind, value}', () => {
    const file = write('units.json', JSON.stringify({ schedule: { jitter: '90s' }, policy: { maxConcurrency: '20%', maxErrors: 0, reattachAfter: '2d', quarantineBase: '30m' } }));
    const { config } = loadConfig({ file, env: {} });
    assert.equal(config.schedule.jitterMs, 90_000);
    assert.deepEqual(config.policy.maxConcurrency, { kind: 'percent', value: 20 });
    assert.deepEqual(config.policy.maxErrors, { kind: 'count', value: 0 });
    assert.equal(config.policy.reattachAfterMs, 172_800_000);
    assert.equal(config.policy.quarantineBaseMs, 1_800_000);
  });
});
