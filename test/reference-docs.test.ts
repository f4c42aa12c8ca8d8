// docs/reference/ and docs/zh-CN/reference/ are generated from the catalogs (scripts/reference/): the
// committed pages must be what the generator gives today. When this fails after you changed a catalog,
// run `npm run gen:docs` and commit the pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { referencePages } from '../scripts/reference/render.js';
import { ROOT } from './helpers/cli.js';

test('reference docs: every committed page is what the catalogs give (npm run gen:docs)', () => {
  const pages = referencePages();
  assert.deepEqual(pages.map((p) => p.path).sort(), [
    'docs/reference/errors.md', 'docs/reference/exit-codes.md', 'docs/reference/reasons.md',
    'docs/zh-CN/reference/errors.md', 'docs/zh-CN/reference/exit-codes.md', 'docs/zh-CN/reference/reasons.md',
  ]);
  for (const page of pages) {
    assert.equal(readFileSync(join(ROOT, page.path), 'utf8'), page.text, `${page.path} differs from the catalogs: run npm run gen:docs`);
  }
});
