// The query engine behind every `GET` query API: q conditions, sort, paging, count, fields.
// Filter + sort the cached row list, then slice; results are cached per world version so paging
// a 100k fleet does not re-filter for every page. Paging by key (`sort=+uuid&q=uuid>LAST`, what the
// reconciler does: on the MN it is plain SQL, `WHERE ... AND uuid > ? ORDER BY uuid LIMIT n`) sends
// other conditions on every page, so the key condition is kept out of the cache key: the cached
// list of the other conditions, binary-searched for the first key past LAST.
import {
  javaBoolean, likeToRegExp, noOperatorMessage, parseCondition, type Condition, type Params,
} from './query-params.js';
import { errorReply, json, text, zsError, type SimReply } from './wire.js';

type Scalar = string | number | boolean | null;
type FieldKind = 'string' | 'number' | 'boolean' | 'date';

export interface FieldSpec<T> {
  kind: FieldKind;
  get(row: T): Scalar | Scalar[];
  /** Lists (child inventories, tags) can be filtered on but not sorted or picked with `fields`. */
  list?: boolean;
}

export interface Resource<T> {
  name: string;
  className: string;
  fields: Record<string, FieldSpec<T>>;
  rows(): T[];
  toInventory(row: T): Record<string, unknown>;
  /** Direct lookups by field value (primary/foreign keys), so `uuid=`/`uuid?=` queries skip the full scan. */
  index?: Record<string, (value: string) => readonly T[]>;
  /** Extra schema entries for child objects of one inventory, e.g. `vmCdRoms[0]`. */
  childSchema?(inventory: Record<string, unknown>): Record<string, string>;
}

type Matcher<T> = (row: T) => boolean;

class QueryError extends Error {
  constructor(readonly reply: SimReply) {
    super('query error');
  }
}

const argerr = (details: string): QueryError => new QueryError(errorReply(zsError('SYS.1007', details)));

function toComparable(kind: FieldKind, value: string): number | string | boolean {
  if (kind === 'number') {
    const n = Number(value);
    if (value.trim() === '' || Number.isNaN(n)) throw argerr(`invalid number value[${value}]`);
    return n;
  }
  if (kind === 'boolean') return value.toLowerCase() === 'true';
  if (kind === 'date') {
    const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (Number.isNaN(n)) throw argerr(`invalid date value[${value}]`);
    return n;
  }
  return value;
}

function scalarTest(kind: FieldKind, c: Condition): (v: Scalar) => boolean {
  switch (c.op) {
    case 'is null': return (v) => v === null;
    case 'not null': return (v) => v !== null;
    case '~=': case '!~=': {
      const re = likeToRegExp(c.value);
      return (v) => v !== null && re.test(String(v));
    }
    case '?=': case '!?=': {
      const set = new Set(c.value.split(',').map((x) => toComparable(kind, x)));
      return (v) => v !== null && set.has(v);
    }
    default: {
      const want = toComparable(kind, c.value);
      const cmp = (v: Scalar): number => (v! < want ? -1 : v! > want ? 1 : 0);
      const ops: Record<string, (n: number) => boolean> = {
        '=': (n) => n === 0, '!=': (n) => n !== 0, '>': (n) => n > 0, '<': (n) => n < 0, '>=': (n) => n >= 0, '<=': (n) => n <= 0,
      };
      const test = ops[c.op] ?? (() => false);
      return (v) => v !== null && test(cmp(v));
    }
  }
}

const NEGATIVE = new Set(['!=', '!~=', '!?=']);
const POSITIVE_OF: Record<string, Condition['op']> = { '!=': '=', '!~=': '~=', '!?=': '?=' };

function matcher<T>(res: Resource<T>, c: Condition): Matcher<T> {
  const spec = res.fields[c.field];
  if (!spec) throw argerr(`field[${c.field}] is not a queryable field of ${res.className}`);
  if (!spec.list) {
    const test = scalarTest(spec.kind, c);
    if (!NEGATIVE.has(c.op)) return (row) => test(spec.get(row) as Scalar);
    // SQL: a NULL column never satisfies `!=`, NOT LIKE or NOT IN either.
    const pos = scalarTest(spec.kind, { ...c, op: POSITIVE_OF[c.op] ?? '=' });
    return (row) => {
      const v = spec.get(row) as Scalar;
      return v !== null && !pos(v);
    };
  }
  const listOf = (row: T): Scalar[] => spec.get(row) as Scalar[];
  if (c.op === 'is null') return (row) => listOf(row).length === 0;
  if (c.op === 'not null') return (row) => listOf(row).length > 0;
  const pos = scalarTest(spec.kind, NEGATIVE.has(c.op) ? { ...c, op: POSITIVE_OF[c.op] ?? '=' } : c);
  if (NEGATIVE.has(c.op)) return (row) => !listOf(row).some(pos);
  return (row) => listOf(row).some(pos);
}

function compareScalars(a: Scalar, b: Scalar): number {
  if (a === b) return 0;
  if (a === null) return -1; // MySQL sorts NULL first ascending
  if (b === null) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

interface QueryInput {
  params: Params;
  /** Conditions implied by the path, e.g. `/vm-instances/{uuid}`. */
  implicit?: Condition[];
}

/** Filtered lists kept per world version: a run's concurrent paged queries use about a dozen. */
const CACHED_LISTS = 32;

export class QueryEngine {
  private readonly cache = new Map<string, unknown[]>();
  private cacheVersion = -1;
  /** With cacheReplies: the serialised replies of this world version, by query. */
  private readonly replies = new Map<string, SimReply>();
  private repliesVersion = -1;

  constructor(private readonly version: () => number, private readonly opts: { cacheReplies: boolean } = { cacheReplies: false }) {}

  run<T>(res: Resource<T>, input: QueryInput): SimReply {
    if (!this.opts.cacheReplies) return this.answer(res, input);
    const version = this.version();
    if (version !== this.repliesVersion) {
      this.replies.clear();
      this.repliesVersion = version;
    }
    const key = `${res.name}|${JSON.stringify(input.implicit ?? [])}|${JSON.stringify([...input.params])}`;
    const hit = this.replies.get(key);
    if (hit) return hit;
    const reply = this.answer(res, input);
    if (reply.status === 200) this.replies.set(key, reply);
    return reply;
  }

  private answer<T>(res: Resource<T>, input: QueryInput): SimReply {
    try {
      return this.execute(res, input);
    } catch (error) {
      if (error instanceof QueryError) return error.reply;
      throw error;
    }
  }

  private execute<T>(res: Resource<T>, { params, implicit = [] }: QueryInput): SimReply {
    const conds: Condition[] = [...implicit];
    for (const q of params.get('q') ?? []) {
      const c = parseCondition(q);
      if (!c) return text(400, noOperatorMessage(q));
      conds.push(c);
    }
    const limit = intParam(params, 'limit', 1000);
    const start = intParam(params, 'start', 0);
    if (typeof limit === 'string') return text(400, limit);
    if (typeof start === 'string') return text(400, start);

    const sortRaw = (params.get('sort') ?? [])[0]?.trim() ?? '';
    let sortField = '';
    let desc = false;
    if (sortRaw) {
      desc = sortRaw.startsWith('-');
      sortField = sortRaw.replace(/^[+-]/, '').trim();
      const spec = res.fields[sortField];
      if (!spec || spec.list) throw argerr(`cannot sort by field[${sortField}] of ${res.className}`);
    }
    const fieldsRaw = (params.get('fields') ?? [])[0];
    const picked = fieldsRaw === undefined ? null : fieldsRaw.split(',').map((f) => f.trim()).filter(Boolean);
    for (const f of picked ?? []) {
      const spec = res.fields[f];
      if (!spec || spec.list || f.includes('.') || f.startsWith('__')) {
        throw argerr(`field[${f}] is not a primitive field of ${res.className}`);
      }
    }
    const { rows, from } = this.select(res, conds, sortField, desc);
    const total = rows.length - from;

    if (javaBoolean(params.get('count')?.[0])) return json(200, { total });
    const page = rows.slice(from + start, from + start + limit);
    // With `fields` of plain (non-date) fields, read them straight from the row, as the MN's SQL
    // projection does, instead of building each whole inventory to keep three fields of it.
    const direct = picked !== null && picked.every((f) => res.fields[f]?.kind !== 'date');
    const inventories = page.map((row) => {
      if (direct) return pickFields(res, row, picked);
      const inv = res.toInventory(row);
      return picked ? pick(inv, picked) : inv;
    });
    const reply: Record<string, unknown> = { inventories };
    if (javaBoolean(params.get('replyWithCount')?.[0])) reply.total = total;
    if (inventories.length > 0) reply.schema = schemaOf(res, inventories, picked !== null);
    return json(200, reply);
  }

  /**
   * The matching rows, sorted: `rows` from index `from` on. A `key>VALUE` condition on the ascending
   * sort field of an unindexed query (a page after the first) is answered from the cached rows of the
   * other conditions, from the first row past VALUE (binary search): O(page) per page, not O(table).
   * A NULL key sorts first and never matches `>`, as in MySQL.
   */
  private select<T>(res: Resource<T>, conds: Condition[], sortField: string, desc: boolean): { rows: T[]; from: number } {
    const keyAt = sortField && !desc && !this.indexable(res, conds) ? conds.findIndex((c) => c.field === sortField && c.op === '>') : -1;
    if (keyAt < 0) return { rows: this.filtered(res, conds, conds.map((c) => matcher(res, c)), sortField, desc), from: 0 };
    const spec = res.fields[sortField] as FieldSpec<T>;
    const after = toComparable(spec.kind, conds[keyAt].value);
    const others = conds.filter((_, i) => i !== keyAt);
    const rows = this.filtered(res, others, others.map((c) => matcher(res, c)), sortField, desc);
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const key = spec.get(rows[mid]) as Scalar;
      if (key !== null && compareScalars(key, after) > 0) hi = mid;
      else lo = mid + 1;
    }
    return { rows, from: lo };
  }

  private filtered<T>(res: Resource<T>, conds: Condition[], matchers: Matcher<T>[], sortField: string, desc: boolean): T[] {
    const indexed = this.viaIndex(res, conds);
    if (indexed) {
      const rows = indexed.filter((row) => matchers.every((m) => m(row)));
      if (!sortField) return rows;
      const get = (res.fields[sortField] as FieldSpec<T>).get;
      return rows.sort((a, b) => (desc ? -1 : 1) * compareScalars(get(a) as Scalar, get(b) as Scalar));
    }
    const version = this.version();
    if (version !== this.cacheVersion) {
      this.cache.clear();
      this.cacheVersion = version;
    }
    const sortKey = sortField ? `${desc ? '-' : '+'}${sortField}` : '';
    const key = `${res.name}|${sortKey}|${JSON.stringify(conds)}`;
    const hit = this.recall(key);
    if (hit) return hit as T[];
    let base = res.rows();
    if (sortField) {
      const baseKey = `${res.name}|${sortKey}|sorted`;
      const sorted = this.recall(baseKey) as T[] | undefined;
      if (sorted) base = sorted;
      else {
        const get = (res.fields[sortField] as FieldSpec<T>).get;
        base = [...base].sort((a, b) => (desc ? -1 : 1) * compareScalars(get(a) as Scalar, get(b) as Scalar));
        this.remember(baseKey, base);
      }
    }
    const out = matchers.length === 0 ? base : base.filter((row) => matchers.every((m) => m(row)));
    this.remember(key, out);
    return out;
  }

  private indexable<T>(res: Resource<T>, conds: Condition[]): boolean {
    return conds.some((c) => res.index?.[c.field] !== undefined && (c.op === '=' || c.op === '?='));
  }

  /** Candidate rows from the first `=`/`?=` condition on an indexed field (in value order), else null. */
  private viaIndex<T>(res: Resource<T>, conds: Condition[]): T[] | null {
    for (const c of conds) {
      const lookup = res.index?.[c.field];
      if (!lookup || (c.op !== '=' && c.op !== '?=')) continue;
      const values = c.op === '=' ? [c.value] : [...new Set(c.value.split(','))];
      const out: T[] = [];
      for (const v of values) for (const row of lookup(v)) out.push(row);
      return out;
    }
    return null;
  }

  /** A cached list, kept as the most recently used. */
  private recall(key: string): unknown[] | undefined {
    const rows = this.cache.get(key);
    if (rows !== undefined) {
      this.cache.delete(key);
      this.cache.set(key, rows);
    }
    return rows;
  }

  /** Least recently used out first: the lists several concurrent paged queries share (the sorted tables) stay. */
  private remember(key: string, rows: unknown[]): void {
    if (this.cache.size >= CACHED_LISTS) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, rows);
  }
}

function intParam(params: Params, name: string, dflt: number): number | string {
  const raw = params.get(name)?.[0];
  if (raw === undefined) return dflt;
  if (!/^-?\d+$/.test(raw.trim())) return `Invalid query parameter[${name}], it must be an integer but got [${raw}]`;
  const n = Number(raw.trim());
  if (n < 0) return `Invalid query parameter[${name}], it must not be negative but got [${raw}]`;
  return n;
}

function pick(inv: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (inv[f] !== undefined && inv[f] !== null) out[f] = inv[f];
  return out;
}

function pickFields<T>(res: Resource<T>, row: T, fields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = (res.fields[f] as FieldSpec<T>).get(row);
    if (v !== undefined && v !== null) out[f] = v;
  }
  return out;
}

function schemaOf<T>(res: Resource<T>, inventories: Record<string, unknown>[], picked: boolean): Record<string, string> {
  const schema: Record<string, string> = {};
  inventories.forEach((inv, i) => {
    schema[`inventories[${i}]`] = res.className;
    if (picked || !res.childSchema) return;
    for (const [path, cls] of Object.entries(res.childSchema(inv))) schema[`inventories[${i}].${path}`] = cls;
  });
  return schema;
}
