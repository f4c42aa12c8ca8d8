// Config as a pure function of (defaults, file, environment): every problem listed at once,
// the result deep-frozen. See DESIGN.md section 4 for the keys.
import { ConfigError, type ConfigProblem } from '../errors.js';
import { envLayer, locateConfigFile, mergeLayers, readConfigFile, type Layer } from './layers.js';
import { buildConfig, type Config } from './schema.js';
import { REDACTED } from '../redacted.js';
import { checkReadableFile, readHttpCredentials, readSecretLine, readTokenFile, type HttpCredentials } from './secrets.js';

export interface ConfigSources {
  /** --config; null or missing means "look further". */
  file?: string | null;
  env: NodeJS.ProcessEnv;
  /** Base for relative paths given by env and --config; defaults to process.cwd(). */
  cwd?: string;
  /** The system-wide file looked for when no file is named (tests point it elsewhere). */
  systemPath?: string;
}

export interface LoadedConfig {
  config: Readonly<Config>;
  /** The config file read (absolute path), or "defaults" when there was none. */
  source: string;
  /** Not errors, but worth a log line: e.g. a password file readable by others. */
  warnings: string[];
  /** The status server's credentials from http.auth.* (kept out of `config`, which is logged). */
  httpCredentials: HttpCredentials | null;
  /** notify.webhooks[i].secretFile contents by webhook index (kept out of `config`). */
  webhookSecrets: ReadonlyMap<number, string>;
  /** ha.tokenFile's token: the peer endpoints require it and calls to the peer send it (kept out of `config`). */
  haToken: string | null;
}

/** @throws ConfigError (every problem at once) or GtrError GTR_CONFIG_UNREADABLE (file unreadable or not JSON). */
export function loadConfig(sources: ConfigSources): LoadedConfig {
  const cwd = sources.cwd ?? process.cwd();
  const warnings: string[] = [];
  const layers: Layer[] = [];

  const file = locateConfigFile(sources.file, sources.env, cwd, sources.systemPath);
  if (file) layers.push(readConfigFile(file, warnings));
  const env = envLayer(sources.env, cwd);
  if (Object.keys(env.data).length > 0) layers.push(env);

  const problems: ConfigProblem[] = [];
  const report = (key: string, value: unknown, expected: string): void => void problems.push({ key, value, expected });
  const config = buildConfig(mergeLayers(layers, report), report);

  const invalid = (...keys: string[]) => problems.some((p) => keys.includes(p.key));
  const z = config.zstack;
  for (const [inline, file, what] of [['password', 'passwordFile', 'the password'], ['accessKeySecret', 'accessKeySecretFile', 'the AccessKey secret']] as const) {
    const path = z[file];
    if (path !== null && !invalid(`zstack.${file}`, `zstack.${inline}`)) z[inline] = readSecretLine(`zstack.${file}`, path, what, report, warnings);
  }
  // An AccessKey or a password, never both; an AccessKey id and its secret come together.
  const hasPassword = z.password !== null || z.passwordFile !== null;
  const hasSecret = z.accessKeySecret !== null || z.accessKeySecretFile !== null;
  if (z.accessKeyId !== null && hasPassword) {
    report('zstack.accessKeyId', z.accessKeyId, 'either an AccessKey (zstack.accessKeyId with its secret) or a password (zstack.password or zstack.passwordFile), not both');
  }
  if (z.accessKeyId !== null && !hasSecret) {
    report('zstack.accessKeySecret', REDACTED,
      `the secret of AccessKey ${z.accessKeyId}: set zstack.accessKeySecret or zstack.accessKeySecretFile, or GTR_ZSTACK_ACCESS_KEY_SECRET or GTR_ZSTACK_ACCESS_KEY_SECRET_FILE`);
  }
  if (z.accessKeyId === null && hasSecret && !invalid('zstack.accessKeySecretFile')) {
    report('zstack.accessKeyId', null, 'the id of the AccessKey whose secret is set (zstack.accessKeyId or GTR_ZSTACK_ACCESS_KEY_ID)');
  }
  if (z.tls.caFile !== null && !invalid('zstack.tls.caFile')) checkReadableFile('zstack.tls.caFile', z.tls.caFile, 'a readable PEM file with the CA certificate', report);
  const httpCredentials = invalid('http.listen') ? null : readHttpCredentials(config.http, report, warnings);
  const webhookSecrets = new Map<number, string>();
  config.notify.webhooks.forEach((hook, i) => {
    const secret = hook.secretFile === null ? null : readSecretLine(`notify.webhooks[${i}].secretFile`, hook.secretFile, 'the signing secret', report, warnings);
    if (secret !== null) webhookSecrets.set(i, secret);
  });
  // A peer needs a leader check (else both nodes attach) and the token the two nodes share.
  const { ha } = config;
  if (ha.peer !== null && ha.leaderCheck.kind === 'none') {
    report('ha.leaderCheck', 'none', 'a leader check ("zsha2", {"vip": ...} or {"command": [...]}) when ha.peer is set: with "none" both nodes would attach');
  }
  if (ha.peer !== null && ha.tokenFile === null) {
    report('ha.tokenFile', null, 'a file holding the token both nodes share (at least 16 printable characters) when ha.peer is set');
  }
  const haToken = ha.tokenFile === null ? null : readTokenFile('ha.tokenFile', ha.tokenFile, report, warnings);

  if (problems.length > 0) throw new ConfigError(problems, layers.length > 0 ? layers.map((l) => l.name).join(' + ') : 'defaults');
  return { config: deepFreeze(config), source: file ?? 'defaults', warnings, httpCredentials, webhookSecrets, haToken };
}

/** The effective config for logs and output: the password and the AccessKey secret show as "[redacted]" when set. */
export function redactedConfig(config: Config): unknown {
  const hide = (v: string | null) => (v === null ? null : REDACTED);
  return {
    ...config,
    zstack: { ...config.zstack, password: hide(config.zstack.password), accessKeySecret: hide(config.zstack.accessKeySecret) },
    // Webhook URLs carry the robot's token; header values may be credentials.
    notify: { webhooks: config.notify.webhooks.map((w) => ({ ...w, url: REDACTED, headers: Object.keys(w.headers) })) },
  };
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
