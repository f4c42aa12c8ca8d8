// The peer endpoints under /ha/ on the daemon's status listener, for the other node of the pair only:
// they take the shared ha token (ha.tokenFile) and nothing else, and that token opens nothing else
// (http.auth.* guards the rest). GET /ha/snapshot streams a consistent copy of the ledger with the
// facts the receiver decides on in its headers (src/ha/peer-facts.ts); POST /ha/rollouts... applies an
// operator's rollout command given on the other node (src/daemon/peer-rollout-routes.ts), POST /ha/retry
// its `gtr retry` (src/daemon/peer-retry-route.ts).
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Ledger } from '../ledger/index.js';
import { removeSnapshotFile } from '../ledger/index.js';
import { tokenMatcher, type Authenticator } from './http-auth.js';
import { factsToHeaders, type PeerFacts } from '../ha/peer-facts.js';
import { handleRolloutWrite } from './peer-rollout-routes.js';
import { handleRetryWrite, RETRY_PATH } from './peer-retry-route.js';

interface PeerRouteDeps {
  token: string;
  ledger: () => Ledger;
  facts: (now: number) => PeerFacts;
  /** True while this node puts a snapshot in place: a snapshot now would wait on it. */
  busy: () => boolean;
  logger: Logger;
}

type PeerHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/** The ha token's check (the status server throttles wrong ones like any credential) and the handler behind it. */
export interface PeerEndpoints {
  auth: Authenticator;
  handle: PeerHandler;
}

export function peerRoutes(deps: PeerRouteDeps): PeerEndpoints {
  const allows = tokenMatcher(deps.token);
  const auth: Authenticator = {
    challenge: 'Bearer realm="guesttools-reconciler peer"',
    refusal: 'the peer endpoints need Authorization: Bearer <the token in ha.tokenFile>',
    allows: async (req) => {
      const header = req.headers.authorization ?? '';
      return /^bearer /i.test(header) && allows(header.slice(7).trim());
    },
  };
  // One snapshot at a time: each is a full copy of the ledger on disk until it is sent.
  let sending = false;
  const handle: PeerHandler = async (req, res, url) => {
    const write = url.pathname.startsWith('/ha/rollouts') || url.pathname === RETRY_PATH;
    // A write now would wait on the snapshot being put in place while blocking it (Ledger.replaceWith).
    if (write && deps.busy()) return sendJson(res, 503, { error: 'busy putting a ledger snapshot in place; try again' });
    if (url.pathname === RETRY_PATH) return handleRetryWrite(req, res, deps.ledger(), deps.logger, sendJson);
    if (write && (await handleRolloutWrite(req, res, url.pathname, deps.ledger(), sendJson))) return;
    if (url.pathname !== '/ha/snapshot') {
      return sendJson(res, 404, { error: `no such peer endpoint: ${url.pathname}; expected /ha/snapshot, /ha/rollouts, /ha/rollouts/ID/pause|resume|abort, ${RETRY_PATH}` });
    }
    if (req.method === 'HEAD') {
      // The facts alone: a node that would decline the snapshot learns it without a copy being made.
      const now = Date.now();
      res.writeHead(200, { 'content-type': 'application/vnd.sqlite3', ...factsToHeaders(deps.facts(now)) });
      res.end();
      return;
    }
    if (req.method !== 'GET') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendJson(res, 405, { error: 'GET or HEAD /ha/snapshot' });
    }
    if (sending || deps.busy()) return sendJson(res, 503, { error: 'busy with another snapshot; try again at the next sync' });
    sending = true;
    const ledger = deps.ledger();
    const file = path.join(path.dirname(ledger.path), `.${path.basename(ledger.path)}.ha-snapshot-${randomUUID().slice(0, 8)}`);
    try {
      const now = Date.now();
      const facts = deps.facts(now);
      await ledger.snapshotTo(file);
      const size = fs.statSync(file).size;
      res.writeHead(200, { 'content-type': 'application/vnd.sqlite3', 'content-length': String(size), ...factsToHeaders({ ...facts, snapshotAt: now }) });
      await pipeline(fs.createReadStream(file), res);
    } finally {
      sending = false;
      removeSnapshotFile(file);
    }
  };
  return { auth, handle };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(`${JSON.stringify(body)}\n`);
}
