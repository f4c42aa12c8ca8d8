// Check "systemd": when run as root on a systemd host, whether the service unit is enabled and active.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { fail, pass, skip, warn, type CheckResult } from './check.js';

const UNIT = 'guesttools-reconciler';
const SYSTEMCTL_TIMEOUT_MS = 5_000;

export async function checkSystemd(): Promise<CheckResult> {
  if (process.getuid?.() !== 0) return skip('systemd', 'not run as root');
  // sd_booted(): systemd is the init system when this folder exists.
  if (!fs.existsSync('/run/systemd/system')) return skip('systemd', 'systemd is not the init system here');
  const enabled = await systemctl('is-enabled');
  if (enabled === null) return skip('systemd', 'systemctl not found');
  const active = (await systemctl('is-active')) ?? 'unknown';
  const detail = `${UNIT}: ${enabled}, ${active}`;
  if (enabled === 'not-found' || enabled === '') return warn('systemd', `${UNIT}: unit not installed`, 'install it with install.sh, or see the README "Operations" section');
  if (active === 'failed') return fail('systemd', detail, `journalctl -u ${UNIT} -n 50 shows why; fix it, then systemctl restart ${UNIT}`);
  if (enabled !== 'enabled' || active !== 'active') return warn('systemd', detail, `systemctl enable --now ${UNIT}`);
  return pass('systemd', detail);
}

/** The one-word answer of `systemctl <verb> UNIT` (it exits non-zero for "disabled", "inactive"...); null without systemctl. */
function systemctl(verb: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('systemctl', [verb, UNIT], { timeout: SYSTEMCTL_TIMEOUT_MS }, (error, stdout) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return resolve(null);
      resolve(stdout.trim().split('\n')[0] ?? '');
    });
  });
}
