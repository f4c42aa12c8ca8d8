// The config schema's outside: the JSON Schema editors read (config/schema.json, generated), config
// files with comments (JSONC) and where a broken one is broken, "did you mean" for a misspelt key,
// and the windows' time zone defaulting to the host's.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { ConfigError, GtrError } from '../src/errors.js';
import { SCHEMA_FILE, schemaText } from '../scripts/gen-schema.js';
import { gtr, ROOT } from './helpers/cli.js';

const EXAMPLE = path.join(ROOT, 'config', 'example.jsonc');
let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-config-schema-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return assert.fail('expected an error');
}

describe('config/schema.json', () => {
  it('is what npm run gen:schema writes from the schema (run it after changing a key)', () => {
    assert.equal(fs.readFileSync(SCHEMA_FILE, 'utf8'), schemaText());
  });

  it('is referenced by the shipped files, and knows every key with its default', () => {
    for (const file of ['example.jsonc', 'default.json']) assert.match(fs.readFileSync(path.join(ROOT, 'config', file), 'utf8'), /"\$schema": "\.\/schema\.json"/);
    const schema = JSON.parse(schemaText()) as { properties: Record<string, { properties?: Record<string, { default?: unknown }> }>; additionalProperties: boolean };
    assert.equal(schema.additionalProperties, false, 'an editor flags unknown keys too');
    assert.equal(schema.properties.policy.properties?.maxConcurrency.default, 10);
    assert.equal(schema.properties.install.properties?.settle.default, '3m');
    assert.equal(schema.properties.policy.properties?.detachAfterVerify.default, true);
  });
});

describe('JSONC config files', () => {
  it('loads config/example.jsonc as it is: comments, "$schema" and all', () => {
    const { config } = loadConfig({ file: EXAMPLE, env: { GTR_ZSTACK_PASSWORD: 'secret' } });
    assert.equal(config.zstack.endpoint, 'https://mn.example.com:8080');
    assert.deepEqual(config.policy.exclude, { tags: ['no-guesttools-upgrade'] });
    assert.equal(config.install.mode, 'off');
    assert.ok(!('$schema' in config), 'the editor hint is no setting');
  });

  it('takes line and block comments and trailing commas', () => {
    const file = write('commented.jsonc', '// ops team\n{\n  /* weekends only */\n  "policy": { "maxPerHost": 4, }, // more later\n  "install": { "mode": "qga", "settle": "90s", },\n}\n');
    const { config } = loadConfig({ file, env: {} });
    assert.equal(config.policy.maxPerHost, 4);
    assert.equal(config.install.mode, 'qga');
    assert.equal(config.install.settleMs, 90_000);
    assert.equal(config.install.timeoutMs, 30 * 60_000);
  });

  it('names the file, line and column of a syntax error, without quoting the text', () => {
    const file = write('broken.jsonc', '// comment\n{\n  "zstack": {\n    "password": s3cr3t-pa55\n  }\n}\n');
    const error = thrown(() => loadConfig({ file, env: {} }));
    assert.ok(error instanceof GtrError);
    assert.equal(error.code, 'GTR_CONFIG_UNREADABLE');
    assert.ok(error.message.includes(file), error.message);
    assert.match(error.message, /at line 4, column 17$/);
    assert.doesNotMatch(error.message, /s3cr3t|pa55/);
  });

  it('names where a file ends too early', () => {
    const error = thrown(() => loadConfig({ file: write('short.jsonc', '{\n  "policy": {\n    "maxPerHost": 2,\n'), env: {} }));
    assert.ok(error instanceof GtrError);
    assert.match(error.message, /expected at line 4, column 1$/);
  });
});

describe('install.* and policy.detachAfterVerify', () => {
  it('default to attach only, 10 installs in flight, 3m settle, 30m timeout, ZStack\'s procedure, detach after verify', () => {
    const { config } = loadConfig({ env: {}, systemPath: path.join(dir, 'none.json') });
    assert.deepEqual(config.install, { mode: 'off', maxConcurrency: 10, settleMs: 180_000, timeoutMs: 1_800_000, linux: { command: null }, windows: { command: null } });
    assert.equal(config.policy.detachAfterVerify, true);
  });

  it('name each wrong value with its file key', () => {
    const file = write('install.json', JSON.stringify({
      install: { mode: 'ssh', maxConcurrency: 0, settle: 'soon', timeout: '0', linux: { command: '' }, windows: { command: 7 } },
      policy: { detachAfterVerify: 'yes' },
    }));
    const error = thrown(() => loadConfig({ file, env: {} }));
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(Object.fromEntries(error.problems.map((p) => [p.key, p.expected])), {
      'install.mode': 'one of off, qga',
      'install.maxConcurrency': 'a positive integer',
      'install.settle': 'a duration like "24h", "30m", "90s", "1500ms", "2d" or "0"',
      'install.timeout': 'a positive duration like "24h", "30m", "90s", "1500ms", "2d" or "0" (not "0")',
      'install.linux.command': 'a non-empty command, or null',
      'install.windows.command': 'a non-empty command, or null',
      'policy.detachAfterVerify': 'true or false',
    });
  });
});

describe('unknown keys', () => {
  const problemsOf = (content: unknown) => {
    const error = thrown(() => loadConfig({ file: write('unknown.json', JSON.stringify(content)), env: {} }));
    assert.ok(error instanceof ConfigError);
    return error;
  };

  it('suggests the key a misspelt one was meant to be', () => {
    const error = problemsOf({ policy: { maxConcurency: 3 }, zstack: { tls: { rejectUnauthorised: false } }, install: { Mode: 'qga' } });
    assert.match(error.message, /policy\.maxConcurency: got 3, expected no such key; known keys here: .*; did you mean maxConcurrency\?/);
    assert.match(error.message, /zstack\.tls\.rejectUnauthorised: .*did you mean rejectUnauthorized\?/);
    assert.match(error.message, /install\.Mode: .*did you mean mode\?/);
  });

  it('suggests nothing for a key like no known one', () => {
    const error = problemsOf({ colour: 'blue' });
    assert.deepEqual(error.problems.map((p) => p.key), ['colour']);
    assert.doesNotMatch(error.problems[0].expected, /did you mean/);
  });
});

describe('schedule.timezone', () => {
  it('defaults to the host\'s zone (TZ), not UTC: a 22:00 window in Shanghai opens at 14:00 UTC', async () => {
    const file = write('tz.json', JSON.stringify({ database: path.join(dir, 'tz.db'), schedule: { windows: [{ start: '22:00', end: '23:00' }] } }));
    // gtr status never creates the database: make it first.
    const migrated = await gtr(['migrate', '--config', file]);
    assert.equal(migrated.code, 0, migrated.stderr);
    for (const [tz, utcHour] of [['Asia/Shanghai', 14], ['UTC', 22]] as const) {
      const r = await gtr(['status', '--json', '--config', file], { env: { TZ: tz } });
      assert.equal(r.code, 0, r.stderr);
      const { window } = JSON.parse(r.stdout) as { window: { nextOpening: string } };
      assert.equal(new Date(window.nextOpening).getUTCHours(), utcHour, `TZ=${tz}: ${window.nextOpening}`);
    }
  });

  it('is the host zone in the loaded config, and an explicit zone wins', () => {
    const host = Intl.DateTimeFormat().resolvedOptions().timeZone;
    assert.equal(loadConfig({ env: {}, systemPath: path.join(dir, 'none.json') }).config.schedule.timezone, host);
    const file = write('berlin.json', JSON.stringify({ schedule: { timezone: 'Europe/Berlin' } }));
    assert.equal(loadConfig({ file, env: {} }).config.schedule.timezone, 'Europe/Berlin');
  });
});
