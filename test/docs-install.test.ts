// docs/install.md (and its zh-CN twin) cannot drift from the code: the Linux command it shows is the
// one the reconciler runs in the guests (DEFAULT_LINUX_COMMAND), and the files it names are the ones
// that command writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LINUX_COMMAND, GUEST_LOG_FILE, GUEST_STATUS_FILE, LAUNCHER_TIMEOUT_S } from '../src/apply/install-commands.js';
import { ROOT } from './helpers/cli.js';

for (const page of ['docs/install.md', 'docs/zh-CN/install.md']) {
  test(`${page} shows the exact default Linux command and the files it leaves in the guest`, () => {
    const text = readFileSync(join(ROOT, page), 'utf8');
    assert.ok(text.includes(`\`\`\`sh\n${DEFAULT_LINUX_COMMAND}\n\`\`\``), `${page} has DEFAULT_LINUX_COMMAND verbatim in a sh block`);
    for (const file of [GUEST_STATUS_FILE, GUEST_LOG_FILE]) assert.ok(text.includes(`\`${file}\``), `${page} names ${file}`);
    assert.match(text, new RegExp(`${LAUNCHER_TIMEOUT_S}`), `${page} gives the script timeout`);
  });
}
