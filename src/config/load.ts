// Config as a pure function of (defaults, file, environment, flags): every problem listed at once,
// the result deep-frozen. See DESIGN.md section 4 for the keys.
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { Config } from './types.js';
import { SECRET_KEYS } from './defaults.js';
import { locateConfigFile, readConfigFile } from './config-file.js';
import { envLayer, flagsLayer, mergeLayers, resolvePaths, type Layer } from './layers.js';
import { buildConfig } from './schema.js';
import { checkReadableFile, groupReadableWarning, readPasswordFile, readSecretLine } from './secrets.js';
import { readHttpCredentials, type HttpCredentials } from './http-auth.js';

export { parseDuration } from './duration.js';
export { DEFAULT_CONFIG_PATH } from './defaults.js';

export interface ConfigSources {
  /** --config; null or missing means "look further". */
  file?: string | null;
  env: NodeJS.ProcessEnv;
  /** Dotted keys, e.g. {'database': '/x.db', 'log.level': 'debug'}; undefined values are ignored. */
  flags?: Record<string, unknown>;
  /** Base for relative paths given by flags, env and --config; defaults to process.cwd(). */
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
}

const REDACTED = '[redacted]';

/** @throws ConfigError (every problem at once) or GtrError GTR_CONFIG_UNREADABLE (file unreadable or not JSON). */
export function loadConfig(sources: ConfigSources): LoadedConfig {
  const cwd = sources.cwd ?? process.cwd();
  const warnings: string[] = [];
  const layers: Layer[] = [];

  const file = locateConfigFile(sources.file, sources.env, cwd, sources.systemPath);
  if (file) {
    const { layer, mode } = readConfigFile(file);
    const zstack = layer.data.zstack;
    const hasPassword = typeof zstack === 'object' && zstack !== null && 'password' in zstack && (zstack as { password: unknown }).password != null;
    if (hasPassword && (mode & 0o077) !== 0) warnings.push(groupReadableWarning('config file', file, mode));
    layers.push(resolvePaths(layer));
  }
  const env = envLayer(sources.env, cwd);
  if (Object.keys(env.data).length > 0) layers.push(resolvePaths(env));
  const flags = flagsLayer(sources.flags ?? {}, cwd);
  if (Object.keys(flags.data).length > 0) layers.push(resolvePaths(flags));

  const problems: ConfigProblem[] = [];
  const report = (key: string, value: unknown, expected: string): void => {
    problems.push({ key, value: SECRET_KEYS.has(key) ? REDACTED : value, expected });
  };
  const merged = mergeLayers(layers);
  for (const name of merged.bothPasswordKeys) {
    report('zstack.password', REDACTED, `either zstack.password or zstack.passwordFile, not both (both set by ${name})`);
  }
  const config = buildConfig(merged.tree, report);

  const invalid = (key: string) => problems.some((p) => p.key === key);
  if (config.zstack.passwordFile !== null && !invalid('zstack.passwordFile') && merged.bothPasswordKeys.length === 0) {
    config.zstack.password = readPasswordFile(config.zstack.passwordFile, report, warnings);
  }
  if (config.zstack.tls.caFile !== null && !invalid('zstack.tls.caFile')) {
    checkReadableFile('zstack.tls.caFile', config.zstack.tls.caFile, 'a readable PEM file with the CA certificate', report);
  }
  const httpCredentials = invalid('http.listen') ? null : readHttpCredentials(config.http, report, warnings);
  const webhookSecrets = readWebhookSecrets(config.notify.webhooks, report, warnings);

  if (problems.length > 0) {
    throw new ConfigError(problems, layers.length > 0 ? layers.map((l) => l.name).join(' + ') : 'defaults');
  }
  return { config: deepFreeze(config), source: file ?? 'defaults', warnings, httpCredentials, webhookSecrets };
}

function readWebhookSecrets(hooks: Config['notify']['webhooks'], report: Parameters<typeof readSecretLine>[3], warnings: string[]): Map<number, string> {
  const secrets = new Map<number, string>();
  hooks.forEach((hook, i) => {
    if (hook.secretFile === null) return;
    const secret = readSecretLine(`notify.webhooks[${i}].secretFile`, hook.secretFile, 'the signing secret', report, warnings);
    if (secret !== null) secrets.set(i, secret);
  });
  return secrets;
}

/** The password, or a ConfigError naming zstack.password for commands that must log in. */
export function requirePassword(config: Config): string {
  if (config.zstack.password !== null) return config.zstack.password;
  throw new ConfigError(
    [
      {
        key: 'zstack.password',
        value: null,
        expected: 'a password to log in: set zstack.password or zstack.passwordFile, or GTR_ZSTACK_PASSWORD or GTR_ZSTACK_PASSWORD_FILE',
      },
    ],
    'effective configuration',
  );
}

/** The effective config for logs and output: the password shows as "[redacted]" when set. */
export function redactedConfig(config: Config): unknown {
  return {
    ...config,
    zstack: { ...config.zstack, password: config.zstack.password === null ? null : REDACTED },
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
