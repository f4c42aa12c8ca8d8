// The raw layers of a configuration (file, environment, flags) and how they merge: sections merge
// key by key, every other value (including lists and selectors) is replaced whole by a later layer.
import path from 'node:path';
import { DEFAULT_FILE_CONFIG, ENV_KEYS, PATH_KEYS } from './defaults.js';
import { isPlainObject } from './fields.js';

export interface Layer {
  /** Where the values come from, for messages: a file path, "environment (GTR_X)", "flags (...)". */
  name: string;
  data: Record<string, unknown>;
  /** Folder that relative paths in this layer resolve against. */
  baseDir: string;
}

type Tree = Record<string, unknown>;

/** Assignment that keeps "__proto__" from a JSON file an ordinary (and so unknown) key. */
function put(obj: Tree, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function getPath(tree: unknown, dotted: string): unknown {
  let node = tree;
  for (const part of dotted.split('.')) {
    if (!isPlainObject(node) || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

function setPath(tree: Tree, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (!isPlainObject(next) || !Object.hasOwn(node, part)) put(node, part, {});
    node = node[part] as Tree;
  }
  put(node, parts[parts.length - 1], value);
}

export function envLayer(env: NodeJS.ProcessEnv, cwd: string): Layer {
  const data: Tree = {};
  const used: string[] = [];
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    // An empty variable counts as unset, as shells make it easy to export one by accident.
    if (value === undefined || value === '') continue;
    setPath(data, key, value);
    used.push(name);
  }
  return { name: `environment (${used.join(', ')})`, data, baseDir: cwd };
}

/** Flags come as dotted keys; text given for a number or boolean key is converted when it reads as one. */
export function flagsLayer(flags: Record<string, unknown>, cwd: string): Layer {
  const data: Tree = {};
  const used: string[] = [];
  for (const [key, raw] of Object.entries(flags)) {
    if (raw === undefined) continue;
    setPath(data, key, coerce(raw, getPath(DEFAULT_FILE_CONFIG, key)));
    used.push(key);
  }
  return { name: `flags (${used.join(', ')})`, data, baseDir: cwd };
}

function coerce(value: unknown, defaultValue: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (typeof defaultValue === 'number' && /^-?\d+$/.test(value)) return Number(value);
  if (typeof defaultValue === 'boolean' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return value;
}

/** Relative paths in a layer resolve against its base folder (the config file's folder, or cwd). */
export function resolvePaths(layer: Layer): Layer {
  for (const key of PATH_KEYS) {
    const value = getPath(layer.data, key);
    if (typeof value === 'string' && value !== '' && value !== ':memory:' && !path.isAbsolute(value)) {
      setPath(layer.data, key, path.resolve(layer.baseDir, value));
    }
  }
  // notify.webhooks[].secretFile: paths inside a list.
  const hooks = getPath(layer.data, 'notify.webhooks');
  if (Array.isArray(hooks)) {
    for (const hook of hooks) {
      if (isPlainObject(hook) && typeof hook.secretFile === 'string' && hook.secretFile !== '' && !path.isAbsolute(hook.secretFile)) {
        hook.secretFile = path.resolve(layer.baseDir, hook.secretFile);
      }
    }
  }
  return layer;
}

function mergeInto(base: Tree, overlay: Tree, defaults: unknown): Tree {
  const out: Tree = {};
  for (const [key, value] of Object.entries(base)) put(out, key, value);
  for (const [key, value] of Object.entries(overlay)) {
    const defaultValue = isPlainObject(defaults) && Object.hasOwn(defaults, key) ? defaults[key] : undefined;
    const isSection = isPlainObject(defaultValue);
    const merged = isSection && isPlainObject(value) && isPlainObject(out[key]) ? mergeInto(out[key] as Tree, value, defaultValue) : value;
    put(out, key, merged);
  }
  return out;
}

/** Secrets given inline or in a file: one source per secret. */
export const SECRET_PAIRS = [
  { inline: 'password', file: 'passwordFile' },
  { inline: 'accessKeySecret', file: 'accessKeySecretFile' },
] as const;

export interface Merged {
  tree: Tree;
  /** A secret's inline and file keys set by one layer at once (a problem): the inline key and the layer. */
  bothSecretKeys: Array<{ key: string; file: string; layer: string }>;
}

/**
 * Later layers win. A secret has one source: a layer that sets either zstack.password or
 * zstack.passwordFile replaces both, so GTR_ZSTACK_PASSWORD overrides a passwordFile in the file
 * (the same for zstack.accessKeySecret and zstack.accessKeySecretFile).
 */
export function mergeLayers(layers: readonly Layer[]): Merged {
  let tree = structuredClone(DEFAULT_FILE_CONFIG) as unknown as Tree;
  const bothSecretKeys: Merged['bothSecretKeys'] = [];
  for (const layer of layers) {
    for (const pair of SECRET_PAIRS) {
      const inline = getPath(layer.data, `zstack.${pair.inline}`);
      const file = getPath(layer.data, `zstack.${pair.file}`);
      if (inline != null && file != null) bothSecretKeys.push({ key: `zstack.${pair.inline}`, file: `zstack.${pair.file}`, layer: layer.name });
      if ((inline !== undefined || file !== undefined) && isPlainObject(tree.zstack)) {
        tree = { ...tree, zstack: { ...tree.zstack, [pair.inline]: null, [pair.file]: null } };
      }
    }
    tree = mergeInto(tree, layer.data, DEFAULT_FILE_CONFIG);
  }
  return { tree, bothSecretKeys };
}
