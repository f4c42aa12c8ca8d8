// UI tags (zstack-api.md 10.1): tag patterns (`GET /v1/tags`) and the user tags that attach them to
// resources (`GET /v1/user-tags`). Legacy user tags have no pattern. A non-admin account sees only the
// patterns it owns and their user tags; an admin sees everything.
import { rngUuid, type Rng } from './rng.js';
import { appendTo } from '../multimap.js';

export interface TagPatternRow {
  uuid: string;
  name: string;
  value: string;
  description: string | null;
  color: string;
  type: 'simple' | 'withToken';
  /** Account that created the pattern. */
  owner: string;
  createdAt: number;
}

export interface UserTagRow {
  uuid: string;
  resourceUuid: string;
  resourceType: string;
  tag: string;
  /** null for legacy user tags (before 3.2.0, or CreateUserTag). */
  tagPatternUuid: string | null;
  owner: string;
  createdAt: number;
}

/** The MN refuses a 51st tag on one resource. */
const MAX_TAGS_PER_RESOURCE = 50;
/** Colours the UI offers; a new pattern takes the next one. */
const COLORS = ['#1890FF', '#52C41A', '#FAAD14', '#F5222D', '#722ED1', '#13C2C2'];

export class UserTagStore {
  private readonly patterns = new Map<string, TagPatternRow>();
  private readonly rows = new Map<string, UserTagRow>();
  private readonly byResource = new Map<string, UserTagRow[]>();
  private patternCache: TagPatternRow[] | null = null;
  private rowCache: UserTagRow[] | null = null;

  constructor(
    private readonly rng: Rng,
    /** The account the simulator serves: `admin` sees every tag, another account only its own. */
    private readonly account: string,
    private readonly onChange: () => void,
  ) {}

  private visible(owner: string): boolean {
    return this.account === 'admin' || owner === this.account;
  }

  patternList(): TagPatternRow[] {
    this.patternCache ??= [...this.patterns.values()].filter((p) => this.visible(p.owner));
    return this.patternCache;
  }

  list(): UserTagRow[] {
    this.rowCache ??= [...this.rows.values()].filter((r) => this.visible(r.owner));
    return this.rowCache;
  }

  getPattern(uuid: string): TagPatternRow | undefined {
    const p = this.patterns.get(uuid);
    return p && this.visible(p.owner) ? p : undefined;
  }

  get(uuid: string): UserTagRow | undefined {
    const r = this.rows.get(uuid);
    return r && this.visible(r.owner) ? r : undefined;
  }

  of(resourceUuid: string): UserTagRow[] {
    return (this.byResource.get(resourceUuid) ?? []).filter((r) => this.visible(r.owner));
  }

  /** Every user tag of a resource, whoever owns it (the simulator's own view). */
  ofAll(resourceUuid: string): readonly UserTagRow[] {
    return this.byResource.get(resourceUuid) ?? [];
  }

  /** A pattern by uuid, whoever owns it (the simulator's own view). */
  patternOf(uuid: string): TagPatternRow | undefined {
    return this.patterns.get(uuid);
  }

  /** The pattern named `name` owned by `owner`, created (simple, value = name) when missing. */
  pattern(name: string, opts: { value?: string; type?: 'simple' | 'withToken'; owner?: string; at?: number } = {}): TagPatternRow {
    const owner = opts.owner ?? this.account;
    for (const p of this.patterns.values()) if (p.name === name && p.owner === owner) return p;
    const row: TagPatternRow = {
      uuid: rngUuid(this.rng), name, value: opts.value ?? name, description: null, color: COLORS[this.patterns.size % COLORS.length]!,
      type: opts.type ?? 'simple', owner, createdAt: opts.at ?? Date.now(),
    };
    this.patterns.set(row.uuid, row);
    this.changed();
    return row;
  }

  /** Attaches a pattern (tokens already filled in `tag`, default the pattern's value) or a legacy tag. */
  attach(resourceUuid: string, resourceType: string, spec: { pattern: TagPatternRow; tag?: string } | { legacy: string; owner?: string }, at = Date.now()): UserTagRow {
    if ((this.byResource.get(resourceUuid)?.length ?? 0) >= MAX_TAGS_PER_RESOURCE) {
      throw new Error(`simulator: resource ${resourceUuid} already has ${MAX_TAGS_PER_RESOURCE} user tags`);
    }
    const row: UserTagRow = 'pattern' in spec
      ? { uuid: rngUuid(this.rng), resourceUuid, resourceType, tag: spec.tag ?? spec.pattern.value, tagPatternUuid: spec.pattern.uuid, owner: spec.pattern.owner, createdAt: at }
      : { uuid: rngUuid(this.rng), resourceUuid, resourceType, tag: spec.legacy, tagPatternUuid: null, owner: spec.owner ?? this.account, createdAt: at };
    this.rows.set(row.uuid, row);
    appendTo(this.byResource, resourceUuid, row);
    this.changed();
    return row;
  }

  detachAll(resourceUuid: string): void {
    for (const r of this.byResource.get(resourceUuid) ?? []) this.rows.delete(r.uuid);
    this.byResource.delete(resourceUuid);
    this.changed();
  }

  private changed(): void {
    this.patternCache = null;
    this.rowCache = null;
    this.onChange();
  }
}
