// One object of the config tree being validated. Reads mark keys as known; whatever was not read is
// an unknown key and reported as such. An invalid value falls back to the default so that validation
// can go on and list every problem at once (the result is thrown away when there are problems).
import { INVALID, isPlainObject, type Field, type FieldContext } from './fields.js';

export type Reporter = (key: string, value: unknown, expected: string) => void;

// Unknown keys that look like a (misspelt) secret get their value hidden too.
const SECRETISH = /pa?s+w|pwd|secret|token|session|key|auth|cred/i;

export class Section {
  private readonly used = new Set<string>();
  private readonly children: Section[] = [];
  private readonly obj: Record<string, unknown>;

  constructor(
    value: unknown,
    private readonly defaults: Record<string, unknown>,
    private readonly prefix: string,
    private readonly report: Reporter,
  ) {
    if (isPlainObject(value)) {
      this.obj = value;
    } else {
      report(prefix, value, 'an object');
      this.obj = defaults;
    }
  }

  private keyOf(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  read<T>(name: string, field: Field<T>): T {
    this.used.add(name);
    const ctx: FieldContext = { key: this.keyOf(name), report: this.report };
    const result = field(this.obj[name], ctx);
    if (result !== INVALID) return result;
    const fallback = field(this.defaults[name], { key: ctx.key, report: () => undefined });
    if (fallback === INVALID) throw new Error(`default for ${ctx.key} does not validate`);
    return fallback;
  }

  section(name: string): Section {
    this.used.add(name);
    const defaults = this.defaults[name];
    const child = new Section(this.obj[name], isPlainObject(defaults) ? defaults : {}, this.keyOf(name), this.report);
    this.children.push(child);
    return child;
  }

  /** Report every key that no read asked for, here and in the sections below. */
  finish(): void {
    const known = Object.keys(this.defaults).sort();
    for (const name of Object.keys(this.obj)) {
      if (this.used.has(name)) continue;
      const value = SECRETISH.test(name) ? '[redacted]' : this.obj[name];
      this.report(this.keyOf(name), value, `no such key; known keys here: ${known.join(', ')}`);
    }
    for (const child of this.children) child.finish();
  }
}
