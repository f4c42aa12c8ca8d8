// The client against the simulator in tests: short timeouts, fast polling and retries, and a harness
// that closes every simulator and client a test opened.
import { afterEach } from 'node:test';
import { startSimulator, type SimOptions, type Simulator } from '../../src/sim/index.js';
import { ZStackClient, type ZStackClientOptions } from '../../src/zstack/client.js';

export function fastClient(sim: { endpoint: string; accountName: string; password: string }, over: Partial<ZStackClientOptions> = {}): ZStackClient {
  return new ZStackClient({
    endpoint: sim.endpoint,
    accountName: sim.accountName,
    password: sim.password,
    requestTimeoutMs: 5000,
    pageSize: 1000,
    jobPollIntervalMs: 5,
    jobTimeoutMs: 10_000,
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    ...over,
  });
}

/** Call at module level: `sim()` and `client()` open things that are closed after each test. */
export function clientHarness(defaults: SimOptions = {}) {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()?.();
  });
  return {
    async sim(opts: SimOptions = {}): Promise<Simulator> {
      const s = await startSimulator({ port: 0, ...defaults, ...opts });
      cleanups.push(() => s.close());
      return s;
    },
    client(s: Simulator, over: Partial<ZStackClientOptions> = {}): ZStackClient {
      const c = fastClient(s, over);
      cleanups.push(() => c.close());
      return c;
    },
  };
}
