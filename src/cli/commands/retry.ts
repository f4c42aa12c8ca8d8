// `gtr retry --vm UUID...`: re-arm VMs an operator has looked at. Forgets their failures, quarantine and
// attempt count, so a not-converging or quarantined VM is attached again by the next run. One short
// transaction: it never waits for the lease.
import { UsageError } from '../../errors.js';
import { parseFlags, vmUuids } from '../args.js';
import type { Context } from '../context.js';

export const RETRY_HELP = `Usage: gtr retry [--config FILE] --vm UUID [--vm UUID]...

Forget the failures, quarantine and attempt count (policy.maxAttempts) of these VMs: a VM that is
skip/not-converging or defer/quarantined is attached again by the next run (within the other policies).
Exit codes: 0 ok, 2 usage, config or database error.
`;

export async function runRetry(argv: string[], makeContext: (configFile: string | undefined) => Context): Promise<number> {
  const { values } = parseFlags('retry', argv, { vm: { type: 'string', multiple: true } });
  if (values.help) {
    process.stdout.write(RETRY_HELP);
    return 0;
  }
  const vms = vmUuids(values.vm);
  if (!vms) throw new UsageError('retry: name at least one VM with --vm UUID');
  const ctx = makeContext(values.config);
  try {
    const known = new Set(ctx.ledger().retryVms(vms));
    for (const vm of vms) {
      process.stdout.write(known.has(vm)
        ? `${vm}: failures, quarantine and attempts forgotten; the next run may attach it again\n`
        : `${vm}: nothing recorded for this VM; nothing to forget\n`);
    }
    ctx.logger.info({ vmUuids: [...known] }, 'retry: failures, quarantine and attempts forgotten');
    return 0;
  } finally {
    await ctx.close();
  }
}
