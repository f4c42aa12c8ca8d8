// Opt-in self-measurement for the benchmark (`npm run bench`): time in the planner, time in the ledger
// (SQLite plus its row mapping), wall time per phase and peak RSS, written as one JSON line to the file
// named by GTR_PROFILE_FILE when the process exits. A Profiler instance is passed to what it measures;
// without that variable it is NO_PROFILER, which measures nothing and costs nothing.
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

/** How often RSS is sampled; a synchronous call at least this long is sampled after it too. */
const SAMPLE_EVERY_MS = 25;

export interface Profiler {
  /**
   * Runs a synchronous step and adds its time under `name`. Pass arguments through `args` rather than
   * a closure: a closure would keep them alive for the rest of the caller's run.
   */
  timed<A extends unknown[], R>(name: string, fn: (...args: A) => R, ...args: A): R;
  /** Wall time of an asynchronous phase (includes waiting on the network). */
  timedAsync<R>(name: string, fn: () => Promise<R>): Promise<R>;
  /** Counts every method call of `target` (the Ledger: all of its methods are synchronous) under `name`. */
  profiled<T extends object>(target: T, name?: string): T;
}

export const NO_PROFILER: Profiler = {
  timed: (_name, fn, ...args) => fn(...args),
  timedAsync: (_name, fn) => fn(),
  profiled: (target) => target,
};

/** A profiler writing to GTR_PROFILE_FILE at exit, or NO_PROFILER when that variable is unset. */
export function profilerFromEnv(env: NodeJS.ProcessEnv = process.env): Profiler {
  const file = env.GTR_PROFILE_FILE;
  if (typeof file !== 'string' || file === '') return NO_PROFILER;
  const profiler = new MeasuringProfiler();
  // Every SAMPLE_EVERY_MS: a peak shorter than the interval is counted in peakRssMb (getrusage) but not seen here.
  setInterval(() => profiler.sampleMemory(), SAMPLE_EVERY_MS).unref();
  process.on('exit', () => {
    try {
      appendFileSync(file, `${JSON.stringify(profiler.snapshot())}\n`);
    } catch {
      // Measurement must never change the command's outcome.
    }
  });
  return profiler;
}

interface Total {
  ms: number;
  calls: number;
}

class MeasuringProfiler implements Profiler {
  private readonly totals = new Map<string, Total>();
  private readonly started = performance.now();
  private readonly open = new Set<string>();
  /** RSS and live heap (MB) right after each asynchronous phase: where the memory goes. */
  private readonly rssAfter: Record<string, number> = {};
  private readonly heapAfter: Record<string, number> = {};
  /** CPU (user + system, ms) of this process during each asynchronous phase. */
  private readonly cpuIn: Record<string, number> = {};
  /** process.memoryUsage() at the highest RSS sampled: which part of RSS makes the peak. */
  private atPeak: NodeJS.MemoryUsage & { atMs: number; spaces: Record<string, number>; after?: string } = { ...process.memoryUsage(), atMs: 0, spaces: {} };
  /** [seconds, rss, heapTotal, heapUsed, arrayBuffers] in MB every half second (first 10 minutes). */
  private readonly timeline: number[][] = [];
  private samples = 0;

  timed<A extends unknown[], R>(name: string, fn: (...args: A) => R, ...args: A): R {
    // Nested steps of the same name (a ledger batch calling ledger methods) count once.
    if (this.open.has(name)) return fn(...args);
    this.open.add(name);
    const t0 = performance.now();
    try {
      return fn(...args);
    } finally {
      this.open.delete(name);
      this.add(name, performance.now() - t0);
    }
  }

  async timedAsync<R>(name: string, fn: () => Promise<R>): Promise<R> {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    try {
      return await fn();
    } finally {
      this.add(name, performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      this.cpuIn[name] = round((this.cpuIn[name] ?? 0) + (cpu.user + cpu.system) / 1000);
      // With --expose-gc (diagnosis only) the live heap is measured instead of live + garbage.
      (globalThis as { gc?: () => void }).gc?.();
      const mem = process.memoryUsage();
      this.rssAfter[name] = round(mem.rss / 1_048_576);
      this.heapAfter[name] = round(mem.heapUsed / 1_048_576);
    }
  }

  profiled<T extends object>(target: T, name = 'sqlite'): T {
    return new Proxy(target, {
      get: (obj, key) => {
        const value: unknown = Reflect.get(obj, key, obj);
        if (typeof value !== 'function') return value;
        const method = `${name}.${String(key)}`;
        return (...args: unknown[]) => {
          const outermost = !this.open.has(name);
          const t0 = performance.now();
          try {
            const result = this.timed(name, () => this.timed(method, () => (value as (...a: unknown[]) => unknown).apply(obj, args)));
            // An asynchronous method (synced: the disk sync of a start batch): how long its callers wait.
            if (result instanceof Promise) {
              const waited = () => this.add(`${method}.wait`, performance.now() - t0);
              result.then(waited, waited);
            }
            return result;
          } finally {
            // A long synchronous call (100k rows) blocks the interval's samples: its peak is read here.
            // Only then: reading RSS after each of tens of thousands of short calls cost the measured run a second of CPU.
            if (outermost && performance.now() - t0 >= SAMPLE_EVERY_MS) this.sampleMemory(method);
          }
        };
      },
    });
  }

  /** `after`: the step just finished (a ledger method), named in the figures when it made the peak. */
  sampleMemory(after?: string): void {
    if (after !== undefined) {
      if (process.memoryUsage.rss() > this.atPeak.rss) this.atPeak = { ...process.memoryUsage(), atMs: performance.now() - this.started, spaces: heapSpaces(), after };
      return;
    }
    const mem = process.memoryUsage();
    const atMs = performance.now() - this.started;
    if (mem.rss > this.atPeak.rss) this.atPeak = { ...mem, atMs, spaces: heapSpaces() };
    if (this.samples++ % 20 === 0 && this.timeline.length < 1200) {
      this.timeline.push([round(atMs / 1000), ...[mem.rss, mem.heapTotal, mem.heapUsed, mem.arrayBuffers].map((b) => round(b / 1_048_576))]);
    }
  }

  /** The measurements so far (also what is written at exit). */
  snapshot(): Record<string, unknown> {
    const usage = process.resourceUsage();
    const out: Record<string, unknown> = {
      wallMs: round(performance.now() - this.started),
      cpuUserMs: round(usage.userCPUTime / 1000),
      cpuSystemMs: round(usage.systemCPUTime / 1000),
      // maxRSS is in kilobytes (getrusage): the peak resident set of this process.
      peakRssMb: round(usage.maxRSS / 1024),
    };
    out.rssMbAfter = this.rssAfter;
    out.heapMbAfter = this.heapAfter;
    out.cpuMsIn = this.cpuIn;
    this.sampleMemory();
    const p = this.atPeak;
    out.memoryMbAtPeak = {
      atS: round(p.atMs / 1000),
      rss: round(p.rss / 1_048_576),
      heapTotal: round(p.heapTotal / 1_048_576),
      heapUsed: round(p.heapUsed / 1_048_576),
      external: round(p.external / 1_048_576),
      arrayBuffers: round(p.arrayBuffers / 1_048_576),
      ...p.spaces,
    };
    if (p.after !== undefined) out.peakAfter = p.after;
    out.memoryTimelineMb = this.timeline;
    for (const [name, t] of this.totals) {
      out[`${name}Ms`] = round(t.ms);
      out[`${name}Calls`] = t.calls;
    }
    return out;
  }

  private add(name: string, ms: number): void {
    const t = this.totals.get(name);
    if (t) {
      t.ms += ms;
      t.calls++;
    } else this.totals.set(name, { ms, calls: 1 });
  }
}

/** Committed size (MB) of each V8 heap space and V8's own malloc'ed memory: which part of the heap makes the peak. */
function heapSpaces(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const space of getHeapSpaceStatistics()) out[space.space_name] = round(space.physical_space_size / 1_048_576);
  out.v8Malloced = round(getHeapStatistics().malloced_memory / 1_048_576);
  return out;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
