// ha.leaderCheck evaluated: "none" always leads; {"vip"} leads while the address is on a local
// interface; {"command"} leads while the program exits 0; "zsha2" leads while this node holds zsha2's
// VIP (src/ha/zsha2.ts). Any doubt (a program missing, hung, or printing nonsense) means standby: two
// leaders could attach the same VM twice, no leader only waits.
//
// LeaderCheck keeps the last answer for the gates, which read it synchronously per attach: an answer
// older than MAX_ANSWER_AGE_MS counts as standby, and a background refresh keeps it younger than that
// while the daemon runs.
import type { LeaderCheckConfig } from '../config/fields.js';
import { interfaceError, interfaceHolding, type InterfaceTable } from './local-address.js';
import { NONE_REASON, type HaRole, type HaRoleSource } from './role.js';
import { firstLine, runCommand, type RunOptions } from './run-command.js';
import type { Verdict } from './verdict.js';
import { DEFAULT_ZSHA2_PATH, zsha2Verdict } from './zsha2.js';

/** An answer older than this is not trusted: the node acts as standby until a fresh one comes. */
export const MAX_ANSWER_AGE_MS = 5_000;
/** Pause between two background checks (after one ends, so checks never overlap). */
const REFRESH_EVERY_MS = 2_000;

export type LeaderCheckKind = LeaderCheckConfig['kind'];

export interface LeaderAnswer extends Verdict {
  kind: LeaderCheckKind;
  /** When the check started: what it found is at least that old. */
  checkedAt: number;
}

export interface LeaderCheckOptions extends RunOptions {
  /** Where zsha2 is (env GTR_ZSHA2_PATH; default /usr/local/bin/zsha2). */
  zsha2Path?: string;
  interfaces?: () => InterfaceTable;
  refreshEveryMs?: number;
  now?: () => number;
  /** Told every answer whose role differs from the one before (and the first answer). */
  onRoleChange?: (answer: LeaderAnswer, previous: LeaderAnswer | null) => void;
}

/** One evaluation of the check, now. */
export async function evaluateLeaderCheck(config: LeaderCheckConfig, opts: LeaderCheckOptions = {}): Promise<Verdict> {
  switch (config.kind) {
    case 'none':
      return { role: 'leader', failed: false, reason: NONE_REASON };
    case 'vip':
      try {
        const holder = interfaceHolding(config.address, opts.interfaces);
        return holder === null
          ? { role: 'standby', failed: false, reason: `${config.address} is not on a local interface` }
          : { role: 'leader', failed: false, reason: `${config.address} is on interface ${holder}` };
      } catch (error) {
        return { role: 'standby', failed: true, reason: interfaceError(error) };
      }
    case 'command':
      return commandVerdict(config.argv, opts);
    case 'zsha2':
      return zsha2Verdict({ ...opts, path: opts.zsha2Path ?? DEFAULT_ZSHA2_PATH });
  }
}

async function commandVerdict(argv: readonly string[], opts: RunOptions): Promise<Verdict> {
  const shown = argv.join(' ');
  const r = await runCommand(argv, opts);
  if (r.failure !== null) return { role: 'standby', failed: true, reason: `${shown}: ${r.failure}` };
  if (r.exitCode === 0) return { role: 'leader', failed: false, reason: `${shown} exited 0` };
  const said = firstLine(r.stderr) || firstLine(r.stdout);
  return { role: 'standby', failed: false, reason: `${shown} exited ${r.exitCode}${said ? `: ${said}` : ''}` };
}

/** The leader check of a running process: the gates' role source, refreshed in the background. */
export class LeaderCheck implements HaRoleSource {
  private last: LeaderAnswer | null = null;
  private inFlight: Promise<LeaderAnswer> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private refreshing = false;
  private readonly now: () => number;

  constructor(readonly config: LeaderCheckConfig, private readonly opts: LeaderCheckOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  get kind(): LeaderCheckKind {
    return this.config.kind;
  }

  /** The last answer, fresh or not; null before the first check ended. */
  lastAnswer(): LeaderAnswer | null {
    return this.last;
  }

  role(now: number): HaRole {
    if (this.config.kind === 'none') return 'leader';
    const a = this.last;
    return a !== null && a.role === 'leader' && now - a.checkedAt <= MAX_ANSWER_AGE_MS ? 'leader' : 'standby';
  }

  /** The role with its reason as of `now`: an answer too old reads standby, saying so. */
  answerAt(now: number): LeaderAnswer {
    const a = this.last;
    if (this.config.kind === 'none') return a ?? { kind: 'none', role: 'leader', failed: false, reason: NONE_REASON, checkedAt: now };
    if (a === null) return { kind: this.kind, role: 'standby', failed: false, reason: 'the leader check has not answered yet', checkedAt: now };
    if (a.role === 'leader' && now - a.checkedAt > MAX_ANSWER_AGE_MS) {
      return { ...a, role: 'standby', reason: `the last answer (${a.reason}) is more than ${MAX_ANSWER_AGE_MS / 1000} s old` };
    }
    return a;
  }

  /** Checks now (joining a check already under way) and keeps the answer. */
  check(): Promise<LeaderAnswer> {
    this.inFlight ??= this.evaluate().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Keeps the answer fresh until stop(): a check now, then one REFRESH_EVERY_MS after each ends. Never holds the process open. */
  start(): void {
    if (this.refreshing || this.config.kind === 'none') return;
    this.refreshing = true;
    const loop = () => {
      void this.check().finally(() => {
        if (!this.refreshing) return;
        this.timer = setTimeout(loop, this.opts.refreshEveryMs ?? REFRESH_EVERY_MS);
        this.timer.unref();
      });
    };
    loop();
  }

  stop(): void {
    this.refreshing = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async evaluate(): Promise<LeaderAnswer> {
    const checkedAt = this.now();
    const verdict = await evaluateLeaderCheck(this.config, this.opts);
    const answer: LeaderAnswer = { ...verdict, kind: this.kind, checkedAt };
    const previous = this.last;
    this.last = answer;
    if (previous === null || previous.role !== answer.role) this.opts.onRoleChange?.(answer, previous);
    return answer;
  }
}
