// What a node says about itself with each ledger snapshot (response headers of GET /ha/snapshot): its
// role, how current its ledger is, whether a run is under way, and its schema, so the receiving node
// can decide before downloading whether to take the snapshot at all.
import type { HaRole } from './role.js';

export interface PeerFacts {
  role: HaRole;
  /** When the snapshot was taken (the sender's clock), epoch ms. */
  snapshotAt: number;
  /** The sender's ledger is complete up to this time: now for a ready leader, else its last sync or leadership. */
  asOf: number | null;
  /** Until when the sender led and wrote its own ledger (now for a ready leader); null: it never led. */
  ledUntil: number | null;
  /** A ready leader, or a ledger at most 2 x ha.syncInterval old. */
  fresh: boolean;
  /**
   * A run of the sender is under way (its daemon's, or anyone holding its lease: `gtr reconcile`, a
   * rollout step): its outcomes are not all recorded yet.
   */
  runInProgress: boolean;
  /** Applied migrations, oldest first. */
  schema: string[];
  /** The sender's gtr version (for log lines). */
  version: string;
}

const H = {
  role: 'x-gtr-role',
  snapshotAt: 'x-gtr-snapshot-at',
  asOf: 'x-gtr-ledger-as-of',
  ledUntil: 'x-gtr-led-until',
  fresh: 'x-gtr-ledger-fresh',
  runInProgress: 'x-gtr-run-in-progress',
  schema: 'x-gtr-schema',
  version: 'x-gtr-version',
} as const;

export function factsToHeaders(f: PeerFacts): Record<string, string> {
  return {
    [H.role]: f.role,
    [H.snapshotAt]: new Date(f.snapshotAt).toISOString(),
    [H.asOf]: f.asOf === null ? 'never' : new Date(f.asOf).toISOString(),
    [H.ledUntil]: f.ledUntil === null ? 'never' : new Date(f.ledUntil).toISOString(),
    [H.fresh]: String(f.fresh),
    [H.runInProgress]: String(f.runInProgress),
    [H.schema]: f.schema.join(','),
    [H.version]: f.version,
  };
}

/** The facts from response headers, or a message naming what is missing (a peer too old or not gtr). */
export function factsFromHeaders(headers: Record<string, string | string[] | undefined>): PeerFacts | string {
  const one = (name: string): string | null => {
    const v = headers[name];
    return typeof v === 'string' ? v : null;
  };
  const role = one(H.role);
  const snapshotAt = Date.parse(one(H.snapshotAt) ?? '');
  const asOfText = one(H.asOf);
  const asOf = asOfText === 'never' ? null : Date.parse(asOfText ?? '');
  const ledText = one(H.ledUntil);
  const ledUntil = ledText === 'never' ? null : Date.parse(ledText ?? '');
  const schema = one(H.schema);
  const badTime = (t: number | null) => t !== null && !Number.isFinite(t);
  if ((role !== 'leader' && role !== 'standby') || !Number.isFinite(snapshotAt) || badTime(asOf) || badTime(ledUntil) || schema === null) {
    return `the answer lacks the snapshot headers (${Object.values(H).join(', ')}): is ha.peer the other node's gtr daemon?`;
  }
  return {
    role,
    snapshotAt,
    asOf,
    ledUntil,
    fresh: one(H.fresh) === 'true',
    runInProgress: one(H.runInProgress) === 'true',
    schema: schema === '' ? [] : schema.split(','),
    version: one(H.version) ?? 'unknown',
  };
}
