// `gtr rollout start`: observe the fleet once (catalog, inventory, history), take the out-of-date
// eligible VMs of the agent types as members (canaries first), each for the catalog target of its
// (agent type, architecture) group, and store the rollout with wave 1 started. `--target` only asserts
// the expected versions (the attach always mounts the MN's newest ISO). Attaching is left to the
// daemon's ticks and `gtr reconcile`.
import { UsageError } from '../../errors.js';
import { AGENT_TYPES, type AgentType } from '../../domain.js';
import { parseDuration } from '../../time-format.js';
import { planRun } from '../../plan/plan.js';
import { observe } from '../../observe/observe.js';
import { cliActor } from '../../rollout/actor.js';
import { isCandidate } from '../../rollout/observe.js';
import { RolloutStore } from '../../rollout/store.js';
import { groupTargets, startRollout } from '../../rollout/start.js';
import { unmatchedCanaries } from '../../rollout/membership.js';
import { printable } from '../../text/printable.js';
import { formatWaves, parseLimit, parseWaveSpec, type Limit, type WaveStep } from '../../count-or-percent.js';
import type { Context } from '../context.js';
import { isUuid } from '../../uuid.js';


interface StartFlags {
  target?: string[];
  'agent-type'?: string;
  waves?: string;
  soak?: string;
  'wave-timeout'?: string;
  'max-errors'?: string;
  'canary-vm'?: string[];
  'canary-cluster'?: string[];
  'canary-tag'?: string[];
  'allow-unmatched-canaries'?: boolean;
  install?: boolean;
  reason?: string;
}

interface StartResult {
  id: number;
  notes: string[];
}

interface StartSettings {
  agentTypes: AgentType[];
  /** --target assertions: the version the operator expects per agent type. */
  expected: Map<AgentType, string>;
  steps: WaveStep[];
  wavesSpec: string;
  soakMs: number;
  waveTimeoutMs: number;
  maxErrors: Limit;
  canaries: { vms: string[]; clusters: string[]; tags: string[] };
}

/** Validates the flags (exit 2 on a mistake), falling back to the rollout.* config keys. */
function startSettings(flags: StartFlags, config: Context['config']): StartSettings {
  const agent = flags['agent-type'] ?? 'all';
  if (agent !== 'all' && !(AGENT_TYPES as readonly string[]).includes(agent)) {
    throw new UsageError(`--agent-type: got "${agent.slice(0, 40)}", expected ${AGENT_TYPES.join(', ')} or all`);
  }
  const steps = flags.waves === undefined ? config.rollout.waves : parseWaveSpec(flags.waves);
  if (typeof steps === 'string') throw new UsageError(`--waves: got "${flags.waves?.slice(0, 80)}", expected ${steps}`);
  const soakMs = flags.soak === undefined ? config.rollout.soakMs : parseDuration(flags.soak);
  if (soakMs === null) throw new UsageError(`--soak: got "${flags.soak}", expected a duration like "30m", "1h", "90s" or "0"`);
  const waveTimeoutMs = flags['wave-timeout'] === undefined ? config.rollout.waveTimeoutMs : parseDuration(flags['wave-timeout']);
  if (!waveTimeoutMs) throw new UsageError(`--wave-timeout: got "${flags['wave-timeout']}", expected a positive duration like "6h" or "30m"`);
  const maxErrors = flags['max-errors'] === undefined ? config.rollout.maxErrors : parseLimit(flags['max-errors'], 0);
  if (!maxErrors) throw new UsageError(`--max-errors: got "${flags['max-errors']}", expected a count like 3 or a percentage like "5%"`);
  const check = (flag: string, values: string[] | undefined) => {
    for (const v of values ?? []) if (!isUuid(v)) throw new UsageError(`--${flag}: got "${v.slice(0, 80)}", expected a uuid (32 lowercase hex characters)`);
    return [...new Set(values ?? [])];
  };
  const agentTypes = agent === 'all' ? [...AGENT_TYPES] : [agent as AgentType];
  return {
    agentTypes,
    expected: expectedTargets(flags.target ?? [], agentTypes),
    steps,
    wavesSpec: formatWaves(steps),
    soakMs,
    waveTimeoutMs,
    maxErrors,
    canaries: { vms: check('canary-vm', flags['canary-vm']), clusters: check('canary-cluster', flags['canary-cluster']), tags: [...new Set(flags['canary-tag'] ?? [])] },
  };
}

/** `--target AGENT=VERSION` (repeatable), or a bare `--target VERSION` when the rollout covers one agent type. */
function expectedTargets(flags: readonly string[], agentTypes: readonly AgentType[]): Map<AgentType, string> {
  const expected = new Map<AgentType, string>();
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const agent = eq < 0 ? (agentTypes.length === 1 ? agentTypes[0] : null) : flag.slice(0, eq);
    const version = eq < 0 ? flag : flag.slice(eq + 1);
    if (agent === null) {
      throw new UsageError(`--target: got "${flag.slice(0, 40)}", expected AGENT=VERSION (e.g. WindowsOnKvm=1.10.0): Windows and Linux tools have separate versions`);
    }
    if (!(agentTypes as readonly string[]).includes(agent) || version === '') {
      throw new UsageError(`--target: got "${flag.slice(0, 60)}", expected AGENT=VERSION with AGENT one of ${agentTypes.join(', ')} (the agent types of this rollout)`);
    }
    if (expected.has(agent as AgentType)) throw new UsageError(`--target: ${agent} given twice`);
    expected.set(agent as AgentType, version);
  }
  return expected;
}

type Group = { agentType: AgentType; architecture: string; version: string };

/**
 * Exit 2 when an asserted version is not the catalog target of every member group of its agent type
 * (without members: of every catalog target of that agent type).
 */
function checkExpected(expected: ReadonlyMap<AgentType, string>, memberGroups: readonly Group[], catalog: readonly Group[]): void {
  for (const [agentType, version] of expected) {
    const members = memberGroups.filter((g) => g.agentType === agentType);
    const own = members.length > 0 ? members : catalog.filter((g) => g.agentType === agentType);
    const differ = own.filter((g) => g.version !== version);
    if (own.length > 0 && differ.length === 0) continue;
    const offered = own.map((g) => `${g.version} (${g.agentType}/${g.architecture})`).join(', ') || 'nothing';
    throw new UsageError(`--target: ${agentType}=${version.slice(0, 40)} is not what the ISO catalog offers; it offers ${offered}. ` +
      'The attach always mounts the newest ISO the management node has: update the ISO folder, or drop --target');
  }
}

export async function startFromFleet(ctx: Context, flags: StartFlags, now: number): Promise<StartResult> {
  const s = startSettings(flags, ctx.config);
  const { config } = ctx;
  const notes: string[] = [];
  const { targets, vms } = await observe(ctx.client(), config, ctx.logger, {
    extraTags: s.canaries.tags,
    checkCatalog: (catalog) => {
      if (catalog.targets.some((t) => s.agentTypes.includes(t.agentType))) return;
      throw new UsageError(`the ISO folder ${config.isoDir} has no GuestTools ISO for ${s.agentTypes.join(', ')}: nothing to roll out`);
    },
  });
  const plan = planRun({
    vms, targets, history: ctx.ledger().vmStates(), policy: { ...config.policy, maxPerRun: 0 }, now,
    mismatchedGroups: new Set(),
  });
  const facts = new Map(vms.map((v) => [v.uuid, v]));
  const covered = plan.decisions.filter((d) => s.agentTypes.includes(d.agentType));
  const candidates = covered.filter(isCandidate).map((d) => ({
    uuid: d.vmUuid, name: d.vmName, agentType: d.agentType, architecture: d.architecture ?? '', target: d.target as string,
    clusterUuid: facts.get(d.vmUuid)?.clusterUuid ?? null, tags: facts.get(d.vmUuid)?.tags ?? [],
  }));
  checkExpected(s.expected, groupTargets(candidates), targets);
  const stopped = covered.filter((d) => d.target !== null && d.action === 'defer' && !isCandidate(d)).length;
  if (stopped > 0) notes.push(`${stopped} out-of-date VMs are not eligible now (stopped or quarantined); they join the last wave when they become eligible`);
  const unmatched = unmatchedCanaries(s.canaries, candidates);
  if (unmatched.length > 0 && flags['allow-unmatched-canaries'] !== true) {
    throw new UsageError(`${unmatched.map((u) => printable(u.slice(0, 120))).join(', ')}: ${unmatched.length === 1 ? 'matches' : 'match'} no member (no out-of-date eligible VM of ` +
      `${s.agentTypes.join(', ')}), so the first wave would be VMs in hash order instead of canaries. Check the uuid or the tag's spelling ` +
      '(--canary-tag matches a UI tag by name or a system tag by its exact text; see gtr plan), or pass --allow-unmatched-canaries', {
      details: { unmatched },
    });
  }
  for (const u of unmatched) notes.push(`${u} matched no member; started anyway (--allow-unmatched-canaries)`);
  for (const tag of s.canaries.tags) {
    const tagged = candidates.filter((c) => c.tags.includes(tag)).length;
    if (tagged > 0) notes.push(`canary tag ${tag} (UI tag or system tag) matched ${tagged} member${tagged === 1 ? '' : 's'}`);
  }
  const started = startRollout(new RolloutStore(ctx.ledger()), {
    agentTypes: s.agentTypes, candidates, canaries: s.canaries, wavesSpec: s.wavesSpec, steps: s.steps, soakMs: s.soakMs,
    waveTimeoutMs: s.waveTimeoutMs, maxErrors: s.maxErrors, install: flags.install === true, who: cliActor(), why: flags.reason ?? 'started by operator', now,
  });
  return { id: started.id, notes };
}
