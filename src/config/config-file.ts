// Finding and reading the config file. Parse errors never quote the file, which may hold a password.
import fs from 'node:fs';
import path from 'node:path';
import { GtrError } from '../errors.js';
import { DEFAULT_CONFIG_PATH } from './defaults.js';
import { isPlainObject } from './fields.js';
import type { Layer } from './layers.js';

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
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new GtrError('GTR_CONFIG_UNREADABLE', `cannot read config file ${file} (${code}); check the path given by --config or GTR_CONFIG`, {
      cause: error,
      details: { file, errno: code },
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    // No `cause`: V8's message quotes the text around the error, which may be the password.
    const where = describeJsonError(error instanceof Error ? error.message : '', text);
    throw new GtrError('GTR_CONFIG_UNREADABLE', `config file ${file} is not valid JSON: ${where}`, { details: { file } });
  }
  if (!isPlainObject(data)) {
    const found = Array.isArray(data) ? 'a list' : data === null ? 'null' : typeof data;
    throw new GtrError('GTR_CONFIG_UNREADABLE', `config file ${file} must hold a JSON object, found ${found}`, { details: { file } });
  }
  return { layer: { name: file, data, baseDir: path.dirname(file) }, mode };
}

/** "Unexpected token at line 3, column 14": what and where, never the text itself. */
export function describeJsonError(message: string, text: string): string {
  // The token itself may be part of a secret: keep only the kind of error.
  const what =
    message.replace(/^Unexpected token .*$/s, 'Unexpected token').replace(/( in JSON)? at position \d+.*$/s, '').trim() ||
    'syntax error';
  let index: number | null = null;
  const position = /at position (\d+)/.exec(message);
  if (position) {
    index = Number(position[1]);
  } else {
    // Node 20 quotes the text around the error instead of a position, with 10 characters of
    // context on each side ("..." where cut); work the position back out of it.
    const snippet = /, (\.\.\.)?"(.*)"(\.\.\.)? is not valid JSON$/s.exec(message);
    if (snippet?.[1]) {
      const at = text.indexOf(snippet[2]);
      if (at >= 0) index = at + 10;
    } else if (snippet?.[3]) {
      index = Math.max(0, snippet[2].length - 10);
    }
  }
  if (index === null || index > text.length) return what;
  const line = text.slice(0, index).split('\n').length;
  const column = index - text.lastIndexOf('\n', index - 1);
  return `${what} at line ${line}, column ${column}`;
}
