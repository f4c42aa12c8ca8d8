// npm run gen:docs: writes docs/reference/ and docs/zh-CN/reference/ from the catalogs in src/
// (test/reference-docs.test.ts fails when the committed pages differ from what this writes).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { referencePages } from './reference/render.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const page of referencePages()) {
  const file = join(root, page.path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, page.text);
  console.log(`wrote ${page.path}`);
}
