// One HTTP exchange with the management node: timeouts and the client's AbortSignal on every request,
// the body always consumed (capped), parsed without trusting Content-Type (the MN sends none), and
// transport failures turned into coded errors. Status mapping to ZStack errors lives in reply.ts.
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { GtrError, messageOf } from '../errors.js';
import { zstackErrorOf, type ApiName } from './types.js';

/** 2xx bodies can be big (a page of 1000 VM inventories); anything else is read only for an excerpt. */
const MAX_OK_BODY_BYTES = 256 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;

type ParsedBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'malformed'; text: string; truncated: boolean }
  | { kind: 'text'; text: string; truncated: boolean };

export interface Reply {
  status: number;
  body: ParsedBody;
  /** The MN's Date header (its clock), when it sent one. */
  date?: string;
}

/**
 * Why a request failed, in few values (metric labels): `kind` is `zstack` (the MN's error body; `code`
 * its error code, e.g. ID.1001), `http` (another status; `code` the status), `timeout` or `network`
 * (`code` the socket error, e.g. ECONNREFUSED).
 */
interface RequestFailure {
  kind: 'zstack' | 'http' | 'timeout' | 'network';
  code: string;
}

/** Told about every request that got an answer or failed on the way (not one aborted at shutdown). */
export type RequestObserver = (api: ApiName, method: string, seconds: number, failure: RequestFailure | null) => void;

interface HttpOptions {
  /** Base URL without a trailing slash, e.g. 'http://127.0.0.1:8080'. */
  endpoint: string;
  dispatcher: Dispatcher;
  requestTimeoutMs: number;
  signal?: AbortSignal;
  logger?: Logger;
  /** Removes secrets from any text that may end up in an error message. */
  scrub: (text: string) => string;
  observer?: RequestObserver;
}

export interface SendOptions {
  api: ApiName;
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Path starting with '/', appended to the endpoint. */
  path: string;
  headers?: Record<string, string>;
  json?: unknown;
}

/** Errors that prove the request never left this host, so a PUT cannot have been executed. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER',
]);

export class HttpCore {
  readonly endpoint: string;
  private readonly opts: HttpOptions;

  constructor(opts: HttpOptions) {
    this.opts = opts;
    this.endpoint = opts.endpoint;
    // Every request in flight listens on the shutdown signal and stops listening when it ends: as many
    // listeners as requests in flight (policy.maxConcurrency and more), which is no leak; without this
    // Node warns at 11 (MaxListenersExceededWarning).
    if (opts.signal) setMaxListeners(0, opts.signal);
  }

  get signal(): AbortSignal | undefined {
    return this.opts.signal;
  }

  get logger(): Logger | undefined {
    return this.opts.logger;
  }

  get scrub(): (text: string) => string {
    return this.opts.scrub;
  }

  /** Sends one request and reads its body. Throws GTR_ZSTACK_UNREACHABLE / GTR_ABORTED on transport failure. */
  async send(req: SendOptions): Promise<Reply> {
    const { api, method, path } = req;
    const { requestTimeoutMs, logger } = this.opts;
    this.throwIfAborted(api);
    const started = performance.now();
    // Timeouts are undici's own (connect on the Agent, headers and body here) and the signal is the
    // client's long-lived one: no AbortController, timer or listener of our own per request. Those
    // lived as long as the request, so at 50 attaches in flight most survived two scavenges and were
    // promoted; the old generation grew ~9 MB/s until a major GC (README Performance).
    const headers: Record<string, string> = { ...req.headers };
    let body: string | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    }
    try {
      const res = await request(`${this.endpoint}${path}`, {
        dispatcher: this.opts.dispatcher,
        method,
        headers,
        body,
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
        signal: this.opts.signal,
      });
      const cap = res.statusCode >= 200 && res.statusCode < 300 ? MAX_OK_BODY_BYTES : MAX_ERROR_BODY_BYTES;
      const { text, truncated } = await readCapped(res.body, cap);
      const reply: Reply = { status: res.statusCode, body: parseBody(text, truncated) };
      if (typeof res.headers.date === 'string') reply.date = res.headers.date;
      this.opts.observer?.(api, method, (performance.now() - started) / 1000, reply.status >= 400 ? replyFailure(reply) : null);
      if (logger?.isLevelEnabled('debug')) logger.debug({ api, method, status: reply.status, ms: Math.round(performance.now() - started) }, 'zstack request');
      return reply;
    } catch (err) {
      const code = errorCode(err);
      if (!this.opts.signal?.aborted) this.opts.observer?.(api, method, (performance.now() - started) / 1000, { kind: TIMEOUT_CODES.has(code) ? 'timeout' : 'network', code });
      if (logger?.isLevelEnabled('debug')) logger.debug({ api, method, status: null, ms: Math.round(performance.now() - started), error: code }, 'zstack request failed');
      throw this.transportError(api, method, err);
    }
  }

  throwIfAborted(api: ApiName): void {
    if (this.opts.signal?.aborted) {
      throw new GtrError('GTR_ABORTED', `${api}: aborted before the request was sent`, { details: { api, sent: false } });
    }
  }

  private transportError(api: ApiName, method: string, err: unknown): GtrError {
    if (err instanceof GtrError) return err;
    const code = errorCode(err);
    const sent = !NOT_SENT_CODES.has(code);
    const details = { api, method, endpoint: this.endpoint, cause: code, sent };
    if (this.opts.signal?.aborted) {
      return new GtrError('GTR_ABORTED', `${api}: request to ${this.endpoint} aborted`, { cause: err, details });
    }
    const what = TIMEOUT_CODES.has(code)
      ? `timed out after ${this.opts.requestTimeoutMs} ms`
      : code === 'ERR_SSL_WRONG_VERSION_NUMBER' && this.endpoint.startsWith('https:')
        // OpenSSL's own text ("SSL routines:ssl3_get_record:wrong version number") says nothing to an operator.
        ? 'zstack.endpoint is https:// but the server there answers plain HTTP (no TLS); use http:// in zstack.endpoint, or enable TLS on the management node'
        : this.opts.scrub(errorText(err));
    return new GtrError('GTR_ZSTACK_UNREACHABLE', `${api}: cannot reach the management node at ${this.endpoint}: ${what} (${code})`, {
      cause: err,
      details,
    });
  }
}

const TIMEOUT_CODES = new Set(['TimeoutError', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** A ZStack error code as the MN writes them (`SYS.1006`, `ID.1001`); anything else is not a label value. */
const ZSTACK_CODE = /^[A-Z][A-Z0-9_]{0,23}\.\d{1,6}$/;

/** The failure of a reply with status >= 400: the MN's error code when its body has a plausible one, else the status. */
function replyFailure(reply: Reply): RequestFailure {
  const code = reply.body.kind === 'json' ? zstackErrorOf(reply.body.value)?.code : undefined;
  return code !== undefined && ZSTACK_CODE.test(code) ? { kind: 'zstack', code } : { kind: 'http', code: String(reply.status) };
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }, cap: number): Promise<{ text: string; truncated: boolean }> {
  // Most replies (every attach, every job poll) arrive in one chunk: decode it as is, no array or copy.
  let first: Buffer | null = null;
  let chunks: Buffer[] | null = null;
  let size = 0;
  let truncated = false;
  for await (const chunk of body) {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    if (size + buf.length > cap) {
      buf = buf.subarray(0, cap - size);
      truncated = true;
    }
    if (first === null) first = buf;
    else (chunks ??= [first]).push(buf);
    size += buf.length;
    if (truncated) break; // leaving the loop destroys the stream; the connection is not reused
  }
  const text = chunks !== null ? Buffer.concat(chunks, size).toString('utf8') : first === null ? '' : first.toString('utf8');
  return { text, truncated };
}

/** Empty body = `{}` (the MN writes empty ApiResponses as nothing), `{...}` = JSON, anything else = text. */
function parseBody(text: string, truncated = false): ParsedBody {
  const trimmed = text.trim();
  if (trimmed === '' && !truncated) return { kind: 'json', value: {} };
  if (!trimmed.startsWith('{')) return { kind: 'text', text, truncated };
  if (truncated) return { kind: 'malformed', text, truncated };
  try {
    return { kind: 'json', value: JSON.parse(trimmed) as unknown };
  } catch {
    return { kind: 'malformed', text, truncated };
  }
}

/** The innermost meaningful error code of a transport failure (undici wraps socket errors). */
export function errorCode(err: unknown): string {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur instanceof Error; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'UND_ERR_ABORTED' && code !== 'ABORT_ERR') return code;
    if (cur.name === 'TimeoutError') return 'TimeoutError';
    const nested = cur instanceof AggregateError && cur.errors.length > 0 ? cur.errors[0] : cur.cause;
    if (nested === undefined) return typeof code === 'string' ? code : cur.name;
    cur = nested;
  }
  return cur instanceof Error ? cur.name : 'unknown';
}

function errorText(err: unknown): string {
  const text = messageOf(err);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** A short single-line excerpt of a body for error messages. */
export function excerpt(body: ParsedBody, max = 200): string {
  const empty = body.kind === 'json' && typeof body.value === 'object' && body.value !== null && Object.keys(body.value).length === 0;
  const text = body.kind === 'json' ? (empty ? '' : JSON.stringify(body.value) ?? '') : body.text;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}
