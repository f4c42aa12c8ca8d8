// `--waves 1,10%,50%,100%`: cumulative wave sizes, each a VM count or a percentage of the members.
// Percentages round down ("up to 10%"); a wave that would add nobody is dropped; the last wave always
// takes every remaining member, so a rollout never leaves members out.
import type { Limit } from '../config/types.js';

export type WaveStep = { spec: string; kind: 'count' | 'percent'; value: number };

export interface WaveSize {
  /** 1-based, after dropping empty waves. */
  number: number;
  spec: string;
  /** Members in this wave (not cumulative). */
  size: number;
  /** Members in this wave and all before it. */
  cumulative: number;
}

const MAX_WAVES = 20;

/** The parsed steps, or a message saying what is wrong. */
export function parseWaveSpec(text: string): WaveStep[] | string {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) return 'a comma-separated list like "1,10%,50%,100%"';
  if (parts.length > MAX_WAVES) return `at most ${MAX_WAVES} waves`;
  const steps: WaveStep[] = [];
  for (const part of parts) {
    const limit = parseLimit(part, 1);
    if (!limit) return `"${part}" is not a positive VM count or a percentage from 0 (exclusive) to 100`;
    steps.push({ spec: part, ...limit, kind: limit.kind });
  }
  return steps;
}

/** A count (>= min) or "N%" (0 < N <= 100; 0 <= N when min is 0), as in `--max-errors`. */
export function parseLimit(text: string, min: 0 | 1): Limit | null {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) && n >= min ? { kind: 'count', value: n } : null;
  }
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (!m) return null;
  const pct = Number(m[1]);
  return pct <= 100 && (min === 0 ? pct >= 0 : pct > 0) ? { kind: 'percent', value: pct } : null;
}

export function formatLimit(limit: Limit): string {
  return limit.kind === 'percent' ? `${limit.value}%` : String(limit.value);
}

/** Wave sizes for `members` VMs. No members, no waves. */
export function waveSizes(steps: readonly WaveStep[], members: number): WaveSize[] {
  const waves: WaveSize[] = [];
  let previous = 0;
  steps.forEach((step, i) => {
    const wanted = step.kind === 'count' ? step.value : Math.floor((step.value / 100) * members);
    const last = i === steps.length - 1;
    const cumulative = last ? members : Math.min(members, Math.max(previous, wanted));
    if (cumulative > previous) waves.push({ number: waves.length + 1, spec: step.spec, size: cumulative - previous, cumulative });
    previous = Math.max(previous, cumulative);
  });
  return waves;
}
