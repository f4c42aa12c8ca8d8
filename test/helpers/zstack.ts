// A ZStack client for tests against the simulator: short timeouts, fast polling and retries.
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
