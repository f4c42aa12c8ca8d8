// Limits given as a VM count or a percentage ("5", "5%"): policy.maxErrors, policy.maxConcurrency,
// rollout.maxErrors, `--max-errors`, and the cumulative wave sizes of `--waves 1,10%,50%,100%`.
// The one parser and formatter for them, and the one place a percentage of a count is taken
// (percentOf); what a percentage is of is up to the caller.
/** A count of VMs, or a percentage of what the caller applies it to. */
export type Limit = { kind: 'count'; value: number } | { kind: 'percent'; value: number };

/** A count (integer >= min) or "N%" (0 < N <= 100; 0 <= N when min is 0); null when neither. */
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

/** `percent` as an exact fraction numerator / 10^scale, from its decimal form ("12.5" -> 125 / 10^1; "1e-7" too). */
function exactDecimal(percent: number): { numerator: bigint; scale: number } {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(percent));
  if (!m) throw new RangeError(`not a percentage >= 0: ${percent}`);
  const fraction = m[2] ?? '';
  const scale = fraction.length - Number(m[3] ?? 0);
  const digits = BigInt(m[1] + fraction);
  return scale >= 0 ? { numerator: digits, scale } : { numerator: digits * 10n ** BigInt(-scale), scale: 0 };
}

/**
 * `percent`% of `count`, rounded 'up' (ceil) or 'down' (floor), in integers: ceil(p * n / 100) with a
 * fractional p scaled to an integer first, never through floating point ("7%" of 100 is 7, "29%" of 100
 * is 29, where (7 / 100) * 100 is 7.000000000000001 and (29 / 100) * 100 is 28.999999999999996).
 */
export function percentOf(percent: number, count: number, round: 'up' | 'down'): number {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`not a count: ${count}`);
  const { numerator, scale } = exactDecimal(percent);
  const product = numerator * BigInt(count);
  const divisor = 100n * 10n ** BigInt(scale);
  const quotient = product / divisor; // BigInt division truncates: the floor of non-negative numbers
  return Number(round === 'up' && quotient * divisor !== product ? quotient + 1n : quotient);
}

export function formatLimit(limit: Limit): string {
  return limit.kind === 'percent' ? `${limit.value}%` : String(limit.value);
}

export type WaveStep = { spec: string; kind: 'count' | 'percent'; value: number };

const MAX_WAVES = 20;

/** The text of a wave list, as parseWaveSpec read it: "1,10%,50%,100%". */
export const formatWaves = (steps: readonly WaveStep[]): string => steps.map((s) => s.spec).join(',');

/** The steps of a wave list like "1,10%,50%,100%", or a message saying what is wrong. */
export function parseWaveSpec(text: string): WaveStep[] | string {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) return 'a comma-separated list like "1,10%,50%,100%"';
  if (parts.length > MAX_WAVES) return `at most ${MAX_WAVES} waves`;
  const steps: WaveStep[] = [];
  for (const part of parts) {
    const limit = parseLimit(part, 1);
    if (!limit) return `"${part}" is not a positive VM count or a percentage from 0 (exclusive) to 100`;
    steps.push({ spec: part, ...limit });
  }
  return steps;
}
