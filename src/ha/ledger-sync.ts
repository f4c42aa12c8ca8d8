// The standby mirrors the leader's ledger (README "Two management nodes", docs/design.md 7). Every
// ha.syncInterval a standby pulls the leader's snapshot, checks it and puts it in place of its own. A
// node that becomes leader first catches up from its peer (which has the newest truth: it led until
// now) and attaches nothing until then; when the peer cannot be reached it goes on with its own ledger
// at once if that is at most 2 x ha.syncInterval old, else after 2 x ha.syncInterval as leader.
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { errorToJson, messageOf } from '../errors.js';
import { defaultIsAlive, removeSnapshotFile, schemaName, verifySnapshot, type Ledger } from '../ledger/index.js';
import type { AttachGate } from '../plan/gates.js';
import { VERSION } from '../version.js';
import { offerSnapshot, PeerError, peerFacts, type Peer, type SnapshotOffer } from './peer-client.js';
import type { PeerFacts } from './peer-facts.js';
import type { HaRoleSource } from './role.js';
import { readSyncRecord, writeSyncRecord, type SyncRecord } from './sync-record.js';
import { catchUpVerdict, copyIsFresh, describeAge, leaseInUse, recordAsOf, type ReadyBasis } from './catch-up.js';

/** How often the loop looks at the role (a pull happens at most once per ha.syncInterval). */
const POLL_MS = 500;

interface LedgerSyncOptions {
  peer: Peer;
  syncIntervalMs: number;
  ledger: () => Ledger;
  roles: HaRoleSource;
  logger: Logger;
  /**
   * True while a run of this daemon is under way, before it holds the lease too. Whoever holds the
   * lease (a daemon tick, `gtr reconcile`, a rollout step) counts as well: the sync reads it from the
   * ledger (leaseInUse). The ledger is never replaced under a run, and the peer is told about it.
   */
  runInProgress: () => boolean;
  now?: () => number;
}

interface HaHealth {
  peer: string;
  lastSyncAt: string | null;
  snapshotAgeMs: number | null;
  ledgerFresh: boolean;
  /** A leader that does not attach yet says why; null otherwise. */
  reason: string | null;
}

export class LedgerSync {
  private record: SyncRecord;
  /** When this process saw the leader role begin; null while standby. */
  private leaderSince: number | null = null;
  /** The leader may attach: it caught up, or decided to go on with its own ledger. */
  private ready = false;
  private reason: string | null = null;
  private lastPullAt = 0;
  private lastProblem: string | null = null;
  private replacing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly now: () => number;

  constructor(private readonly opts: LedgerSyncOptions) {
    this.now = opts.now ?? Date.now;
    this.record = readSyncRecord(opts.ledger().path);
  }

  /** True while a snapshot is being put in place: no write of this process may start (see Ledger.replaceWith). */
  get busy(): boolean {
    return this.replacing !== null;
  }

  /** The time up to which this node's ledger is known complete. */
  asOf(now: number): number | null {
    return this.leading(now) ? now : recordAsOf(this.record);
  }

  fresh(now: number): boolean {
    return this.leading(now) || copyIsFresh(this.asOf(now), now, this.opts.syncIntervalMs);
  }

  /** A run of this node is under way: the daemon's own, or any holder of the lease (docs/design.md 4). */
  runUnderWay(now: number): boolean {
    return this.opts.runInProgress() || leaseInUse(this.opts.ledger(), now) !== null;
  }

  /** What this node says with its snapshot (GET /ha/snapshot). */
  facts(now: number): PeerFacts {
    return {
      role: this.opts.roles.role(now),
      snapshotAt: now,
      asOf: this.asOf(now),
      ledUntil: this.leading(now) ? now : this.record.leaderUntil,
      fresh: this.fresh(now),
      runInProgress: this.runUnderWay(now),
      schema: this.opts.ledger().appliedMigrations(),
      version: VERSION,
    };
  }

  health(now: number): HaHealth {
    const asOf = this.asOf(now);
    const role = this.opts.roles.role(now);
    return {
      peer: this.opts.peer.url,
      lastSyncAt: this.record.syncedAt === null ? null : new Date(this.record.syncedAt).toISOString(),
      snapshotAgeMs: asOf === null ? null : Math.max(0, now - asOf),
      ledgerFresh: this.fresh(now),
      reason: role === 'leader' && !this.leading(now) ? (this.reason ?? 'catching up from the peer') : null,
    };
  }

  /** Refuses every attach (defer/not-leader) while this node leads but has not caught up yet. */
  gate(): AttachGate {
    return { name: 'ha-sync', stopsRun: true, check: (_subject, now) => (this.opts.roles.role(now) === 'leader' && !this.leading(now) ? 'not-leader' : null) };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = () => {
      void this.step().finally(() => {
        if (!this.running) return;
        this.timer = setTimeout(loop, POLL_MS);
        this.timer.unref();
      });
    };
    loop();
  }

  /** Stops the loop and waits for a snapshot being put in place; a leader records that it led until now. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.replacing;
    const now = this.now();
    if (this.leading(now)) this.saveRecord({ leaderUntil: now });
  }

  /** One look at the role: catch up as a new leader, pull as a standby when due, record leadership. */
  async step(): Promise<void> {
    const now = this.now();
    try {
      if (this.opts.roles.role(now) === 'leader') await this.asLeader(now);
      else await this.asStandby(now);
    } catch (error) {
      this.opts.logger.error({ error: errorToJson(error) }, 'ha sync failed; trying again');
    }
  }

  private leading(now: number): boolean {
    return this.ready && this.leaderSince !== null && this.opts.roles.role(now) === 'leader';
  }

  private async asLeader(now: number): Promise<void> {
    if (this.leaderSince === null) {
      this.leaderSince = now;
      this.ready = false;
      this.lastPullAt = 0;
      this.opts.logger.info({ peer: this.opts.peer.url, ledgerAsOf: iso(this.asOf(now)) }, 'became leader: catching up from the peer before attaching');
    }
    if (this.ready) {
      // Leading: the ledger is this node's own truth; say so durably, for a restart or a later failover.
      if (this.record.leaderUntil === null || now - this.record.leaderUntil >= this.opts.syncIntervalMs / 2) this.saveRecord({ leaderUntil: now });
      return;
    }
    if (now - this.lastPullAt < Math.min(this.opts.syncIntervalMs, 1000)) return;
    this.lastPullAt = now;
    await this.catchUp(now);
  }

  private async catchUp(now: number): Promise<void> {
    const ownAsOf = this.asOf(now);
    const stale = !copyIsFresh(ownAsOf, now, this.opts.syncIntervalMs);
    const age = describeAge(ownAsOf, now);
    const result = await this.pull((f) => {
      const verdict = catchUpVerdict(f, ownAsOf);
      return verdict.kind === 'take' ? null : verdict.kind === 'keep-ours' ? 'keep-ours' : verdict.why;
    });
    if (result.kind === 'installed') return this.becomeReady(now, 'caught-up', `caught up from the peer (it led until ${iso(result.facts.ledUntil)})`);
    if (result.kind === 'declined' && result.why === 'keep-ours') return this.becomeReady(now, 'as-new', 'our ledger is as new as the peer\'s');
    if (result.kind === 'declined') return this.wait(result.why);
    // The peer is unreachable or its snapshot unusable.
    if (!stale) return this.becomeReady(now, 'peer-unavailable-fresh', `peer unavailable (${result.why}); our ledger is fresh (${age})`);
    if (now - (this.leaderSince ?? now) >= 2 * this.opts.syncIntervalMs) {
      return this.becomeReady(now, 'peer-unavailable-timeout', `peer unavailable for 2 x ha.syncInterval (${result.why}); going on with our ledger (${age})`);
    }
    this.wait(`ledger snapshot stale (${age}), re-syncing: ${result.why}`);
  }

  private wait(reason: string): void {
    // One line per kind of reason: the snapshot's age in it changes every time.
    const kind = (text: string | null) => text?.replace(/\d+/g, 'N');
    if (kind(reason) !== kind(this.reason)) this.opts.logger.warn({ peer: this.opts.peer.url, reason }, 'leader not attaching yet');
    this.reason = reason;
  }

  private becomeReady(now: number, basis: ReadyBasis, why: string): void {
    // Runs the peer left `running` in the ledger are not running here: mark them interrupted, so the
    // next tick polls the jobs they recorded instead of attaching those VMs again.
    const host = os.hostname();
    const { runIds } = this.opts.ledger().markInterruptedRuns(now, (who) => who.host === host && defaultIsAlive(who));
    this.ready = true;
    this.reason = null;
    this.saveRecord({ leaderUntil: now });
    this.opts.logger.info({ peer: this.opts.peer.url, basis, why, interruptedPeerRuns: runIds }, 'leader attaching');
  }

  private async asStandby(now: number): Promise<void> {
    if (this.leaderSince !== null) {
      // Only a leader that attached wrote its own truth until now; one still catching up wrote nothing.
      if (this.ready) this.saveRecord({ leaderUntil: now });
      this.leaderSince = null;
      this.ready = false;
      this.reason = null;
      this.opts.logger.info({ peer: this.opts.peer.url }, 'no longer leader: mirroring the peer');
    }
    if (now - this.lastPullAt < this.opts.syncIntervalMs) return;
    this.lastPullAt = now;
    // Only a ready leader's ledger replaces ours: a new leader that has not caught up yet holds older data.
    const result = await this.pull((f) => (f.role !== 'leader' ? 'the peer is not the leader' : !f.fresh ? "the peer leads but has not caught up yet" : null));
    if (result.kind === 'installed') {
      this.lastProblem = null;
      return;
    }
    const problem = result.kind === 'declined' ? `not pulling: ${result.why}` : `pull failed: ${result.why}`;
    if (problem !== this.lastProblem) this.opts.logger.warn({ peer: this.opts.peer.url, problem }, 'ledger not synced');
    this.lastProblem = problem;
  }

  /**
   * Asks the peer for its snapshot; `decline` looks at its facts first (a reason to decline, or null
   * to take it). A taken snapshot is downloaded next to the database, verified and put in place.
   */
  private async pull(decline: (f: PeerFacts) => string | null): Promise<PullResult> {
    if (this.runUnderWay(this.now())) return { kind: 'declined', why: 'a run of this node is under way' };
    const ledger = this.opts.ledger();
    const refusal = (f: PeerFacts): PullResult | null => {
      const why = decline(f);
      if (why !== null) return { kind: 'declined', why };
      const mismatch = schemaMismatch(f, ledger);
      return mismatch === null ? null : { kind: 'failed', why: `ledger sync refused: ${mismatch}` };
    };
    let offer: SnapshotOffer;
    try {
      // The facts first: a declined snapshot is never made. Checked again on the snapshot's own facts.
      const early = refusal(await peerFacts(this.opts.peer));
      if (early) return early;
      offer = await offerSnapshot(this.opts.peer);
    } catch (error) {
      // A busy peer is up: its run or its ledger may be newer than ours, so wait for it rather than go on alone.
      if (error instanceof PeerError && error.busy) return { kind: 'declined', why: `the peer is busy (${error.message}); asking again` };
      return { kind: 'failed', why: messageOf(error) };
    }
    const { facts } = offer;
    const late = refusal(facts);
    if (late) {
      await offer.discard();
      return late;
    }
    const file = path.join(path.dirname(ledger.path), `.${path.basename(ledger.path)}.ha-download-${randomUUID().slice(0, 8)}`);
    try {
      await offer.save(file);
      const started = this.now();
      verifySnapshot(file, ledger.migrationsDir, this.opts.peer.url);
      // Checked again: a tick may have started while the snapshot downloaded.
      if (this.runUnderWay(this.now())) return { kind: 'declined', why: 'a run of this node started meanwhile' };
      this.replacing = ledger.replaceWith(file);
      await this.replacing;
      this.saveRecord({ syncedAt: facts.snapshotAt, peer: this.opts.peer.url, peerRole: facts.role });
      this.opts.logger.info({ peer: this.opts.peer.url, peerRole: facts.role, snapshotAt: iso(facts.snapshotAt), seconds: (this.now() - started) / 1000 }, 'ledger synced from the peer');
      return { kind: 'installed', facts };
    } catch (error) {
      this.opts.logger.error({ peer: this.opts.peer.url, error: errorToJson(error) }, 'ledger snapshot from the peer not used; ours is kept');
      return { kind: 'failed', why: messageOf(error) };
    } finally {
      this.replacing = null;
      removeSnapshotFile(file);
    }
  }

  private saveRecord(patch: Partial<SyncRecord>): void {
    this.record = { ...this.record, ...patch };
    try {
      writeSyncRecord(this.opts.ledger().path, this.record);
    } catch (error) {
      this.opts.logger.error({ error: errorToJson(error) }, 'could not write the ha sync record next to the database');
    }
  }
}

/** A peer on another schema is refused before its snapshot is even downloaded; the reason names both versions. */
function schemaMismatch(facts: PeerFacts, ledger: Ledger): string | null {
  const ours = ledger.appliedMigrations();
  if (facts.schema.join(',') === ours.join(',')) return null;
  return `the peer runs gtr ${facts.version} with schema ${schemaName(facts.schema)}, this node gtr ${VERSION} with schema ${schemaName(ours)}: ` +
    'upgrade both nodes to the same version';
}

type PullResult = { kind: 'installed'; facts: PeerFacts } | { kind: 'declined'; why: string } | { kind: 'failed'; why: string };

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
