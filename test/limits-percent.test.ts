// Percentages of a count: concurrency rounds up (at least 1), the error
// budget and wave sizes round down, all in integers. Checked against exact BigInt arithmetic over
// every integer percent 1..100 and every size 1..1000, and over percents in tenths.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { concurrencyFor, errorBudgetFor } from '../src/apply/limits.js';
import { parseLimit, parseWaveSpec, percentOf, type Limit, type WaveStep } from '../src/count-or-percent.js';
import { fleetSection } from '../src/daemon/status-page/fleet-chart.js';
import { waveSizes } from '../src/rollout/wave-spec.js';

/** `tenths` / 10 percent of n, exactly: floor and ceil of tenths * n / 1000. */
function exact(tenths: number, n: number): { floor: number; ceil: number } {
  const product = BigInt(tenths) * BigInt(n);
  const floor = product / 1000n;
  return { floor: Number(floor), ceil: Number(floor * 1000n === product ? floor : floor + 1n) };
}

const percent = (text: string): Limit => {
  const limit = parseLimit(text, 0);
  assert.ok(limit?.kind === 'percent', text);
  return limit;
};

/** Every (percent, size) where `got` differs from `want`, as "p% of n: got g, want w". */
function mismatches(percents: readonly { text: string; tenths: number }[], sizes: number, got: (limit: Limit, n: number) => number, want: (e: { floor: number; ceil: number }) => number): string[] {
  const wrong: string[] = [];
  for (const p of percents) {
    const limit = percent(p.text);
    for (let n = 1; n <= sizes; n++) {
      const g = got(limit, n);
      const w = want(exact(p.tenths, n));
      if (g !== w) wrong.push(`${p.text} of ${n}: got ${g}, want ${w}`);
    }
  }
  return wrong;
}

const integers = Array.from({ length: 100 }, (_, i) => ({ text: `${i + 1}%`, tenths: (i + 1) * 10 }));
const tenths = Array.from({ length: 1000 }, (_, i) => ({ text: `${(i + 1) / 10}%`, tenths: i + 1 }));

describe('percentages in integers', () => {
  it('the named cases: "7%" of 100 concurrency is 7, "29%" of 100 budget is 29, waves 29%,100% of 100 are 29 then 71', () => {
    assert.equal(concurrencyFor(percent('7%'), 100), 7);
    assert.equal(errorBudgetFor(percent('29%'), 100), 29);
    const waves = waveSizes(parseWaveSpec('29%,100%') as WaveStep[], 100);
    assert.deepEqual(waves.map((w) => [w.spec, w.size]), [['29%', 29], ['100%', 71]]);
  });

  it('concurrency: ceil(p * n / 100), at least 1, for every percent 1..100 and size 1..1000', () => {
    assert.deepEqual(mismatches(integers, 1000, concurrencyFor, (e) => Math.max(1, e.ceil)).slice(0, 10), []);
  });

  it('error budget: floor(p * n / 100) for every percent 1..100 and size 1..1000', () => {
    assert.deepEqual(mismatches(integers, 1000, errorBudgetFor, (e) => e.floor).slice(0, 10), []);
  });

  it('waves: "p%,100%" gives floor(p * n / 100) then the rest, for every percent 1..100 and size 1..1000', () => {
    const wrong: string[] = [];
    for (let p = 1; p <= 100; p++) {
      const steps = parseWaveSpec(`${p}%,100%`) as WaveStep[];
      for (let n = 1; n <= 1000; n++) {
        const first = exact(p * 10, n).floor;
        const want = first === 0 || first === n ? [n] : [first, n - first];
        const got = waveSizes(steps, n).map((w) => w.size);
        if (got.join() !== want.join()) wrong.push(`${p}%,100% of ${n}: got ${got.join()}, want ${want.join()}`);
      }
    }
    assert.deepEqual(wrong.slice(0, 10), []);
  });

  it('fractional percents are scaled to integers: every tenth 0.1..100.0 over sizes 1..300', () => {
    assert.deepEqual(mismatches(tenths, 300, concurrencyFor, (e) => Math.max(1, e.ceil)).slice(0, 10), []);
    assert.deepEqual(mismatches(tenths, 300, errorBudgetFor, (e) => e.floor).slice(0, 10), []);
    const wrong: string[] = [];
    for (const p of tenths.filter((_, i) => i % 7 === 0)) {
      const steps = parseWaveSpec(`${p.text},100%`) as WaveStep[];
      for (let n = 1; n <= 300; n++) {
        const first = exact(p.tenths, n).floor;
        if ((waveSizes(steps, n)[0]?.cumulative ?? 0) !== (first === 0 ? n : first)) wrong.push(`${p.text} of ${n}`);
      }
    }
    assert.deepEqual(wrong.slice(0, 10), []);
  });

  it('percentOf: more decimals, tiny and large values, and refuses what is not a count', () => {
    assert.equal(percentOf(0.1, 1000, 'up'), 1, '(0.1 / 100) * 1000 is 1.0000000000000002 in floating point');
    assert.equal(percentOf(12.345, 200_000, 'down'), 24_690);
    assert.equal(percentOf(12.3456, 10_000, 'up'), 1235);
    assert.equal(percentOf(0.0000001, 1_000_000_000, 'down'), 1, '1e-7 %');
    assert.equal(percentOf(0.0000001, 999_999_999, 'down'), 0);
    assert.equal(percentOf(0, 10, 'up'), 0);
    assert.equal(percentOf(100, Number.MAX_SAFE_INTEGER, 'down'), Number.MAX_SAFE_INTEGER);
    assert.equal(percentOf(33, 0, 'up'), 0);
    assert.throws(() => percentOf(5, 1.5, 'up'), RangeError);
    assert.throws(() => percentOf(-5, 10, 'up'), RangeError);
  });
});

describe('a share of a count shown as a percentage', () => {
  it('the status page fleet chart floors in integers: 29 of 100 on target is 29%', () => {
    const group = { agentType: 'LinuxOnKvm' as const, architecture: 'x86_64', target: '1.0.0', total: 100, onTarget: 29, onTargetConfirmed: 29, onTargetTagOnly: 0, older: 71, ahead: 0, unknown: 0 };
    assert.match(String(fleetSection([group], 1, 100)), />29%<\/text>/);
  });
});
