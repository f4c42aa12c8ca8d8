// The raw layers of a configuration (file, environment) and how they merge: sections merge key
// by key, every other value (lists and selectors too) is replaced whole by a later layer; what no layer
// sets takes the schema's default.
import path from 'node:path';
import type { Reporter } from './schema.js';
import { isPlainObject, setOwn } from '../plain-object.js';
import { REDACTED } from '../redacted.js';

export interface Layer {
  /** Where the values come from, for messages: a file path or "environment (GTR_X, ...)". */
  name: string;
  data: Record<string, unknown>;
  /** Folder that relative paths in this layer resolve against. */
  baseDir: string;
}

type Tree = Record<string, unknown>;

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
export function resolvePaths(layer: Layer): Layer {
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
