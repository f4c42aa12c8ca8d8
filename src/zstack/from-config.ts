// The ZStack client as the configuration describes it, and the credentials it needs (checked by the
// daemon at start too); shared by the CLI and the daemon.
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import type { Config } from '../config/schema.js';
import { ZStackClient } from './client.js';
import type { RequestObserver } from './http.js';

/** How the client authenticates: a password login (session) or an AccessKey (every request signed). */
export type ZStackCredentials =
  | { kind: 'password'; accountName: string; password: string }
  | { kind: 'accessKey'; id: string; secret: string };

/** The credentials, or a ConfigError saying that commands calling ZStack need one of them. */
export function requireCredentials(config: Config): ZStackCredentials {
  const z = config.zstack;
  if (z.accessKeyId !== null && z.accessKeySecret !== null) return { kind: 'accessKey', id: z.accessKeyId, secret: z.accessKeySecret };
  if (z.password !== null) return { kind: 'password', accountName: z.accountName, password: z.password };
  throw new ConfigError(
    [
      {
        key: 'zstack.password',
        value: null,
        expected: 'credentials for the management node, as this command calls ZStack: an AccessKey (zstack.accessKeyId with ' +
          'zstack.accessKeySecret or zstack.accessKeySecretFile, or GTR_ZSTACK_ACCESS_KEY_ID with GTR_ZSTACK_ACCESS_KEY_SECRET) ' +
          'or a password (zstack.password or zstack.passwordFile, or GTR_ZSTACK_PASSWORD or GTR_ZSTACK_PASSWORD_FILE)',
      },
    ],
    'effective configuration',
  );
}

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
