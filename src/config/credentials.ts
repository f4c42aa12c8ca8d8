// The ZStack credentials of a loaded configuration: what the client (src/zstack/from-config.ts) and the
// daemon's start check need, apart from how the configuration was read.
import { ConfigError } from '../errors.js';
import type { Config } from './types.js';

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
