// What the peer node did with a command also sent to it (ha.peer): rollout start/pause/resume/abort and
// `gtr retry`. The local command never fails because of the peer: what the peer said (or that it could
// not be reached) is one line of output, and the exit code stays the local one.
import { messageOf } from '../errors.js';

export interface PeerOutcome {
  peer: string;
  ok: boolean;
  /** e.g. "paused", "already paused", or why it did not get it. */
  message: string;
}

export function peerFailure(peer: string, error: unknown): PeerOutcome {
  return { peer, ok: false, message: messageOf(error) };
}

/** The line printed after the command's own output. */
export function peerLine(outcome: PeerOutcome): string {
  return outcome.ok
    ? `peer ${outcome.peer}: ${outcome.message}\n`
    : `warning: peer ${outcome.peer} did not get this (${outcome.message}). If this node is the leader, the peer gets it ` +
      'at its next sync; run the command there too if it becomes the leader first. If the peer is the leader, run the ' +
      'command there: its next sync replaces this node\'s ledger\n';
}
