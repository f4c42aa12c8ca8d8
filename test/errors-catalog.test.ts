// The error catalog is part of the contract: every code has a documented exit code and is in the README.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, ERROR_CODES, EXIT, GtrError, errorToJson, ZStackApiError } from '../src/errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('errors: every code is documented in the README and maps to a documented exit code', () => {
  const documentedExits = new Set([...readme.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])));
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    assert.match(readme, new RegExp(`\`${code}\``), `${code} is missing from the README`);
    assert.ok(documentedExits.has(entry.exit), `${code}: exit ${entry.exit} is not in the README's exit code table`);
  }
  for (const exit of Object.values(EXIT)) assert.ok(documentedExits.has(exit), `exit ${exit} undocumented`);
});

test('errors: subclasses carry their code and exit code; JSON form never loses the ZStack code', () => {
  const config = new ConfigError([{ key: 'policy.maxPerHost', value: 'x', expected: 'a positive integer' }], 'test');
  assert.equal(config.code, 'GTR_CONFIG_INVALID');
  assert.equal(config.exitCode, 2);
  assert.match(config.message, /policy\.maxPerHost: got "x", expected a positive integer/);
  const api = new ZStackApiError('AttachGuestToolsIsoToVm', 503, { code: 'SYS.1007', description: 'invalid', details: 'not running' });
  assert.deepEqual(errorToJson(api), { code: 'SYS.1007', description: 'invalid', details: 'not running' });
  const lease = new GtrError('GTR_LEASE_HELD', 'held');
  assert.equal(lease.exitCode, 5);
  assert.equal(errorToJson(lease).code, 'GTR_LEASE_HELD');
});
