// What every state-changing peer endpoint does first (POST /ha/rollouts..., POST /ha/retry): POST only,
// a JSON body of bounded size, parsed. The route in src/daemon/peer-routes.ts has checked the ha token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { messageOf } from '../errors.js';

/** A started rollout carries its members: about 300 bytes each, so 64 MiB is far above 100k VMs. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export type Send = (res: ServerResponse, status: number, body: unknown) => void;

/** The parsed JSON body, or `undefined` when the request was refused here (405, 415 or 400 already sent). */
export async function readPostJson(req: IncomingMessage, res: ServerResponse, path: string, send: Send): Promise<unknown> {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    send(res, 405, { error: `${path} takes POST only` });
    return undefined;
  }
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
    send(res, 415, { error: 'expected Content-Type: application/json' });
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      send(res, 400, { error: `the body is larger than ${MAX_BODY_BYTES} bytes` });
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (error) {
    send(res, 400, { error: `the body is not JSON (${messageOf(error)})` });
    return undefined;
  }
}

const WHO_EXPECTED = 'expected who gave the command (user@host), at most 200 characters';
/** Who gave the command on the other node (both write endpoints take it). */
export const who = z.string({ error: WHO_EXPECTED }).min(1, { error: WHO_EXPECTED }).max(200, { error: WHO_EXPECTED });

/**
 * The body as `schema` reads it, or what is wrong with it, as the config names a problem: the field
 * and what was expected ("who: expected ...", 'unknown field "sql"; expected who, why, detach').
 */
export function parseBody<S extends z.ZodObject>(schema: S, body: unknown): z.output<S> | string {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue.code === 'unrecognized_keys') return `unknown field ${JSON.stringify(issue.keys[0])}; expected ${Object.keys(schema.shape).join(', ')}`;
  return issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`;
}
