// Validator of `rollout.waves` ("1,10%,50%,100%"); the same parser checks `gtr rollout start --waves`.
import { fail, type Field } from './fields.js';
import { parseWaveSpec } from './count-or-percent.js';

export const waveList: Field<string> = (value, ctx) => {
  if (typeof value !== 'string') return fail(ctx, value, 'a comma-separated list of wave sizes like "1,10%,50%,100%"');
  const steps = parseWaveSpec(value);
  return typeof steps === 'string' ? fail(ctx, value, steps) : steps.map((s) => s.spec).join(',');
};
