// A rollout command done here is also sent to the peer node (ha.peer), so that an operator's pause is
// on both nodes at once. The local command never fails because of the peer (src/cli/peer-outcome.ts).
import { PeerError, postToPeer, type Peer } from '../../ha/peer-client.js';
import type { PeerRolloutAnswer } from '../../daemon/peer-rollout-routes.js';
import type { Ledger } from '../../ledger/index.js';
import { rolloutRows } from '../../rollout/replica.js';
import type { UserAction } from '../../rollout/store.js';
import { peerFailure, type PeerOutcome } from '../peer-outcome.js';

type PeerCommand =
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
    return peerFailure(peer.url, error);
  }
}
