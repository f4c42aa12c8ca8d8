// `gtr sim`: run the simulator in the foreground until SIGINT/SIGTERM.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { SimAccessKey } from './access-keys.js';
import { simIsoDirProblem, writeIsoDir } from './iso-dir.js';
import { isMnVersion, NEWEST_MN_VERSION } from './mn-version.js';
import { startSimulator } from './simulator.js';
import { DEFAULT_ISOS } from './world.js';
import { messageOf } from '../errors.js';

const USAGE = `usage: gtr sim [--vms N] [--seed S] [--port P] [--host H] [--iso-dir DIR] [--latency MS] [--job-ms MS] [--install-delay MS]
               [--install-percent P] [--record-version-tag] [--access-key ID:SECRET]... [--clock-skew SECONDS] [--mn-version X.Y.Z]
               [--ui-tag NAME=SHARE]... [--install-ms MS] [--script-statuses Succeed|Succeeded|Completed]
               [--unreachable-vms detail|refuse] [--no-script-library] [--no-detach]
  --iso-dir DIR           also write empty, fake GuestTools ISO files (the /opt/zstack-dvd layout) into DIR, to use
                          as gtr's isoDir; DIR must be new, empty or made by gtr sim (never the MN's /opt/zstack-dvd)
  --install-percent P     share of guests that install attached tools (default 0: none does unless told)
  --record-version-tag    the attach records the GuestTools:: tag it was sent (default: ignored, as the open sources do)
  --access-key ID:SECRET  accept requests signed with this AccessKey (repeatable), besides password login
  --clock-skew SECONDS    the simulated MN's clock is this far off (negative: --clock-skew=-600); signed requests more
                          than 900 s off are refused with 403, as on a real MN
  --mn-version X.Y.Z      behave as this release (default ${NEWEST_MN_VERSION}): below 4.6.11 there is no
                          QueryGuestToolsState (404), 4.6.11-4.6.20 name its field \`state\`, later \`qgaState\`
  --ui-tag NAME=SHARE     the UI tag (tag pattern) NAME on a share 0..1 of the VMs (repeatable), e.g. canary=0.01
  --install-ms MS         a script that launches zs-tools-install.sh from the attached ISO: the installer restarts
                          the guest agent after MS and reports its version (default 20)
  --script-statuses W     how records and details spell their statuses (default Succeed)
  --unreachable-vms M     a listed VM whose agent does not run: a failed detail (default) or the whole call refused
  --no-script-library     no CreateGuestVmScript/ExecuteGuestVmScript (404 no api mapping), like an MN before 5.2.0
  --no-detach             no DetachGuestToolsIsoFromVm (400 the body doesn't contain action mapping)`;

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
    latency: intFlag(values, 'latency', 0, 600_000), jobMs: intFlag(values, 'job-ms', 20, 3_600_000),
    installDelay: intFlag(values, 'install-delay', 50, 3_600_000),
    installPercent: intFlag(values, 'install-percent', 0, 100),
    installMs: intFlag(values, 'install-ms', 20, 3_600_000),
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
  let sim;
  try {
    if (isoDir) await writeIsoDir(isoDir, DEFAULT_ISOS);
    sim = await startSimulator({
      host, port: n.port, fleet: { vms: n.vms, seed: n.seed, uiTags }, jobDurationMs: n.jobMs,
      recordVersionTag: values['record-version-tag'] === true,
      guests: { installDelayMs: n.installDelay, installShare: n.installPercent / 100, installMs: n.installMs },
      faults: n.latency > 0 ? { latencyMs: n.latency } : undefined,
      scripts: { statuses, unreachableVms: unreachable }, scriptLibrary: values['no-script-library'] === true ? false : undefined,
      detachApi: values['no-detach'] !== true,
      accessKeys: extra.accessKeys, clockSkewMs: extra.clockSkewMs, mnVersion: extra.mnVersion,
    });
  } catch (error) {
    console.error(`gtr sim: cannot start: ${messageOf(error)}`);
    return 2;
  }
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
  if (isoDir) lines.push(`iso dir:  ${isoDir}`);
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
