// A rollout command done here is also sent to the peer node (ha.peer), so that an operator's pause is
// on both nodes at once. The local command never fails because of the peer: what the peer said (or
// that it could not be reached) is one line of output, and the exit code stays the local one.
import { PeerError, postToPeer, type Peer } from '../../ha/peer-client.js';
import type { PeerRolloutAnswer } from '../../ha/peer-rollout-routes.js';
import type { Ledger } from '../../ledger/index.js';
import { rolloutRows } from '../../rollout/replica.js';
import type { UserAction } from '../../rollout/store.js';

export interface PeerOutcome {
  peer: string;
  ok: boolean;
  /** e.g. "paused", "already paused", or why it did not get it. */
  message: string;
}

export type PeerCommand =
  | { kind: 'start'; id: number }
  | { kind: UserAction; id: number; who: string; why: string | null; detach: boolean };

const DONE: Record<string, string> = { start: 'started', pause: 'paused', resume: 'resumed', abort: 'aborted' };

export async function tellPeer(peer: Peer, ledger: Ledger, command: PeerCommand): Promise<PeerOutcome> {
  try {
    let answer: PeerRolloutAnswer;
    if (command.kind === 'start') {
      const rows = rolloutRows(ledger, command.id);
      if (!rows) throw new PeerError(`rollout ${command.id} is not in the local ledger`);
      answer = (await postToPeer(peer, '/ha/rollouts', rows)) as PeerRolloutAnswer;
    } else {
      answer = (await postToPeer(peer, `/ha/rollouts/${command.id}/${command.kind}`, { who: command.who, why: command.why, detach: command.detach })) as PeerRolloutAnswer;
    }
    const already = answer.result === 'already' || answer.result === 'exists';
    return { peer: peer.url, ok: true, message: `${already ? 'already ' : ''}${DONE[command.kind]} (rollout ${command.id} ${answer.state} there)` };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { peer: peer.url, ok: false, message: why };
  }
}

/** The line printed after the command's own output. */
export function peerLine(outcome: PeerOutcome): string {
  return outcome.ok
    ? `peer ${outcome.peer}: ${outcome.message}\n`
    : `warning: peer ${outcome.peer} did not get this (${outcome.message}). If this node is the leader, the peer gets it ` +
      'at its next sync; run the command there too if it becomes the leader first. If the peer is the leader, run the ' +
      'command there: its next sync replaces this node\'s ledger\n';
}
