// `npm run soak`: the crash soak of issue 7 (see scripts/soak/crash-soak.ts). Seeded and bounded:
//   npm run soak -- --iterations 30 --seed 7
// Prints the figures and exits 1 when an invariant broke (duplicate attach, lost or non-terminal run).
import { parseArgs } from 'node:util';
import { formatSoak, runCrashSoak, soakPassed } from './soak/crash-soak.js';

const { values } = parseArgs({
  options: { iterations: { type: 'string', default: '30' }, seed: { type: 'string', default: '7' }, quiet: { type: 'boolean', default: false } },
});
const iterations = Number(values.iterations);
const seed = Number(values.seed);
if (!Number.isInteger(iterations) || iterations < 1 || iterations > 10_000 || !Number.isInteger(seed)) {
  process.stderr.write('usage: npm run soak -- [--iterations N (1..10000, default 30)] [--seed S (integer, default 7)] [--quiet]\n');
  process.exit(2);
}
const result = await runCrashSoak({ iterations, seed, log: values.quiet ? undefined : (line) => process.stderr.write(`${line}\n`) });
process.stdout.write(`${formatSoak(result)}\n`);
process.exit(soakPassed(result) ? 0 : 1);
