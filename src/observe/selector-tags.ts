// The tags that selectors (policy.include/exclude.tags, --canary-tag) name, read fleet-wide in a
// constant number of paged queries (zstack-api.md 10.1), never one per VM:
// - system tags with that exact text (QuerySystemTag),
// - UI tags: tag patterns with that name (QueryTag), then the user tags that put them on VMs (QueryUserTag),
// - legacy user tags without a pattern whose text is that name.
import type { Logger } from 'pino';
import type { Selector } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { VmFacts } from '../domain.js';
import { selectorMatches } from '../plan/selectors.js';
import type { QueryPort } from '../zstack/client.js';
import { chunk } from '../chunk.js';

/** Pattern uuids per `?=` condition: keeps URLs well under common proxy limits. */
const UUID_BATCH = 200;

interface SelectorTagReadings {
  /** VM uuid -> the named tags it carries (system tag text or UI tag name), each once. */
  byVm: Map<string, string[]>;
  /** Names that exist for this account: a system tag on some VM, a tag pattern, or a legacy user tag. */
  known: Set<string>;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export async function readSelectorTags(client: QueryPort, names: readonly string[]): Promise<SelectorTagReadings> {
  const readings: SelectorTagReadings = { byVm: new Map(), known: new Set() };
  const wanted = [...new Set(names)];
  if (wanted.length === 0) return readings;
  const inList = wanted.join(',');
  const onVms = 'resourceType=VmInstanceVO';
  const add = (vmUuid: string | null, name: string | null): void => {
    if (vmUuid === null || name === null) return;
    const list = readings.byVm.get(vmUuid);
    if (!list) readings.byVm.set(vmUuid, [name]);
    else if (!list.includes(name)) list.push(name);
  };
  const each = async (resource: 'system-tags' | 'tags' | 'user-tags', conditions: string[], fields: string[], row: (r: Record<string, unknown>) => void) => {
    for await (const page of client.queryPages(resource, conditions, { fields })) page.forEach(row);
  };

  const systemTags = each('system-tags', [onVms, `tag?=${inList}`], ['resourceUuid', 'tag'], (r) => {
    const tag = str(r.tag);
    if (tag !== null) readings.known.add(tag);
    add(str(r.resourceUuid), tag);
  });
  const legacyTags = each('user-tags', [onVms, 'tagPatternUuid is null', `tag?=${inList}`], ['resourceUuid', 'tag'], (r) => {
    const tag = str(r.tag);
    if (tag !== null) readings.known.add(tag);
    add(str(r.resourceUuid), tag);
  });
  const uiTags = async () => {
    const patternName = new Map<string, string>();
    await each('tags', [`name?=${inList}`], ['uuid', 'name'], (r) => {
      const uuid = str(r.uuid);
      const name = str(r.name);
      if (uuid === null || name === null) return;
      patternName.set(uuid, name);
      readings.known.add(name);
    });
    const uuids = [...patternName.keys()];
    for (const batch of chunk(uuids, UUID_BATCH)) {
      await each('user-tags', [onVms, `tagPatternUuid?=${batch.join(',')}`], ['resourceUuid', 'tagPatternUuid'], (r) => {
        add(str(r.resourceUuid), patternName.get(str(r.tagPatternUuid) ?? '') ?? null);
      });
    }
  };
  await Promise.all([systemTags, legacyTags, uiTags()]);
  return readings;
}

/**
 * An exclude tag that this account cannot see at all is an error, never a silent miss: the VMs meant
 * to be left alone would be attached (a non-admin account sees only its own UI tags).
 */
export function checkExcludeTags(excludeTags: readonly string[], known: ReadonlySet<string>): void {
  const unknown = excludeTags.filter((t) => !known.has(t));
  if (unknown.length === 0) return;
  throw new ConfigError(
    unknown.map((tag) => ({
      key: 'policy.exclude.tags',
      value: tag,
      expected: 'the name of a UI tag (tag pattern) or a system tag on some VM; the management node has none by this name ' +
        'for this account (a non-admin account sees only its own UI tags)',
    })),
    'checked against the management node',
  );
}

/** One log line per selector: how many VMs it matched, and per tag it names. */
export function logSelectorMatches(logger: Logger, vms: readonly VmFacts[], policy: { include: Selector | null; exclude: Selector | null }): void {
  for (const [name, selector] of [['policy.include', policy.include], ['policy.exclude', policy.exclude]] as const) {
    if (selector) logger.info({ selector: name, ...selectorMatches(vms, selector) }, 'selector matched VMs');
  }
}
