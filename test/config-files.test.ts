// The shipped config/default.json and config/example.jsonc stay in step with the loader.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { DEFAULT_FILE_CONFIG } from '../src/config/schema.js';

const CONFIG_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'config');
const DEFAULT_JSON = path.join(CONFIG_DIR, 'default.json');
const EXAMPLE = path.join(CONFIG_DIR, 'example.jsonc');
const NO_SYSTEM_FILE = '/nonexistent/gtr/config.json';

/** Dotted paths of the leaves, treating the known list/selector values as leaves. */
function leafKeys(obj: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    const isSection = typeof v === 'object' && v !== null && !Array.isArray(v) && !['policy.include', 'policy.exclude'].includes(key);
    return isSection ? leafKeys(v as Record<string, unknown>, key) : [key];
  });
}

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gtr-config-files-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('config/default.json', () => {
  it('gives the same config as no file at all', () => {
    const fromFile = loadConfig({ file: DEFAULT_JSON, env: {} });
    const fromNothing = loadConfig({ env: {}, systemPath: NO_SYSTEM_FILE });
    assert.deepEqual(fromFile.config, fromNothing.config);
    assert.deepEqual(fromFile.warnings, []);
  });

  it('lists every key except the credential ones', () => {
    const keys = leafKeys(JSON.parse(fs.readFileSync(DEFAULT_JSON, 'utf8')) as Record<string, unknown>).sort();
    const expected = leafKeys(DEFAULT_FILE_CONFIG).filter((k) => !k.startsWith('zstack.password') && !k.startsWith('zstack.accessKey')).sort();
    assert.deepEqual(keys, expected);
  });
});

describe('config/example.jsonc', () => {
  const text = fs.readFileSync(EXAMPLE, 'utf8');
  // The example has whole-line comments only.
  const example = JSON.parse(text.replace(/^\s*\/\/.*$/gm, '')) as Record<string, unknown>;

  it('documents every key', () => {
    assert.deepEqual(leafKeys(example).sort(), leafKeys(DEFAULT_FILE_CONFIG).sort());
  });

  it('is a valid config once its password file exists', () => {
    const pw = path.join(dir, 'password');
    fs.writeFileSync(pw, 'secret\n', { mode: 0o600 });
    const zstack = example.zstack as Record<string, unknown>;
    const file = path.join(dir, 'example.json');
    fs.writeFileSync(file, JSON.stringify({ ...example, zstack: { ...zstack, passwordFile: pw } }));
    const { config } = loadConfig({ file, env: {} });
    assert.equal(config.zstack.password, 'secret');
    assert.deepEqual(config.schedule.windows, [{ days: ['sat', 'sun'], start: '22:00', end: '04:00' }]);
    assert.deepEqual(config.policy.exclude, { tags: ['no-guesttools-upgrade'] });
  });
});
