// `--waves 1,10%,50%,100%` (parsed by src/count-or-percent.ts): cumulative wave sizes, each a VM
// count or a percentage of the members. Percentages round down ("up to 10%"), in integers (percentOf);
// a wave that would add nobody is dropped; the last wave always takes every remaining member, so none is left out.
import { percentOf, type WaveStep } from '../count-or-percent.js';

export interface WaveSize {
  /** 1-based, after dropping empty waves. */
  number: number;
  spec: string;
  /** Members in this wave (not cumulative). */
  size: number;
  /** Members in this wave and all before it. */
  cumulative: number;
}

/** Wave sizes for `members` VMs. No members, no waves. */
export function waveSizes(steps: readonly WaveStep[], members: number): WaveSize[] {
  const waves: WaveSize[] = [];
  let previous = 0;
  steps.forEach((step, i) => {
    const wanted = step.kind === 'count' ? step.value : percentOf(step.value, members, 'down');
    const last = i === steps.length - 1;
    const cumulative = last ? members : Math.min(members, Math.max(previous, wanted));
    if (cumulative > previous) waves.push({ number: waves.length + 1, spec: step.spec, size: cumulative - previous, cumulative });
    previous = Math.max(previous, cumulative);
  });
  return waves;
}
