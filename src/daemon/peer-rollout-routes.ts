// The state-changing peer endpoints (the only ones of the daemon): an operator's rollout command on
// one node is applied to the other node's ledger too, so a pause holds on both at once and survives a
// failover between two syncs.
//   POST /ha/rollouts                      {rollouts, targets, waves, members, transitions}: the started rollout, same id
//   POST /ha/rollouts/ID/pause|resume|abort {who, why, detach}
// The route in src/daemon/peer-routes.ts has checked the ha token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GtrError } from '../errors.js';
import { z } from 'zod';
import { parseBody, readPostJson, who, type Send } from './peer-post.js';
import type { Ledger } from '../ledger/index.js';
import { adoptRollout, parseRolloutRows } from '../rollout/replica.js';
import { RolloutStore, type UserAction } from '../rollout/store.js';
import { stateAfter } from '../rollout/transitions.js';

const ACTION_PATH = /^\/ha\/rollouts\/([1-9]\d{0,14})\/(pause|resume|abort)$/;

/** What the peer did: 'done', or 'already' when the rollout already was in that state (a retry, or the sync was first). */
export interface PeerRolloutAnswer {
  rolloutId: number;
  result: 'done' | 'already' | 'created' | 'exists';
  state: string;
}

/** Handles a POST under /ha/rollouts; false when the path is not one of these. */
export async function handleRolloutWrite(req: IncomingMessage, res: ServerResponse, path: string, ledger: Ledger, send: Send): Promise<boolean> {
  const action = ACTION_PATH.exec(path);
  if (path !== '/ha/rollouts' && !action) return false;
  const body = await readPostJson(req, res, path, send);
  if (body === undefined) return true;
  try {
    const answer = action ? transition(ledger, Number(action[1]), action[2] as UserAction, body) : adopt(ledger, body);
    if (typeof answer === 'string') send(res, 400, { error: answer });
    else send(res, answer.result === 'created' ? 201 : 200, answer);
  } catch (error) {
    if (error instanceof GtrError && error.code === 'GTR_ROLLOUT_NOT_FOUND') send(res, 404, { error: error.message });
    else if (error instanceof GtrError && error.code === 'GTR_ROLLOUT_REFUSED') send(res, 409, { error: error.message });
    else if (isConstraint(error)) send(res, 400, { error: `the rows break a constraint of the ledger: ${(error as Error).message}` });
    else throw error;
  }
  return true;
}

const WHY_EXPECTED = 'expected a text of at most 2000 characters, or null';
const TRANSITION_BODY = z.strictObject({
  who,
  why: z.string({ error: WHY_EXPECTED }).max(2000, { error: WHY_EXPECTED }).nullish(),
  detach: z.boolean({ error: 'expected true or false' }).optional(),
}, { error: 'expected a JSON object {who, why, detach}' });

function transition(ledger: Ledger, id: number, action: UserAction, body: unknown): PeerRolloutAnswer | string {
  const b = parseBody(TRANSITION_BODY, body);
  if (typeof b === 'string') return b;
  const store = new RolloutStore(ledger);
  const current = store.get(id);
  // Already there (the sync was faster, or a retry): nothing to do, and not an error for the operator.
  if (current && current.state === stateAfter(action)) return { rolloutId: id, result: 'already', state: current.state };
  const r = store.transition(id, action, b.who, b.why ?? null, { detach: b.detach === true, now: Date.now() });
  return { rolloutId: id, result: 'done', state: r.state };
}

function adopt(ledger: Ledger, body: unknown): PeerRolloutAnswer | string {
  const rows = parseRolloutRows(body);
  if (typeof rows === 'string') return rows;
  const result = adoptRollout(ledger, rows);
  return { rolloutId: rows.rollouts[0].id as number, result, state: String(rows.rollouts[0].state) };
}

function isConstraint(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && error.code.startsWith('SQLITE_CONSTRAINT');
}
