// Opt-in self-measurement for the benchmark (`npm run bench`): time in the planner, time in the ledger
// (SQLite plus its row mapping), wall time per phase and peak RSS, written as one JSON line to the file
// named by GTR_PROFILE_FILE when the process exits. Off (and free) unless that variable is set.
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const file = process.env.GTR_PROFILE_FILE;
export const profiling = typeof file === 'string' && file !== '';

interface Total {
  ms: number;
  calls: number;
}

const totals = new Map<string, Total>();
const started = performance.now();
const open = new Set<string>();
/** RSS and live heap (MB) right after each asynchronous phase: where the memory goes. */
const rssAfter: Record<string, number> = {};
const heapAfter: Record<string, number> = {};
/** process.memoryUsage() at the highest RSS sampled (every 100 ms): which part of RSS makes the peak. */
let atPeak: NodeJS.MemoryUsage & { atMs: number } = { ...process.memoryUsage(), atMs: 0 };

/** [seconds, rss, heapTotal, heapUsed, arrayBuffers] in MB every half second (first 10 minutes). */
const timeline: number[][] = [];
let samples = 0;

function sampleMemory(): void {
  const mem = process.memoryUsage();
  const atMs = performance.now() - started;
  if (mem.rss > atPeak.rss) atPeak = { ...mem, atMs };
  if (samples++ % 5 === 0 && timeline.length < 1200) timeline.push([round(atMs / 1000), ...[mem.rss, mem.heapTotal, mem.heapUsed, mem.arrayBuffers].map((b) => round(b / 1_048_576))]);
}

function add(name: string, ms: number): void {
  const t = totals.get(name);
  if (t) {
    t.ms += ms;
    t.calls++;
  } else totals.set(name, { ms, calls: 1 });
}

/**
 * Runs a synchronous step and adds its time under `name` (when profiling). Pass arguments through
 * `args` rather than a closure: a closure would keep them alive for the rest of the caller's run.
 */
export function timed<A extends unknown[], R>(name: string, fn: (...args: A) => R, ...args: A): R {
  // Nested steps of the same name (a ledger batch calling ledger methods) count once.
  if (!profiling || open.has(name)) return fn(...args);
  open.add(name);
  const t0 = performance.now();
  try {
    return fn(...args);
  } finally {
    open.delete(name);
    add(name, performance.now() - t0);
  }
}

/** Wall time of an asynchronous phase (includes waiting on the network). */
export async function timedAsync<R>(name: string, fn: () => Promise<R>): Promise<R> {
  if (!profiling) return fn();
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    add(name, performance.now() - t0);
    // With --expose-gc (diagnosis only) the live heap is measured instead of live + garbage.
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    rssAfter[name] = round(mem.rss / 1_048_576);
    heapAfter[name] = round(mem.heapUsed / 1_048_576);
  }
}

/**
 * Counts every method call of `target` (the Ledger: all of its methods are synchronous) under 'sqlite'.
 * Returns `target` itself when not profiling.
 */
export function profiled<T extends object>(target: T, name = 'sqlite'): T {
  if (!profiling) return target;
  return new Proxy(target, {
    get(obj, key) {
      const value: unknown = Reflect.get(obj, key, obj);
      if (typeof value !== 'function') return value;
      const method = `${name}.${String(key)}`;
      return (...args: unknown[]) => timed(name, () => timed(method, () => (value as (...a: unknown[]) => unknown).apply(obj, args)));
    },
  });
}

/** The measurements so far (also what is written at exit). */
export function profileSnapshot(): Record<string, unknown> {
  const usage = process.resourceUsage();
  const out: Record<string, unknown> = {
    wallMs: round(performance.now() - started),
    cpuUserMs: round(usage.userCPUTime / 1000),
    cpuSystemMs: round(usage.systemCPUTime / 1000),
    // maxRSS is in kilobytes (getrusage): the peak resident set of this process.
    peakRssMb: round(usage.maxRSS / 1024),
  };
  out.rssMbAfter = rssAfter;
  out.heapMbAfter = heapAfter;
  sampleMemory();
  out.memoryMbAtPeak = {
    atS: round(atPeak.atMs / 1000),
    rss: round(atPeak.rss / 1_048_576),
    heapTotal: round(atPeak.heapTotal / 1_048_576),
    heapUsed: round(atPeak.heapUsed / 1_048_576),
    external: round(atPeak.external / 1_048_576),
    arrayBuffers: round(atPeak.arrayBuffers / 1_048_576),
  };
  out.memoryTimelineMb = timeline;
  for (const [name, t] of totals) {
    out[`${name}Ms`] = round(t.ms);
    out[`${name}Calls`] = t.calls;
  }
  return out;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

if (profiling) {
  setInterval(sampleMemory, 100).unref();
  process.on('exit', () => {
    try {
      appendFileSync(file as string, `${JSON.stringify(profileSnapshot())}\n`);
    } catch {
      // Measurement must never change the command's outcome.
    }
  });
}
