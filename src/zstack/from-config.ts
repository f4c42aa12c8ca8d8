// The ZStack client as the configuration describes it; shared by the CLI and the daemon.
import type { Logger } from 'pino';
import { requireCredentials } from '../config/credentials.js';
import type { Config } from '../config/types.js';
import { ZStackClient } from './client.js';
import type { RequestObserver } from './http.js';

export function clientFromConfig(config: Config, logger: Logger, signal?: AbortSignal, observer?: RequestObserver): ZStackClient {
  const z = config.zstack;
  const credentials = requireCredentials(config);
  return new ZStackClient({
    endpoint: z.endpoint,
    accountName: z.accountName,
    ...(credentials.kind === 'password' ? { password: credentials.password } : { accessKey: { id: credentials.id, secret: credentials.secret } }),
    requestTimeoutMs: z.requestTimeoutMs,
    pageSize: z.pageSize,
    jobPollIntervalMs: z.jobPollIntervalMs,
    jobTimeoutMs: z.jobTimeoutMs,
    tls: z.tls,
    logger: logger.child({ component: 'zstack' }),
    signal,
    observer,
  });
}
