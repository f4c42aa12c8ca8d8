// The error catalog is part of the contract: every code is in the command reference (docs/reference.md) and
// maps to an exit code of the exit-code tables, the README's and the reference's (the same codes in both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError, ERROR_CODES, EXIT, GtrError, errorToJson, ZStackApiError } from '../src/errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const reference = readFileSync(new URL('../docs/reference.md', import.meta.url), 'utf8');
const exitCodes = (markdown: string) => new Set([...markdown.matchAll(/^\| (\d+)(?: \/ (\d+))? \|/gm)].flatMap((m) => [m[1], m[2]]).filter(Boolean).map(Number));

test('errors: every code is in the reference and maps to an exit code of the README and the reference', () => {
  const documentedExits = exitCodes(readme);
  assert.deepEqual([...exitCodes(reference)].sort(), [...documentedExits].sort(), "the README's exit codes are the reference's");
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    assert.match(reference, new RegExp(`\`${code}\``), `${code} is missing from docs/reference.md`);
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
