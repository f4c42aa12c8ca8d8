// Validator for policy.include / policy.exclude: an object of string lists, or null.
import type { Selector } from './types.js';
import { fail, INVALID, isPlainObject, type Field } from './fields.js';

const SELECTOR_KEYS = ['zoneUuids', 'clusterUuids', 'hostUuids', 'vmUuids', 'platforms', 'tags'] as const;

/**
 * `null` means "no selector". An include selector must name something: an empty one would match no
 * VM and so silently exclude the whole fleet.
 */
export function selector(opts: { mustSelect: boolean }): Field<Selector | null> {
  return (value, ctx) => {
    if (value === null) return null;
    if (!isPlainObject(value)) return fail(ctx, value, `null or an object with lists of strings under ${SELECTOR_KEYS.join(', ')}`);
    const result: Selector = {};
    let ok = true;
    for (const [name, list] of Object.entries(value)) {
      const key = `${ctx.key}.${name}`;
      if (!(SELECTOR_KEYS as readonly string[]).includes(name)) {
        ctx.report(key, list, `no such key; known keys here: ${SELECTOR_KEYS.join(', ')}`);
        ok = false;
      } else if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || s === '')) {
        ctx.report(key, list, 'a list of non-empty strings');
        ok = false;
      } else {
        result[name as (typeof SELECTOR_KEYS)[number]] = [...(list as string[])];
      }
    }
    if (!ok) return INVALID;
    const selects = Object.values(result).some((list) => list.length > 0);
    if (opts.mustSelect && !selects) {
      return fail(ctx, value, 'at least one non-empty list (use null to include every VM)');
    }
    return selects ? result : null;
  };
}
