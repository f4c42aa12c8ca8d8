// POST /ha/retry {vmUuids, who}: an operator's `gtr retry` on one node is applied to the other node's
// ledger too. Run on the standby, it would otherwise be lost at the next sync (the standby's ledger is
// replaced by the leader's); run on the leader, the standby has it at once instead of at its next sync.
// The route in src/daemon/peer-routes.ts has checked the ha token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Ledger } from '../ledger/index.js';
import { z } from 'zod';
import { parseBody, readPostJson, who, type Send } from './peer-post.js';
import { isUuid } from '../uuid.js';

export const RETRY_PATH = '/ha/retry';
/** One command names VMs by hand; far more than an operator types, far less than a body limit. */
const MAX_VMS = 10_000;

/** What the peer did: `known`, the VMs it had a record of (their failures, quarantine and attempts are forgotten). */
export interface PeerRetryAnswer {
  vmUuids: string[];
  known: string[];
}

export async function handleRetryWrite(req: IncomingMessage, res: ServerResponse, ledger: Ledger, logger: Logger, send: Send): Promise<void> {
  const body = await readPostJson(req, res, RETRY_PATH, send);
  if (body === undefined) return;
  const parsed = parseBody(RETRY_BODY, body);
  if (typeof parsed === 'string') return send(res, 400, { error: parsed });
  const known = ledger.retryVms(parsed.vmUuids, Date.now());
  logger.info({ who: parsed.who, vmUuids: known }, 'retry from the peer: failures, quarantine and attempts forgotten');
  const answer: PeerRetryAnswer = { vmUuids: parsed.vmUuids, known };
  send(res, 200, answer);
}

const LIST_EXPECTED = `expected a list of 1 to ${MAX_VMS} VM uuids`;
const isUuidText = (v: unknown) => typeof v === 'string' && isUuid(v);
const RETRY_BODY = z.strictObject({
  vmUuids: z.array(z.unknown(), { error: LIST_EXPECTED }).min(1, { error: LIST_EXPECTED }).max(MAX_VMS, { error: LIST_EXPECTED })
    .refine((vms) => vms.every(isUuidText), {
      error: (issue) => `got ${JSON.stringify((issue.input as unknown[]).find((v) => !isUuidText(v))).slice(0, 80)}, expected a VM uuid (32 lowercase hex characters)`,
    })
    .transform((vms) => [...new Set(vms as string[])]),
  who,
}, { error: 'expected a JSON object {vmUuids, who}' });
