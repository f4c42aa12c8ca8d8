// Finding and reading the config file: JSON with comments and trailing commas (JSONC). Parse errors
// name the line and column but never quote the file, which may hold a password.
import fs from 'node:fs';
import path from 'node:path';
import { getNodeValue, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { GtrError } from '../errors.js';
import { isPlainObject, setOwn } from '../plain-object.js';
import type { Layer } from './layers.js';

export const DEFAULT_CONFIG_PATH = '/etc/guesttools-reconciler/config.json';

/** --config, else GTR_CONFIG, else the system-wide file when it exists, else none (defaults only). */
export function locateConfigFile(file: string | null | undefined, env: NodeJS.ProcessEnv, cwd: string, systemPath = DEFAULT_CONFIG_PATH): string | null {
  if (file) return path.resolve(cwd, file);
  if (env.GTR_CONFIG) return path.resolve(cwd, env.GTR_CONFIG);
  return fs.existsSync(systemPath) ? systemPath : null;
}

export function readConfigFile(file: string): { layer: Layer; mode: number } {
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
  const data = tree && plain(getNodeValue(tree));
  if (!isPlainObject(data)) {
    const found = Array.isArray(data) ? 'a list' : data === null ? 'null' : typeof data;
    throw new GtrError('GTR_CONFIG_UNREADABLE', `config file ${file} must hold a JSON object, found ${found}`, { details: { file } });
  }
  return { layer: { name: file, data, baseDir: path.dirname(file) }, mode };
}

/** The secret a config file holds inline (zstack.password or zstack.accessKeySecret), if any. */
export function inlineSecret(data: Record<string, unknown>): 'password' | 'accessKeySecret' | undefined {
  const zstack = data.zstack;
  return isPlainObject(zstack) ? (['password', 'accessKeySecret'] as const).find((k) => zstack[k] != null) : undefined;
}

/** Ordinary objects, where a "__proto__" key stays an own (and so unknown) key, not a prototype. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value !== 'object' || value === null) return value;
  const out = {};
  for (const [key, v] of Object.entries(value)) setOwn(out, key, plain(v));
  return out;
}
