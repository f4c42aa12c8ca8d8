// The raw layers of a configuration, the file and the environment, and how they merge: sections merge key
// by key, every other value (lists and selectors too) is replaced whole by a later layer; what no layer
// sets takes the schema's default. The file is JSON with comments and trailing commas (JSONC); its parse
// errors name the line and column but never quote the file, which may hold a password.
import fs from 'node:fs';
import path from 'node:path';
import { getNodeValue, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { GtrError } from '../errors.js';
import { isPlainObject, setOwn } from '../plain-object.js';
import { REDACTED } from '../redacted.js';
import type { Reporter } from './schema.js';
import { groupReadableWarning } from './secrets.js';

export interface Layer {
  /** Where the values come from, for messages: a file path or "environment (GTR_X, ...)". */
  name: string;
  data: Record<string, unknown>;
  /** Folder that relative paths in this layer resolve against. */
  baseDir: string;
}

type Tree = Record<string, unknown>;

export const DEFAULT_CONFIG_PATH = '/etc/guesttools-reconciler/config.json';

/** --config, else GTR_CONFIG, else the system-wide file when it exists, else none (defaults only). */
export function locateConfigFile(file: string | null | undefined, env: NodeJS.ProcessEnv, cwd: string, systemPath = DEFAULT_CONFIG_PATH): string | null {
  if (file) return path.resolve(cwd, file);
  if (env.GTR_CONFIG) return path.resolve(cwd, env.GTR_CONFIG);
  return fs.existsSync(systemPath) ? systemPath : null;
}

/** The file's layer, its relative paths resolved; a file that holds a secret inline and is readable by group or others draws a warning. */
export function readConfigFile(file: string, warnings: string[] = []): Layer {
  let text: string;
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
    text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new GtrError('GTR_CONFIG_UNREADABLE', `cannot read config file ${file} (${code}); check the path given by --config or GTR_CONFIG`, {
      cause: error,
      details: { file, errno: code },
    });
  }
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    // What and where only: the text around the error may be the password.
    const { error, offset } = errors[0];
    const what = printParseErrorCode(error).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    const line = text.slice(0, offset).split('\n').length;
    const column = offset - text.lastIndexOf('\n', offset - 1);
    throw new GtrError('GTR_CONFIG_UNREADABLE', `config file ${file} is not valid JSON (comments and trailing commas allowed): ${what} at line ${line}, column ${column}`, { details: { file, line, column } });
  }
  // Through JSON text once more for ordinary objects (jsonc-parser's have no prototype), where a
  // "__proto__" key stays an own (and so unknown) key, as JSON.parse keeps it.
  const data: unknown = tree && JSON.parse(JSON.stringify(getNodeValue(tree)));
  if (!isPlainObject(data)) {
    const found = Array.isArray(data) ? 'a list' : data === null ? 'null' : typeof data;
    throw new GtrError('GTR_CONFIG_UNREADABLE', `config file ${file} must hold a JSON object, found ${found}`, { details: { file } });
  }
  const inline = inlineSecret(data);
  if (inline !== undefined && (mode & 0o077) !== 0) warnings.push(groupReadableWarning('config file', file, mode, inline === 'password' ? 'a password' : 'an AccessKey secret'));
  return resolvePaths({ name: file, data, baseDir: path.dirname(file) });
}

/** The secret a config file holds inline (zstack.password or zstack.accessKeySecret), if any. */
export function inlineSecret(data: Record<string, unknown>): 'password' | 'accessKeySecret' | undefined {
  const zstack = data.zstack;
  return isPlainObject(zstack) ? (['password', 'accessKeySecret'] as const).find((k) => zstack[k] != null) : undefined;
}

/** Environment variables and the keys they set. */
const ENV_KEYS: Readonly<Record<string, string>> = {
  GTR_ZSTACK_ENDPOINT: 'zstack.endpoint', GTR_ZSTACK_ACCOUNT: 'zstack.accountName', GTR_ZSTACK_PASSWORD: 'zstack.password',
  GTR_ZSTACK_PASSWORD_FILE: 'zstack.passwordFile', GTR_ZSTACK_ACCESS_KEY_ID: 'zstack.accessKeyId', GTR_ZSTACK_ACCESS_KEY_SECRET: 'zstack.accessKeySecret',
  GTR_ZSTACK_ACCESS_KEY_SECRET_FILE: 'zstack.accessKeySecretFile', GTR_ISO_DIR: 'isoDir', GTR_DATABASE: 'database', GTR_LOG_LEVEL: 'log.level',
};

/** Keys whose values are filesystem paths: relative ones resolve against the layer's base folder. */
const PATH_KEYS = ['zstack.passwordFile', 'zstack.accessKeySecretFile', 'zstack.tls.caFile', 'isoDir', 'database', 'http.auth.tokenFile', 'http.auth.basicFile', 'ha.tokenFile'];

function getPath(tree: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((node, part) => (isPlainObject(node) && Object.hasOwn(node, part) ? node[part] : undefined), tree);
}

export function envLayer(env: NodeJS.ProcessEnv, cwd: string): Layer {
  // An empty variable counts as unset, as shells make it easy to export one by accident.
  const set = Object.entries(ENV_KEYS).filter(([name]) => env[name] !== undefined && env[name] !== '');
  const data: Tree = {};
  for (const [name, key] of set) {
    const [section, leaf] = key.includes('.') ? key.split('.') : [null, key];
    const node = section === null ? data : ((data[section] ??= {}) as Tree);
    node[leaf] = env[name];
  }
  return resolvePaths({ name: `environment (${set.map(([name]) => name).join(', ')})`, data, baseDir: cwd });
}

/** Relative paths in a layer resolve against its base folder (the config file's folder, or cwd). */
function resolvePaths(layer: Layer): Layer {
  const resolve = (value: unknown) => (typeof value === 'string' && value !== '' && value !== ':memory:' ? path.resolve(layer.baseDir, value) : value);
  for (const key of PATH_KEYS) {
    const dot = key.lastIndexOf('.');
    const parent = dot === -1 ? layer.data : getPath(layer.data, key.slice(0, dot));
    const name = key.slice(dot + 1);
    if (isPlainObject(parent) && Object.hasOwn(parent, name)) parent[name] = resolve(parent[name]);
  }
  // notify.webhooks[].secretFile: paths inside a list.
  const hooks = getPath(layer.data, 'notify.webhooks');
  for (const hook of Array.isArray(hooks) ? hooks : []) if (isPlainObject(hook) && Object.hasOwn(hook, 'secretFile')) hook.secretFile = resolve(hook.secretFile);
  return layer;
}

/** `overlay` over `base`; where both hold an object, key by key (the environment sets only values, never a whole object). */
function mergeInto(base: Tree, overlay: Tree): Tree {
  const out: Tree = {};
  for (const [key, value] of Object.entries(base)) setOwn(out, key, value);
  for (const [key, value] of Object.entries(overlay)) setOwn(out, key, isPlainObject(value) && isPlainObject(out[key]) ? mergeInto(out[key] as Tree, value) : value);
  return out;
}

/**
 * Later layers win. A secret has one source: a layer that sets either zstack.password or
 * zstack.passwordFile replaces both, so GTR_ZSTACK_PASSWORD overrides a passwordFile in the file
 * (the same for zstack.accessKeySecret and zstack.accessKeySecretFile). A layer that sets both is a problem.
 */
export function mergeLayers(layers: readonly Layer[], report: Reporter): Tree {
  let tree: Tree = {};
  for (const layer of layers) {
    for (const [inline, file] of [['password', 'passwordFile'], ['accessKeySecret', 'accessKeySecretFile']]) {
      const [hasInline, hasFile] = [inline, file].map((k) => getPath(layer.data, `zstack.${k}`));
      if (hasInline != null && hasFile != null) report(`zstack.${inline}`, REDACTED, `either zstack.${inline} or zstack.${file}, not both (both set by ${layer.name})`);
      if ((hasInline !== undefined || hasFile !== undefined) && isPlainObject(tree.zstack)) tree = { ...tree, zstack: { ...tree.zstack, [inline]: null, [file]: null } };
    }
    tree = mergeInto(tree, layer.data);
  }
  return tree;
}
