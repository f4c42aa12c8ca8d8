// `gtr retry --vm UUID...`: re-arm VMs an operator has looked at. Forgets their failures, quarantine and
// attempt count, so a not-converging or quarantined VM is attached again by the next run. One short
// transaction: it never waits for the lease. With ha.peer it is sent to the other node too (as rollout
// commands are): on the standby alone it would be lost at the next sync, which replaces its ledger.
import { UsageError } from '../../errors.js';
import type { Ledger } from '../../ledger/index.js';
import { postToPeer, type Peer } from '../../ha/peer-client.js';
import type { PeerRetryAnswer } from '../../daemon/peer-retry-route.js';
import { cliActor } from '../../rollout/actor.js';
import { parseFlags, vmRefs } from '../args.js';
import { resolveVmRefs } from '../vm-refs.js';
import type { MakeContext } from '../context.js';
import { peerFailure, peerLine, type PeerOutcome } from '../peer-outcome.js';
import { isUuid } from '../../uuid.js';
import { exitLines } from '../exit-lines.js';

const RETRY_HELP = `Usage: gtr retry [--config FILE] --vm UUID|NAME [--vm UUID|NAME]...

Forget the failures, quarantine and attempt count (policy.maxAttempts) of these VMs: a VM that is
skip/not-converging or defer/quarantined is attached again by the next run (within the other policies).
With ha.peer the other node's daemon forgets them too (its ledger is the one that counts when it leads);
a line says whether it did. A peer that did not get it is a warning, never the exit code: run the
command on the leader then (the standby's next sync replaces its ledger with the leader's).
A NAME is the VM's name as the ledger last recorded it; it must match one VM (else exit 2, listing the
uuids it matches).

Examples:
  gtr retry --vm 3f2a9c0d8e7b4a1f9c0d8e7b4a1f9c0d
  gtr retry --vm 数据库服务器-主 --vm web-01

${exitLines(['ok', ['usage', 'usage, config or database error (also: a name no VM or several VMs have)']])}`;

export async function runRetry(argv: string[], makeContext: MakeContext): Promise<number> {
  const { values } = parseFlags(argv, { vm: { type: 'string', multiple: true } });
  if (values.help) {
    process.stdout.write(RETRY_HELP);
    return 0;
  }
  const refs = vmRefs(values.vm);
  if (!refs) throw new UsageError('name at least one VM with --vm UUID or --vm NAME');
  const ctx = makeContext(values);
  try {
    const vms = ledgerVms(ctx.ledger(), refs);
    const known = new Set(ctx.ledger().retryVms(vms, Date.now()));
    for (const vm of vms) {
      process.stdout.write(known.has(vm)
        ? `${vm}: failures, quarantine and attempts forgotten; the next run may attach it again\n`
        : `${vm}: nothing recorded for this VM; nothing to forget\n`);
    }
    ctx.logger.info({ vmUuids: [...known] }, 'retry: failures, quarantine and attempts forgotten');
    if (ctx.peer) process.stdout.write(peerLine(await retryOnPeer(ctx.peer, vms)));
    return 0;
  } finally {
    await ctx.close();
  }
}

/** A uuid as given (the VM may be known only to the peer); a name resolved in the ledger (unique). */
function ledgerVms(ledger: Ledger, refs: string[]): string[] {
  const names = refs.filter((r) => !isUuid(r));
  const named = names.length > 0 ? resolveVmRefs(names, ledger.vmsNamed(names), 'recorded in the ledger (a name is the one of its newest decision)') : [];
  return [...new Set([...refs.filter(isUuid), ...named])];
}

async function retryOnPeer(peer: Peer, vms: string[]): Promise<PeerOutcome> {
  try {
    const answer = (await postToPeer(peer, '/ha/retry', { vmUuids: vms, who: cliActor() })) as PeerRetryAnswer;
    const known = Array.isArray(answer.known) ? answer.known.length : 0;
    return { peer: peer.url, ok: true, message: `forgotten there too (${known} of ${vms.length} VMs had a record there)` };
  } catch (error) {
    return peerFailure(peer.url, error);
  }
}
