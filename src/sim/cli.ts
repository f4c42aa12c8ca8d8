// `gtr sim`: run the simulator in the foreground until SIGINT/SIGTERM.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { writeIsoDir } from './iso-dir.js';
import { startSimulator } from './simulator.js';
import { DEFAULT_ISOS } from './world.js';

const USAGE = 'usage: gtr sim [--vms N] [--seed S] [--port P] [--host H] [--iso-dir DIR] [--latency MS] [--job-ms MS] [--install-delay MS]';

function intFlag(values: Record<string, string | boolean | undefined>, name: string, dflt: number, max = 10_000_000): number | string {
  const raw = values[name];
  if (raw === undefined) return dflt;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) > max) {
    return `gtr sim: --${name} must be a whole number between 0 and ${max}, got ${JSON.stringify(raw)}`;
  }
  return Number(raw);
}

export async function runSimCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        vms: { type: 'string' }, seed: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
        'iso-dir': { type: 'string' }, latency: { type: 'string' }, 'job-ms': { type: 'string' },
        'install-delay': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`gtr sim: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
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
  };
  for (const v of Object.values(nums)) {
    if (typeof v === 'string') {
      console.error(`${v}\n${USAGE}`);
      return 2;
    }
  }
  const n = nums as Record<keyof typeof nums, number>;
  const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
  const isoDir = typeof values['iso-dir'] === 'string' ? values['iso-dir'] : undefined;

  let sim;
  try {
    if (isoDir) await writeIsoDir(isoDir, DEFAULT_ISOS);
    sim = await startSimulator({
      host, port: n.port, fleet: { vms: n.vms, seed: n.seed }, jobDurationMs: n.jobMs,
      guests: { installDelayMs: n.installDelay }, faults: n.latency > 0 ? { latencyMs: n.latency } : undefined,
    });
  } catch (error) {
    console.error(`gtr sim: cannot start: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const hash = createHash('sha512').update(sim.password).digest('hex');
  const lines = [
    `ZStack simulator listening on ${sim.endpoint} (${n.vms} VMs, seed ${n.seed})`,
    `endpoint: ${sim.endpoint}`,
    `account:  ${sim.accountName}`,
    `password: ${sim.password}`,
  ];
  if (isoDir) lines.push(`iso dir:  ${isoDir}`);
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
