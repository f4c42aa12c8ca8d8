// Calls to the peer node's daemon (ha.peer): its ledger snapshot and its rollout commands. Every call
// carries the shared ha token and has a timeout; errors name the peer and what went wrong, never the
// token.
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import { backoffMs, type RetryPolicy } from '../zstack/retry.js';
import { factsFromHeaders, type PeerFacts } from './peer-facts.js';

/** Connecting and the answer's headers; a snapshot body may take longer (see BODY_TIMEOUT_MS). */
const PEER_TIMEOUT_MS = 10_000;
const BODY_TIMEOUT_MS = 60_000;

export interface Peer {
  /** The peer daemon's base URL (ha.peer). */
  url: string;
  token: string;
}

export class PeerError extends Error {
  /** The peer answered 503: it is up and busy (putting a snapshot in place, or sending one): ask again, it is no outage. */
  constructor(message: string, readonly busy = false) {
    super(message);
  }
}

/** A snapshot answer whose headers are read: save its body to a file, or drop it. */
export interface SnapshotOffer {
  facts: PeerFacts;
  save(file: string): Promise<void>;
  discard(): Promise<void>;
}

/** What the peer says about its ledger (HEAD /ha/snapshot), without a snapshot being made. */
export async function peerFacts(peer: Peer): Promise<PeerFacts> {
  const res = await call(peer, 'HEAD', '/ha/snapshot', undefined);
  if (res.statusCode !== 200) throw new PeerError(await refusal(peer, res), res.statusCode === 503);
  await res.body.dump();
  const facts = factsFromHeaders(res.headers);
  if (typeof facts === 'string') throw new PeerError(`${peer.url}: ${facts}`);
  return facts;
}

export async function offerSnapshot(peer: Peer): Promise<SnapshotOffer> {
  const res = await call(peer, 'GET', '/ha/snapshot', undefined);
  if (res.statusCode !== 200) throw new PeerError(await refusal(peer, res), res.statusCode === 503);
  const facts = factsFromHeaders(res.headers);
  if (typeof facts === 'string') {
    await res.body.dump();
    throw new PeerError(`${peer.url}: ${facts}`);
  }
  return {
    facts,
    save: async (file) => {
      try {
        await pipeline(res.body, fs.createWriteStream(file, { flags: 'wx', mode: 0o640 }));
      } catch (error) {
        throw new PeerError(`${peer.url}: the snapshot download broke off (${describe(error)})`);
      }
    },
    discard: () => res.body.dump(),
  };
}

/** A peer busy putting a snapshot in place is free again within seconds: this many retries, then its 503 is the answer. */
const BUSY_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 2000 };

/**
 * POSTs a JSON command to the peer; the parsed JSON answer of a 2xx, else a PeerError saying why.
 * Every command is idempotent on the peer (a second one answers "already"), so a 503 (busy) is asked again.
 */
export async function postToPeer(peer: Peer, path: string, body: unknown): Promise<unknown> {
  let res = await call(peer, 'POST', path, JSON.stringify(body));
  for (let retry = 0; res.statusCode === 503 && retry < BUSY_RETRY.attempts; retry++) {
    await res.body.dump();
    await delay(backoffMs(BUSY_RETRY, retry));
    res = await call(peer, 'POST', path, JSON.stringify(body));
  }
  if (res.statusCode < 200 || res.statusCode > 299) throw new PeerError(await refusal(peer, res), res.statusCode === 503);
  try {
    return await res.body.json();
  } catch (error) {
    throw new PeerError(`${peer.url}: the answer is not JSON (${describe(error)})`);
  }
}

async function call(peer: Peer, method: 'GET' | 'HEAD' | 'POST', path: string, body: string | undefined) {
  try {
    return await request(new URL(path, peer.url), {
      method,
      headers: { authorization: `Bearer ${peer.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body,
      headersTimeout: PEER_TIMEOUT_MS,
      bodyTimeout: BODY_TIMEOUT_MS,
      signal: AbortSignal.timeout(PEER_TIMEOUT_MS + BODY_TIMEOUT_MS),
    });
  } catch (error) {
    throw new PeerError(`${peer.url} is unreachable (${describe(error)})`);
  }
}

async function refusal(peer: Peer, res: Awaited<ReturnType<typeof request>>): Promise<string> {
  const text = (await res.body.text().catch(() => '')).slice(0, 300);
  let said = text;
  try {
    said = String((JSON.parse(text) as { error?: unknown }).error ?? text);
  } catch {
    // not JSON: the text as it is
  }
  const hint = res.statusCode === 401 ? ': the two nodes\' ha.tokenFile hold different tokens'
    : res.statusCode === 404 ? ': the peer has no ha.peer / ha.tokenFile configured, or runs an older gtr' : '';
  return `${peer.url} answered HTTP ${res.statusCode}${hint}${said ? ` (${said.trim()})` : ''}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const cause = (error as { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? `: ${cause.message}` : '';
    return `${typeof code === 'string' ? `${code}: ` : ''}${error.message}${causeText}`;
  }
  return String(error);
}
