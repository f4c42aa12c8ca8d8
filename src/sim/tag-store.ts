// System tags of every resource type (VmInstanceVO, HostVO, ImageVO), in insertion order,
// indexed by resource. Version tags are "recreated": the old one is deleted, a new row inserted.
import { rngUuid, type Rng } from './rng.js';
import { appendTo } from '../multimap.js';

export interface TagRow {
  uuid: string;
  resourceUuid: string;
  resourceType: string;
  tag: string;
  type: 'System';
  inherent: boolean;
  createdAt: number;
}

export class TagStore {
  private readonly rows = new Map<string, TagRow>();
  private readonly byResource = new Map<string, TagRow[]>();
  private cache: TagRow[] | null = null;

  constructor(
    private readonly rng: Rng,
    private readonly onChange: () => void,
  ) {}

  list(): TagRow[] {
    this.cache ??= Array.from(this.rows.values());
    return this.cache;
  }

  get(uuid: string): TagRow | undefined {
    return this.rows.get(uuid);
  }

  of(resourceUuid: string): readonly TagRow[] {
    return this.byResource.get(resourceUuid) ?? [];
  }

  add(resourceUuid: string, resourceType: string, tag: string, at = Date.now()): TagRow {
    const row: TagRow = { uuid: rngUuid(this.rng), resourceUuid, resourceType, tag, type: 'System', inherent: false, createdAt: at };
    this.rows.set(row.uuid, row);
    appendTo(this.byResource, resourceUuid, row);
    this.changed();
    return row;
  }

  /** Adds the tag unless the resource already has exactly this tag. */
  ensure(resourceUuid: string, resourceType: string, tag: string): void {
    if (!this.of(resourceUuid).some((r) => r.tag === tag)) this.add(resourceUuid, resourceType, tag);
  }

  remove(resourceUuid: string, match: (tag: string) => boolean): number {
    const list = this.byResource.get(resourceUuid);
    if (!list) return 0;
    const keep = list.filter((r) => !match(r.tag));
    const removed = list.length - keep.length;
    if (removed === 0) return 0;
    for (const r of list) if (match(r.tag)) this.rows.delete(r.uuid);
    if (keep.length === 0) this.byResource.delete(resourceUuid);
    else this.byResource.set(resourceUuid, keep);
    this.changed();
    return removed;
  }

  /** Deletes every tag with `prefix` on the resource and inserts `tag` (ZStack's recreate=true). */
  recreate(resourceUuid: string, resourceType: string, prefix: string, tag: string): void {
    this.remove(resourceUuid, (t) => t.startsWith(prefix));
    this.add(resourceUuid, resourceType, tag);
  }

  /** Moves every tag's createDate back by `ms` (tests: the MN's view of time having passed). */
  age(ms: number): void {
    for (const row of this.rows.values()) row.createdAt -= ms;
    this.changed();
  }

  private changed(): void {
    this.cache = null;
    this.onChange();
  }
}
