// A fake `zsha2` (ZStack's HA tool, zstack-api.md 10.4): it cannot run here (no MN pair), so tests use
// this shell script instead. It prints what the test wrote for each subcommand, or the "not installed"
// answer of a node outside a pair.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FakeZsha2 {
  path: string;
  /** What `zsha2 show-config` prints: JSON such as `{dbvip: '127.0.0.1', nic: 'lo'}`, or a text as is. */
  showConfig(json: Record<string, unknown> | string): void;
  /** What `zsha2 status -json` prints. */
  status(json: Record<string, unknown>): void;
  /** Every call exits 1 with "HA environment not installed" (a node outside a pair). */
  notInstalled(): void;
}

export function fakeZsha2(dir: string): FakeZsha2 {
  const home = join(dir, 'zsha2');
  mkdirSync(home, { recursive: true });
  const path = join(home, 'zsha2');
  writeFileSync(path, `#!/bin/sh
d=$(dirname "$0")
if [ -e "$d/not-installed" ]; then echo "HA environment not installed" >&2; exit 1; fi
case "$1" in
  show-config) cat "$d/show-config.json" ;;
  status) [ "$2" = "-json" ] || { echo "usage: zsha2 status -json" >&2; exit 2; }; cat "$d/status.json" ;;
  *) echo "unknown command $1" >&2; exit 2 ;;
esac
`);
  chmodSync(path, 0o755);
  const write = (name: string, json: Record<string, unknown> | string) => {
    rmSync(join(home, 'not-installed'), { force: true });
    writeFileSync(join(home, name), typeof json === 'string' ? json : `${JSON.stringify(json, null, 2)}\n`);
  };
  return {
    path,
    showConfig: (json) => write('show-config.json', json),
    status: (json) => write('status.json', json),
    notInstalled: () => writeFileSync(join(home, 'not-installed'), ''),
  };
}
