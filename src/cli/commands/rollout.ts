// `gtr rollout start|status|list|pause|resume|abort`: staged upgrade rollouts (docs/design.md 7).
// Exit codes: 0 ok; 2 usage or config; 6 no such rollout, or a transition the state does not allow.
import { GtrError, UsageError } from '../../errors.js';
import { StartPath } from '../../apply/start-path.js';
import { WindowGate } from '../../schedule/window-gate.js';
import { withLease } from '../../reconcile/lease.js';
import { cliActor } from '../../rollout/actor.js';
import { detachPending } from '../../reconcile/rollout-hook.js';
import { rolloutJson } from '../../rollout/report.js';
import { RolloutStore, type UserAction } from '../../rollout/store.js';
import { noSuchRollout, stateAfter, TRANSITIONS } from '../../rollout/transitions.js';
import { COMMON_OPTIONS, parseFlags, positiveInt } from '../args.js';
import { printable } from '../../text/printable.js';
import { didYouMean } from '../../text/did-you-mean.js';
import type { Context, MakeContext } from '../context.js';
import { renderList, renderRollout } from './rollout-render.js';
import { tellPeer } from './rollout-peer.js';
import { peerLine } from '../peer-outcome.js';
import { startFromFleet } from './rollout-start.js';
import { SUB_HELP } from './rollout-help.js';
import { rolloutPaused, waveStarted } from '../../rollout/events.js';
import { exitLines } from '../exit-lines.js';

const STATE_TABLE = Object.entries(TRANSITIONS)
  .map(([from, to]) => `  ${from.padEnd(9)} ${Object.entries(to).map(([a, s]) => `${a} -> ${s}`).join(', ') || '(final)'}`)
  .join('\n');

const ROLLOUT_HELP = `Usage: gtr rollout <command> [--config FILE] [options]

Staged upgrade rollouts: take the fleet to a GuestTools version in waves, each wave verified installed
before the next starts after a soak; too many failures pause the rollout. The daemon (each tick) and
gtr reconcile advance rollouts; these commands only record decisions, each in one short transaction,
never waiting for a run: a running run reads the state before every attach it starts.

  start [--agent-type WindowsOnKvm|LinuxOnKvm|all] [--target AGENT=VERSION]... [--waves 1,10%,50%,100%]
        [--soak 30m] [--wave-timeout 6h] [--max-errors N|N%] [--canary-vm UUID]...
        [--canary-cluster UUID]... [--canary-tag TAG]... [--allow-unmatched-canaries]
        [--install] [--reason TEXT] [--json]
                        members: the out-of-date eligible VMs now, canaries first, then by sha256(uuid),
                        each to the catalog target of its (agent type, architecture) group;
                        --target only asserts the expected version (bare VERSION with one agent type)
                        and exits 2 when the catalog differs; wave sizes are cumulative, the last
                        wave takes the rest; --max-errors is per wave, of its own members (default 5%);
                        defaults: rollout.*; --canary-tag TAG matches a UI tag by name (the tag
                        pattern's name, or a legacy user tag's text) or a system tag by its exact text;
                        a canary selector that matches no member exits 2 and names it, unless
                        --allow-unmatched-canaries; --install also runs the installer in the
                        members' guests (as install.mode "qga" does, for this rollout only)
  status [ID] [--json]  per group and per wave: members attached, installing, verified, failed, skipped, pending,
                        when the running wave times out and its soak ends, and the running wave's
                        unfinished members (name, uuid, state, waiting since, times out at; at most 20,
                        then a count). A member is done only on the guest's evidence: verified,
                        skipped for good, or failed (at the wave timeout: no-evidence). Default: the
                        open ones
  list [--limit N] [--json]
  pause ID [--reason TEXT]
  resume ID [--reason TEXT]    after an error-budget pause, the budget counts new failures only
  abort ID [--detach] [--reason TEXT]
                        stop attaching; --detach also detaches the ISO (DetachGuestToolsIsoFromVm)
                        from every member this reconciler attached that is not verified

States and allowed transitions:
${STATE_TABLE}
One open (active or paused) rollout per agent type. gtr rollout SUB --help shows a subcommand with examples.
${exitLines(['ok', 'usage', ['unreachable', 'ZStack unreachable (start, abort --detach)'], ['rollout', 'no such rollout or a transition that is not allowed']])}With ha.peer, start/pause/resume/abort are also sent to the other node; a line says whether it got them
(in --json: "peer": {peer, ok, message}); a peer that did not get them is a warning, never the exit code.
`;

const FLAGS = {
  json: { type: 'boolean' },
  target: { type: 'string', multiple: true },
  'agent-type': { type: 'string' },
  waves: { type: 'string' },
  soak: { type: 'string' },
  'wave-timeout': { type: 'string' },
  'max-errors': { type: 'string' },
  'canary-vm': { type: 'string', multiple: true },
  'canary-cluster': { type: 'string', multiple: true },
  'canary-tag': { type: 'string', multiple: true },
  'allow-unmatched-canaries': { type: 'boolean' },
  reason: { type: 'string' },
  detach: { type: 'boolean' },
  install: { type: 'boolean' },
  limit: { type: 'string' },
} as const;

const ALLOWED: Record<string, readonly string[]> = {
  start: ['json', 'target', 'agent-type', 'waves', 'soak', 'wave-timeout', 'max-errors', 'canary-vm', 'canary-cluster', 'canary-tag',
    'allow-unmatched-canaries', 'install', 'reason'],
  status: ['json'],
  list: ['json', 'limit'],
  pause: ['reason', 'json'],
  resume: ['reason', 'json'],
  abort: ['reason', 'detach', 'json'],
};

export async function runRollout(argv: string[], makeContext: MakeContext): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  const [sub, ...args] = positionals;
  if (sub === undefined) {
    process.stdout.write(ROLLOUT_HELP);
    return values.help ? 0 : 2;
  }
  const allowed = ALLOWED[sub];
  if (!allowed) throw new UsageError(`unknown subcommand "${printable(sub.slice(0, 40))}"${didYouMean(sub, Object.keys(ALLOWED), (w) => `"gtr rollout ${w}"`)}; expected start, status, list, pause, resume or abort`);
  if (values.help) {
    process.stdout.write(SUB_HELP[sub]);
    return 0;
  }
  for (const [flag, value] of Object.entries(values)) {
    if (value !== undefined && !Object.hasOwn(COMMON_OPTIONS, flag) && !allowed.includes(flag)) {
      throw new UsageError(`--${flag} does not apply here; it takes ${allowed.map((f) => `--${f}`).join(', ')} (gtr rollout ${sub} --help)`);
    }
  }
  const wantsId = ['pause', 'resume', 'abort'].includes(sub);
  if (args.length > (wantsId || sub === 'status' ? 1 : 0)) throw new UsageError(`unexpected argument "${args[args.length - 1].slice(0, 40)}"`);
  if (wantsId && args.length === 0) throw new UsageError(`which rollout? give its ID: gtr rollout ${sub} ID (gtr rollout list shows the IDs)`);
  if (args[0] !== undefined && !/^[1-9]\d*$/.test(args[0])) throw new UsageError(`got "${printable(args[0].slice(0, 40))}", expected a rollout ID (a positive integer; gtr rollout list shows them)`);
  const id = args[0] === undefined ? undefined : Number(args[0]);
  const limit = positiveInt('limit', values.limit) ?? 20;

  const ctx = makeContext(values);
  try {
    const store = new RolloutStore(ctx.ledger());
    const print = (json: unknown, human: string) => process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : human);
    const show = (rolloutId: number) => {
      const r = store.get(rolloutId);
      if (!r) throw noSuchRollout(rolloutId);
      return rolloutJson(r, Date.now(), { members: true, transitions: true });
    };
    switch (sub) {
      case 'start': {
        const started = await startFromFleet(ctx, values, Date.now());
        ctx.events.emit(waveStarted(started.id, 1));
        const r = show(started.id);
        const peer = ctx.peer ? await tellPeer(ctx.peer, ctx.ledger(), { kind: 'start', id: started.id }) : null;
        print({ ...r, notes: started.notes, ...(peer ? { peer } : {}) }, `${renderRollout(r)}${started.notes.map((n) => `note: ${n}\n`).join('')}${peer ? peerLine(peer) : ''}`);
        return 0;
      }
      case 'status': {
        if (id !== undefined) {
          const r = show(id);
          print(r, renderRollout(r));
          return 0;
        }
        const open = store.open();
        const shown = (open.length > 0 ? open.map((o) => o.id) : store.list(1).map((o) => o.id)).map(show);
        print({ rollouts: shown }, shown.length === 0 ? 'No rollouts yet (gtr rollout start).\n' : shown.map(renderRollout).join('\n'));
        return 0;
      }
      case 'list': {
        const rollouts = store.list(limit).map((r) => show(r.id));
        print({ rollouts: rollouts.map(({ members: _m, transitions: _t, ...rest }) => rest) }, renderList(rollouts));
        return 0;
      }
      default: {
        const action = sub as UserAction;
        const who = cliActor();
        // Already in that state (a retry, automation, the other node): nothing to do, exit 0, said so.
        const already = store.get(id as number)?.state === stateAfter(action);
        if (!already) {
          store.transition(id as number, action, who, values.reason ?? null, { detach: values.detach === true, now: Date.now() });
          if (action === 'pause') ctx.events.emit(rolloutPaused(id as number, 'operator', `paused by ${who}${values.reason ? `: ${values.reason}` : ''}`));
        }
        const notes = already
          ? [`rollout ${id} was already ${stateAfter(action)}: nothing changed`]
          : action === 'abort' && values.detach ? await detachNow(ctx, store, who) : [];
        const r = show(id as number);
        const peer = ctx.peer
          ? await tellPeer(ctx.peer, ctx.ledger(), { kind: action, id: id as number, who, why: values.reason ?? null, detach: values.detach === true })
          : null;
        print({ ...r, notes, ...(peer ? { peer } : {}) }, `${renderRollout(r)}${notes.map((n) => `note: ${n}\n`).join('')}${peer ? peerLine(peer) : ''}`);
        return 0;
      }
    }
  } finally {
    await ctx.close();
  }
}

/** Detaches under the shared lease; when another run holds it, that run (or the next) detaches. */
async function detachNow(ctx: Context, store: RolloutStore, who: string): Promise<string[]> {
  const now = () => Date.now();
  try {
    const { windows, timezone } = ctx.config.schedule;
    const n = await withLease(ctx.ledger(), { purpose: 'rollout-abort', now }, (fence) => {
      // Detaches start like everything else: gated (the maintenance window) and fenced (src/apply/start-path.ts).
      const start = StartPath.open(ctx.ledger(), fence, [new WindowGate(windows, timezone, now())], now);
      return detachPending(store, ctx.client(), start, ctx.logger, now, who);
    });
    return [`detached the GuestTools ISO from ${n} members that were attached and not verified`];
  } catch (error) {
    if (error instanceof GtrError && error.code === 'GTR_LEASE_HELD') {
      return [`${error.message}; the ISO is detached by the next run that holds the lease (daemon tick or gtr reconcile)`];
    }
    throw error;
  }
}
