// ha.leaderCheck "zsha2": ZStack's own pair of management nodes (zstack-api.md 10.4). This node leads
// when it holds zsha2's database VIP (`dbvip` from `zsha2 show-config`, found on a local interface, as
// ZStack itself decides), or when `zsha2 status -json` says `ownsVip: true`.
import { interfaceError, interfaceHolding, type InterfaceTable } from './local-address.js';
import { firstLine, runCommand, type RunOptions } from './run-command.js';
import type { Verdict } from './verdict.js';

export const DEFAULT_ZSHA2_PATH = '/usr/local/bin/zsha2';
const NOT_INSTALLED = 'HA environment not installed';

interface Zsha2Options extends RunOptions {
  path: string;
  interfaces?: () => InterfaceTable;
}

export async function zsha2Verdict(opts: Zsha2Options): Promise<Verdict> {
  const config = await zsha2Json(opts, ['show-config']);
  if ('problem' in config) return { role: 'standby', failed: true, reason: config.problem };
  const dbvip = config.json.dbvip;
  if (typeof dbvip !== 'string' || dbvip === '') {
    return { role: 'standby', failed: true, reason: `${opts.path} show-config printed no "dbvip": is this node part of a zsha2 pair?` };
  }
  let vipProblem: string;
  try {
    const holder = interfaceHolding(dbvip, opts.interfaces);
    if (holder !== null) return { role: 'leader', failed: false, reason: `zsha2 dbvip ${dbvip} is on interface ${holder}` };
    vipProblem = `zsha2 dbvip ${dbvip} is not on a local interface`;
  } catch (error) {
    vipProblem = interfaceError(error);
  }
  const status = await zsha2Json(opts, ['status', '-json']);
  if ('problem' in status) return { role: 'standby', failed: true, reason: `${vipProblem}, and ${status.problem}` };
  if (status.json.ownsVip === true) return { role: 'leader', failed: false, reason: `zsha2 status says ownsVip (${vipProblem})` };
  return { role: 'standby', failed: false, reason: `${vipProblem}, and zsha2 status says ownsVip ${JSON.stringify(status.json.ownsVip ?? null)}` };
}

/** The JSON object a zsha2 subcommand prints, or why there is none. */
async function zsha2Json(opts: Zsha2Options, args: string[]): Promise<{ json: Record<string, unknown> } | { problem: string }> {
  const what = `${opts.path} ${args.join(' ')}`;
  const r = await runCommand([opts.path, ...args], opts);
  if (r.failure !== null) {
    const hint = r.failure.endsWith('not found') ? ': ha.leaderCheck "zsha2" needs ZStack\'s HA tools on this node (GTR_ZSHA2_PATH names another path)' : '';
    return { problem: `${what}: ${r.failure}${hint}` };
  }
  const output = `${r.stdout}\n${r.stderr}`;
  if (output.includes(NOT_INSTALLED)) {
    return { problem: `${what}: ${NOT_INSTALLED} (exit ${r.exitCode}): this node is not part of a zsha2 pair; use ha.leaderCheck "none" or {"vip": ...}` };
  }
  if (r.exitCode !== 0) return { problem: `${what} exited ${r.exitCode}: ${firstLine(r.stderr) || firstLine(r.stdout) || 'no output'}` };
  // Be lenient about text around the object (a banner, a trailing newline).
  const start = r.stdout.indexOf('{');
  const end = r.stdout.lastIndexOf('}');
  try {
    const json: unknown = JSON.parse(r.stdout.slice(start, end + 1));
    if (start >= 0 && json !== null && typeof json === 'object' && !Array.isArray(json)) return { json: json as Record<string, unknown> };
  } catch {
    // reported below
  }
  return { problem: `${what} printed no JSON object: ${firstLine(r.stdout) || 'no output'}` };
}
