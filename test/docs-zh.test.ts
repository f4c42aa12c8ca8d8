// docs/README.zh-CN.md is kept in step with README.md: every gtr command and every config key the README
// names must appear in the Chinese README too. When this fails after you documented a new key or command,
// add it to docs/README.zh-CN.md (a row in its config table, or a line in the matching section).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const zh = readFileSync(join(ROOT, 'docs', 'README.zh-CN.md'), 'utf8');

const KEY = /^((zstack|schedule|policy|ledger|http|log|rollout|ha|notify)\.[A-Za-z][A-Za-z0-9.]*|isoDir|database)$/;

/** Config keys: inline code spans that are exactly a key, such as `zstack.passwordFile`. */
function configKeys(markdown: string): string[] {
  return [...new Set([...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]).filter((span) => KEY.test(span)))].sort();
}

/** Commands: `gtr X` (and `gtr rollout X`, `gtr runs X`) wherever written, for X a command of the usage table. */
function commands(markdown: string): string[] {
  const known = new Set([...markdown.matchAll(/^\| `gtr ([a-z]+)/gm)].map((m) => m[1]));
  const found = [...markdown.matchAll(/\bgtr ((?:rollout|runs) [a-z]+|[a-z]+)/g)].map((m) => m[1]);
  return [...new Set(found.filter((c) => known.has(c.split(' ')[0])))].sort();
}

describe('docs/README.zh-CN.md follows README.md', () => {
  it('finds what it compares (the extraction works)', () => {
    assert.ok(configKeys(readme).includes('zstack.endpoint') && configKeys(readme).length > 20, configKeys(readme).join(' '));
    assert.ok(commands(readme).includes('rollout pause') && commands(readme).includes('reconcile'), commands(readme).join(' '));
  });

  it('names every config key the README names', () => {
    const missing = configKeys(readme).filter((key) => !zh.includes(key));
    assert.deepEqual(missing, [], `docs/README.zh-CN.md does not mention these config keys of README.md: ${missing.join(', ')}; add them to its config table`);
  });

  it('names every gtr command the README names', () => {
    const missing = commands(readme).filter((command) => !zh.includes(`gtr ${command}`));
    assert.deepEqual(missing, [], `docs/README.zh-CN.md does not mention these commands of README.md: ${missing.map((c) => `gtr ${c}`).join(', ')}`);
  });

  it('documents the AccessKey keys and the offline install', () => {
    for (const key of ['zstack.accessKeyId', 'zstack.accessKeySecret', 'zstack.accessKeySecretFile', 'install.sh', 'tar xzf']) {
      assert.ok(zh.includes(key), key);
    }
  });
});
