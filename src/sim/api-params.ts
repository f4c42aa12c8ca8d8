// @APIParam checks as the MN's ApiMessageProcessorImpl runs them, per field in order: trim, maxLength,
// minLength, required, validValues (case-insensitive; the message lists them lower-cased), regex,
// numberRange, resource existence. All are SYS.1007 except a missing resource (SYS.1003). Before that,
// the REST layer's type check (a number where a list belongs, and so on) answers 400 in plain text.
import { zsError, type ZsError } from './wire.js';

export interface ParamSpec {
  name: string;
  kind: 'string' | 'int' | 'list';
  required?: boolean;
  maxLength?: number;
  minLength?: number;
  validValues?: readonly string[];
  /** The Java source of the regex (for the message) and the same as a JS RegExp. */
  regex?: { java: string; re: RegExp };
  range?: readonly [number, number];
  /** Default applied after the checks when the field is absent. */
  dflt?: number;
}

type ParamValues = Record<string, string | number | string[] | undefined>;

/**
 * The REST layer's type check (TypeVerifier, before any 202): the problem text, or null. Gson takes
 * numbers and booleans for strings and a numeric string for an int; an object or a list never.
 */
export function typeProblem(specs: readonly ParamSpec[], params: Record<string, unknown>): string | null {
  for (const s of specs) {
    const v = params[s.name];
    if (v === undefined || v === null) continue;
    const ok = s.kind === 'list'
      ? Array.isArray(v)
      : s.kind === 'int'
        ? (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v.trim()))
        : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
    if (!ok) return `Invalid value for field[${s.name}]: ${JSON.stringify(v)} is not ${s.kind === 'list' ? 'a list' : s.kind === 'int' ? 'an integer' : 'a string'}`;
  }
  return null;
}

/** Runs the checks; the values (strings trimmed, ints as numbers, defaults filled) or the first error. */
export function checkParams(msgClass: string, specs: readonly ParamSpec[], params: Record<string, unknown>): ParamValues | ZsError {
  const out: ParamValues = {};
  const argerr = (details: string): ZsError => zsError('SYS.1007', details);
  for (const s of specs) {
    const raw = params[s.name];
    let value: string | number | string[] | undefined;
    if (raw === undefined || raw === null) value = undefined;
    else if (s.kind === 'list') value = (raw as unknown[]).map((x) => String(x));
    else if (s.kind === 'int') value = Number(raw);
    else value = String(raw).trim();
    const f = s.name;
    if (typeof value === 'string' && s.maxLength !== undefined && value.length > s.maxLength) {
      return argerr(`field[${f}] of message[${msgClass}] exceeds max length of string. expected was <= ${s.maxLength}, actual was ${value.length}`);
    }
    if (typeof value === 'string' && s.minLength !== undefined && value.length < s.minLength) {
      return argerr(`field[${f}] of message[${msgClass}] less than the min length of string. expected was >= ${s.minLength}, actual was ${value.length}`);
    }
    if (s.required && value === undefined) return argerr(`field[${f}] of message[${msgClass}] is mandatory, can not be null`);
    if (value !== undefined && s.validValues) {
      const vals = s.validValues.map((x) => x.toLowerCase());
      if (!vals.includes(String(value).toLowerCase())) {
        return argerr(`valid value for field[${f}] of message[${msgClass}] are [${vals.join(', ')}], but ${String(value)} found`);
      }
    }
    if (typeof value === 'string' && s.regex && !s.regex.re.test(value)) {
      return argerr(`valid regex value for field[${f}] of message[${msgClass}] are ${s.regex.java}, but ${value} found`);
    }
    if (Array.isArray(value) && value.some((v) => v === '')) return argerr(`field[${f}] cannot contain any empty string`);
    if (typeof value === 'number' && s.range && (value < s.range[0] || value > s.range[1])) {
      return argerr(`field[${f}] must be in range of [${s.range[0]}, ${s.range[1]}]`);
    }
    out[f] = value ?? s.dflt;
  }
  return out;
}

/** A listed resource that does not exist (SYS.1003), in the MN's words: `[a, b]` is Java's List.toString. */
export function missingResources(field: string, type: string, uuids: readonly string[]): ZsError {
  return zsError('SYS.1003', `invalid field[${field}], resource[uuids:[${uuids.join(', ')}], type:${type}] not found`);
}

export function missingResource(field: string, type: string, uuid: string): ZsError {
  return zsError('SYS.1003', `invalid field[${field}], resource[uuid:${uuid}, type:${type}] not found`);
}
