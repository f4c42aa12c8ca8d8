// `gtr sim`: run the simulator in the foreground until SIGINT/SIGTERM.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseDuration } from '../time-format.js';
import type { SimIso } from './types.js';
import { parseArgs } from 'node:util';
import type { SimAccessKey } from './access-keys.js';
import { simIsoDirProblem, writeIsoDir } from './iso-dir.js';
import { isMnVersion, NEWEST_MN_VERSION } from './mn-version.js';
import { startSimulator } from './simulator.js';
import { DEFAULT_ISOS } from './world.js';
import { messageOf } from '../errors.js';

const USAGE = `usage: gtr sim [options]

Runs a ZStack API simulator in the foreground (SIGINT/SIGTERM stop it): for the demo, the tests and
practice. It prints its endpoint, account and password. Durations are milliseconds or "5s", "100ms",
"2m", "1h30m".

The fleet:
  --vms N                 VMs in the fleet (default 1000)
  --seed S                seed of the generated fleet and of the faults (default 1)
  --names FILE            VM names from FILE, one per line (UTF-8; blank lines skipped), used in turn
                          (default: generated names such as vm-000001); for practice with Chinese,
                          emoji, very long or odd names
  --ui-tag NAME=SHARE     the UI tag (tag pattern) NAME on a share 0..1 of the VMs (repeatable; default none),
                          e.g. canary=0.01
  --iso VERSION           the GuestTools ISOs the MN ships are VERSION (default 1.2.0, which the fleet's
                          up-to-date VMs already run): a new version makes them out of date; with
                          --iso-dir its files are written too

The server:
  --host H                listen address (default 127.0.0.1)
  --port P                port (default 8080; 0 picks a free one)
  --iso-dir DIR           also write empty, fake GuestTools ISO files (the /opt/zstack-dvd layout) into DIR, to use
                          as gtr's isoDir (default: none); DIR must be new, empty or made by gtr sim (a marker
                          file): never the MN's /opt/zstack-dvd
  --mn-version X.Y.Z      behave as this release (default ${NEWEST_MN_VERSION}): below 4.6.11 there is no
                          QueryGuestToolsState (404), 4.6.11-4.6.20 name its field \`state\`, later \`qgaState\`
  --access-key ID:SECRET  accept requests signed with this AccessKey (repeatable; default none), besides password login
  --clock-skew SECONDS    the simulated MN's clock is this far off (default 0; negative: --clock-skew=-600); signed
                          requests more than 900 s off are refused with 403, as on a real MN
  --expire-sessions D     a session expires after D without a call (default 2h, the MN's session timeout); e.g.
                          5s makes gtr log in again between the daemon's ticks
  --latency D             added to every request (default 0)
  --record-version-tag    the attach records the GuestTools:: tag it was sent (default: ignored, as the open sources do)
  --no-script-library     no CreateGuestVmScript/ExecuteGuestVmScript (404 no api mapping), as before 5.2.0
                          (default: the script library is there)
  --no-detach             no DetachGuestToolsIsoFromVm (400 the body doesn't contain action mapping)
                          (default: detach is there)

Attaches and guests:
  --job-ms D              an attach job's duration (default 20ms)
  --fail-rate P           share 0..1 of attaches whose job fails with SYS.1006, as a host that cannot
                          copy the ISO (default 0)
  --fail-vm UUID          every attach to this VM fails (repeatable; default none)
  --stuck-rate P          share 0..1 of attach jobs that never finish (default 0): gtr waits for
                          zstack.jobTimeoutMs, then counts them in doubt
  --install-percent P     share in percent of guests that install attached tools (default 0: none does unless told)
  --install-delay D       a guest that installs reports the new version this long after the attach (default 50ms)
  --install-ms D          a script that launches zs-tools-install.sh from the attached ISO: the installer restarts
                          the guest agent after D and reports its version (default 20ms)
  --script-statuses W     how records and details spell their statuses: Succeed, Succeeded or Completed (default Succeed)
  --unreachable-vms M     a listed VM whose agent does not run: detail (a failed detail; default) or refuse (the
                          whole call refused)

Examples:
  gtr sim --vms 200 --iso 1.3.0 --iso-dir /tmp/gtr-isos --port 8080
  gtr sim --vms 50 --fail-rate 0.1 --stuck-rate 0.02 --names names.txt --port 0
  gtr sim --expire-sessions 5s --latency 20ms`;

/** A duration flag: whole milliseconds or "5s", "100ms", "2m"; the default when not given. */
function durationFlag(values: Record<string, string | boolean | string[] | undefined>, name: string, dflt: number, max = 3_600_000): number | string {
  const raw = values[name];
  if (raw === undefined) return dflt;
  const ms = typeof raw !== 'string' ? null : /^\d+$/.test(raw) ? Number(raw) : parseDuration(raw);
  if (ms === null || ms > max) return `gtr sim: --${name} must be a duration such as 5s, 100ms or 2m (or whole milliseconds) up to ${max / 1000} s, got ${JSON.stringify(raw)}`;
  return ms;
}

/** A share flag: a number from 0 to 1. */
function shareFlag(values: Record<string, string | boolean | string[] | undefined>, name: string): number | string {
  const raw = values[name];
  if (raw === undefined) return 0;
  if (typeof raw !== 'string' || !/^(0|1|0?\.\d+|1\.0*)$/.test(raw)) return `gtr sim: --${name} must be a share from 0 to 1 (e.g. 0.05), got ${JSON.stringify(raw)}`;
  return Number(raw);
}

function intFlag(values: Record<string, string | boolean | string[] | undefined>, name: string, dflt: number, max = 10_000_000): number | string {
  const raw = values[name];
  if (raw === undefined) return dflt;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) > max) {
    return `gtr sim: --${name} must be a whole number between 0 and ${max}, got ${JSON.stringify(raw)}`;
  }
  return Number(raw);
}

/** `--ui-tag NAME=SHARE` values as `{ NAME: SHARE }`, or the problem. */
function uiTagFlags(values: string[]): Record<string, number> | string {
  const out: Record<string, number> = {};
  for (const v of values) {
    const at = v.lastIndexOf('=');
    const name = at > 0 ? v.slice(0, at) : '';
    const share = at > 0 ? Number(v.slice(at + 1)) : NaN;
    if (name === '' || !/^(0|1|0?\.\d+)$/.test(v.slice(at + 1)) || share > 1) {
      return `gtr sim: --ui-tag must be NAME=SHARE with a share from 0 to 1, got ${JSON.stringify(v)}`;
    }
    out[name] = share;
  }
  return out;
}

export async function runSimCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        vms: { type: 'string' }, seed: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
        'iso-dir': { type: 'string' }, latency: { type: 'string' }, 'job-ms': { type: 'string' },
        'install-delay': { type: 'string' }, 'install-percent': { type: 'string' }, 'record-version-tag': { type: 'boolean' },
        'ui-tag': { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' },
        'access-key': { type: 'string', multiple: true }, 'clock-skew': { type: 'string' }, 'mn-version': { type: 'string' },
        'install-ms': { type: 'string' }, 'script-statuses': { type: 'string' }, 'unreachable-vms': { type: 'string' },
        'no-script-library': { type: 'boolean' }, 'no-detach': { type: 'boolean' },
        'fail-rate': { type: 'string' }, 'fail-vm': { type: 'string', multiple: true }, 'stuck-rate': { type: 'string' },
        'expire-sessions': { type: 'string' }, iso: { type: 'string' }, names: { type: 'string' },
      },
    }));
  } catch (error) {
    console.error(`gtr sim: ${messageOf(error)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const nums = {
    vms: intFlag(values, 'vms', 1000), seed: intFlag(values, 'seed', 1, 2 ** 32 - 1), port: intFlag(values, 'port', 8080, 65535),
    latency: durationFlag(values, 'latency', 0, 600_000), jobMs: durationFlag(values, 'job-ms', 20),
    installDelay: durationFlag(values, 'install-delay', 50),
    installPercent: intFlag(values, 'install-percent', 0, 100),
    installMs: durationFlag(values, 'install-ms', 20),
    sessionMs: durationFlag(values, 'expire-sessions', 7_200_000, 30 * 86_400_000),
    failRate: shareFlag(values, 'fail-rate'), stuckRate: shareFlag(values, 'stuck-rate'),
  };
  for (const v of Object.values(nums)) {
    if (typeof v === 'string') {
      console.error(`${v}\n${USAGE}`);
      return 2;
    }
  }
  const uiTags = uiTagFlags(Array.isArray(values['ui-tag']) ? values['ui-tag'] : []);
  if (typeof uiTags === 'string') {
    console.error(`${uiTags}\n${USAGE}`);
    return 2;
  }
  const n = nums as Record<keyof typeof nums, number>;
  const extra = mnFlags(values);
  if (typeof extra === 'string') {
    console.error(`gtr sim: ${extra}\n${USAGE}`);
    return 2;
  }
  const statuses = values['script-statuses'] ?? 'Succeed';
  const unreachable = values['unreachable-vms'] ?? 'detail';
  if (statuses !== 'Succeed' && statuses !== 'Succeeded' && statuses !== 'Completed') {
    console.error(`gtr sim: --script-statuses must be Succeed, Succeeded or Completed, got ${JSON.stringify(statuses)}\n${USAGE}`);
    return 2;
  }
  if (unreachable !== 'detail' && unreachable !== 'refuse') {
    console.error(`gtr sim: --unreachable-vms must be detail or refuse, got ${JSON.stringify(unreachable)}\n${USAGE}`);
    return 2;
  }
  const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
  const isoDir = typeof values['iso-dir'] === 'string' ? values['iso-dir'] : undefined;

  const isoDirProblem = isoDir ? await simIsoDirProblem(isoDir) : null;
  if (isoDirProblem) {
    console.error(`gtr sim: ${isoDirProblem}`);
    return 2;
  }
  const world = await worldFlags(values);
  if (typeof world === 'string') {
    console.error(`gtr sim: ${world}\n${USAGE}`);
    return 2;
  }
  const faults = { latencyMs: n.latency, attachFailRate: n.failRate, stuckJobRate: n.stuckRate, failVmUuids: world.failVms, seed: n.seed };
  let sim;
  try {
    if (isoDir) await writeIsoDir(isoDir, world.isos);
    sim = await startSimulator({
      host, port: n.port, fleet: { vms: n.vms, seed: n.seed, uiTags }, jobDurationMs: n.jobMs,
      recordVersionTag: values['record-version-tag'] === true,
      guests: { installDelayMs: n.installDelay, installShare: n.installPercent / 100, installMs: n.installMs },
      faults, isos: world.isos, sessionTimeoutMs: n.sessionMs,
      scripts: { statuses, unreachableVms: unreachable }, scriptLibrary: values['no-script-library'] === true ? false : undefined,
      detachApi: values['no-detach'] !== true,
      accessKeys: extra.accessKeys, clockSkewMs: extra.clockSkewMs, mnVersion: extra.mnVersion,
    });
  } catch (error) {
    console.error(`gtr sim: cannot start: ${messageOf(error)}`);
    return 2;
  }
  // --names: the fleet's names in turn (the simulator's own fleet generator names them vm-000001...).
  if (world.names.length > 0) sim.vms().forEach((vm, i) => sim.updateVm(vm.uuid, { name: world.names[i % world.names.length] }));
  const hash = createHash('sha512').update(sim.password).digest('hex');
  const lines = [
    `ZStack simulator listening on ${sim.endpoint} (${n.vms} VMs, seed ${n.seed})`,
    `endpoint: ${sim.endpoint}`,
    `account:  ${sim.accountName}`,
    `password: ${sim.password}`,
    `release:  ${sim.mnVersion}${extra.clockSkewMs !== 0 ? `, clock ${extra.clockSkewMs / 1000} s off` : ''}`,
    `scripts:  ${values['no-script-library'] === true ? 'no script library' : `statuses ${statuses}, unreachable VMs: ${unreachable}`}${values['no-detach'] === true ? '; no detach' : ''}`,
  ];
  for (const key of extra.accessKeys) lines.push(`access key: ${key.id} (secret as given)`);
  lines.push(`isos:     GuestTools ${world.isos[0].version}${isoDir ? ` (files in ${isoDir})` : ''}`);
  if (world.names.length > 0) lines.push(`names:    ${world.names.length} from ${String(values.names)}`);
  const faultWords = [n.failRate > 0 ? `${n.failRate * 100}% of attaches fail` : '', world.failVms.length > 0 ? `attaches to ${world.failVms.length} VMs fail` : '',
    n.stuckRate > 0 ? `${n.stuckRate * 100}% of attach jobs never finish` : '', n.latency > 0 ? `latency ${n.latency} ms` : ''].filter(Boolean);
  if (faultWords.length > 0) lines.push(`faults:   ${faultWords.join(', ')}`);
  lines.push(`sessions: expire after ${n.sessionMs / 1000} s without a call`);
  for (const [name, share] of Object.entries(uiTags)) lines.push(`UI tag:   ${name} on ${Math.round(share * 100)}% of the VMs`);
  lines.push(
    'try:',
    `  SESSION=$(curl -s -X PUT ${sim.endpoint}/zstack/v1/accounts/login -d '{"logInByAccount":{"accountName":"${sim.accountName}","password":"${hash}"}}' | sed -E 's/.*"uuid":"([0-9a-f]+)".*/\\1/')`,
    `  curl -s -H "Authorization: OAuth $SESSION" '${sim.endpoint}/zstack/v1/vm-instances?limit=2&replyWithCount=true'`,
  );
  console.log(lines.join('\n'));

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sim.close();
  console.log('ZStack simulator stopped');
  return 0;
}

interface WorldFlags {
  isos: SimIso[];
  names: string[];
  failVms: string[];
}

/** --iso, --names and --fail-vm, or the problem with them. */
async function worldFlags(values: Record<string, string | boolean | string[] | undefined>): Promise<WorldFlags | string> {
  const version = values.iso;
  if (version !== undefined && (typeof version !== 'string' || !/^\d{1,4}\.\d{1,4}\.\d{1,4}$/.test(version))) {
    return `--iso must be a version like 1.3.0, got ${JSON.stringify(version)}`;
  }
  const isos = typeof version === 'string' ? DEFAULT_ISOS.map((iso) => ({ ...iso, version })) : DEFAULT_ISOS;
  const failVms = Array.isArray(values['fail-vm']) ? values['fail-vm'] : [];
  const badVm = failVms.find((v) => !/^[0-9a-f]{32}$/.test(v));
  if (badVm !== undefined) return `--fail-vm must be a VM uuid (32 lowercase hex characters), got ${JSON.stringify(badVm.slice(0, 80))}`;
  let names: string[] = [];
  if (typeof values.names === 'string') {
    try {
      names = (await readFile(values.names, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
    } catch (error) {
      return `--names: cannot read ${JSON.stringify(values.names)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
    }
    if (names.length === 0) return `--names: ${JSON.stringify(values.names)} has no names (one per line)`;
  }
  return { isos, names, failVms };
}

interface MnFlags {
  accessKeys: SimAccessKey[];
  clockSkewMs: number;
  mnVersion: string | undefined;
}

/** The AccessKey, clock and release flags, or the problem with them. */
function mnFlags(values: Record<string, string | boolean | string[] | undefined>): MnFlags | string {
  const accessKeys: SimAccessKey[] = [];
  const given = values['access-key'];
  for (const raw of Array.isArray(given) ? given : []) {
    const colon = raw.indexOf(':');
    // The value is not echoed: it may hold a secret.
    if (colon <= 0 || colon === raw.length - 1) return '--access-key must be ID:SECRET with neither part empty';
    accessKeys.push({ id: raw.slice(0, colon), secret: raw.slice(colon + 1) });
  }
  const skew = values['clock-skew'];
  if (skew !== undefined && (typeof skew !== 'string' || !/^-?\d{1,9}$/.test(skew))) {
    return `--clock-skew must be a whole number of seconds (may be negative), got ${JSON.stringify(skew)}`;
  }
  const version = values['mn-version'];
  if (version !== undefined && (typeof version !== 'string' || !isMnVersion(version))) {
    return `--mn-version must look like 4.6.21, got ${JSON.stringify(version)}`;
  }
  return { accessKeys, clockSkewMs: skew === undefined ? 0 : Number(skew) * 1000, mnVersion: version };
}
