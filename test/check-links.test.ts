// The documentation's link check (scripts/check-links.ts, run by npm run lint): it finds a missing file,
// a missing anchor and an absolute path in a scratch tree, accepts what GitHub resolves (headings with
// code and punctuation, repeated headings, Chinese headings, <a id>), and the repository's README.md and
// docs/ have no broken link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLinks, slug } from '../scripts/check-links.js';
import { ROOT } from './helpers/cli.js';

test('links: headings become GitHub anchors', () => {
  assert.equal(slug('Troubleshooting with `gtr doctor`'), 'troubleshooting-with-gtr-doctor');
  assert.equal(slug('Two management nodes (HA)'), 'two-management-nodes-ha');
  assert.equal(slug('双管理节点（HA）'), '双管理节点ha');
  assert.equal(slug('Rollout JSON: `state`, `errors`'), 'rollout-json-state-errors');
});

test('links: a missing file, a missing anchor and an absolute path are reported with file and line', () => {
  const root = mkdtempSync(join(tmpdir(), 'gtr-links-'));
  try {
    mkdirSync(join(root, 'docs', 'zh-CN'), { recursive: true });
    writeFileSync(join(root, 'README.md'), [
      '# Title',
      'See [ops](docs/ops.md#install-on-the-mn), [again](docs/ops.md#install-on-the-mn-1), [zh](docs/zh-CN/ops.md#安装),',
      '[top](#title), [web](https://example.com/x#y), [pic](docs/pic.png "a picture"), `[not a link](nowhere.md)`.',
      '```sh',
      'echo [neither](missing.md)',
      '```',
      '[gone](docs/gone.md) and [bad anchor](docs/ops.md#nope)',
      '[absolute](/etc/passwd) [held](docs/ops.md#held)',
    ].join('\n'));
    writeFileSync(join(root, 'docs', 'ops.md'), '# Ops\n\n## Install on the MN\n\ntext\n\n## Install on the MN\n\n<a id="held"></a>x\n\n[back](../README.md#title)\n');
    writeFileSync(join(root, 'docs', 'zh-CN', 'ops.md'), '# 运维\n\n## 安装\n\n[bad](../ops.md#安装)\n');
    writeFileSync(join(root, 'docs', 'pic.png'), '');
    const { files, links, problems } = checkLinks(root);
    assert.equal(files, 3);
    assert.equal(links, 12);
    assert.deepEqual(problems, [
      'README.md:7: docs/gone.md: no such file (docs/gone.md)',
      'README.md:7: docs/ops.md#nope: docs/ops.md has no heading or <a id> "nope"',
      'README.md:8: /etc/passwd: an absolute path (links must be relative to the file)',
      'docs/zh-CN/ops.md:5: ../ops.md#安装: docs/ops.md has no heading or <a id> "安装"',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('links: README.md and docs/ have no broken link', () => {
  const { files, links, problems } = checkLinks(ROOT);
  assert.ok(files > 10 && links > 50, `read ${files} files, ${links} links`);
  assert.deepEqual(problems, []);
});
