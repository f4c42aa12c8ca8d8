// The daemon's read-only HTTP endpoint: /healthz, /metrics, the JSON twins of
// `gtr status|runs|rollout --json` under /api/, and the HTML status page. GET and HEAD only; with
// http.auth.* configured every endpoint asks for credentials. The one exception: the peer endpoints of
// a pair of management nodes under /ha/ (src/daemon/peer-routes.ts), which take the ha token instead.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GtrError, messageOf } from '../errors.js';
import { createAuthThrottle, DEFAULT_THROTTLE, type AuthThrottle } from './auth-throttle.js';
import type { Authenticator } from './http-auth.js';
import type { PeerEndpoints } from './peer-routes.js';
import type { runJson, runPageJson, runsJson } from '../views/history.js';
import type { statusJson } from '../views/status.js';
import type { needsAttentionJson } from '../views/attention.js';

export interface Health {
  ok: boolean;
  [fact: string]: unknown;
}

export interface StatusRoutes {
  health(): Health;
  metrics(): Promise<{ contentType: string; body: string }>;
  status(): ReturnType<typeof statusJson>;
  runs(limit: number): ReturnType<typeof runsJson>;
  /** One run with its stored decisions, null when there is no such run. */
  run(id: number): ReturnType<typeof runJson> | null;
  rollouts?(): unknown;
  /** One page of a run's decisions for the status page, filtered by action and reason; null: no such run. */
  runPage(id: number, filter: { action: string | null; reason: string | null }, page: number): ReturnType<typeof runPageJson> | null;
  /** Page N of the needs-attention list (page 1 is in status()). */
  attention(page: number): ReturnType<typeof needsAttentionJson>;
}

/** An HTML page of the status site: null when the path is not one of its pages. */
export type PageRenderer = (url: URL, routes: StatusRoutes) => { status: number; html: string; csp: string } | null;

interface StatusServerOptions {
  /** null: no credentials asked (only allowed on loopback addresses, see src/config/secrets.ts). */
  auth: Authenticator | null;
  pages?: PageRenderer;
  /** The peer endpoints under /ha/ (src/daemon/peer-routes.ts): their own token, not http.auth.*; absent: 404. */
  peer?: PeerEndpoints;
}

// Every answer: never sniffed, never cached, never framed, no referrer leaves the page.
const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
const JSON_CSP = "default-src 'none'; frame-ancestors 'none'";
const RUN_PATH = /^\/api\/runs\/([^/]+)$/;

function parseListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[|\]$/g, '');
  return { host, port: Number(listen.slice(at + 1)) };
}

export async function startStatusServer(listen: string, routes: StatusRoutes, opts: StatusServerOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const { host, port } = parseListen(listen);
  // Wrong credentials: 10 a minute from one client, then 429 for 60 s (README "Status page").
  const throttle = createAuthThrottle(DEFAULT_THROTTLE);
  const server = createServer((req, res) => {
    for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value);
    handle(req, res, routes, opts, throttle).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: messageOf(error) });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new GtrError('GTR_CONFIG_INVALID', `http.listen: cannot listen on ${listen}: ${error.code ?? error.message}`, { cause: error })),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A positive integer query or path parameter, else null. */
export function positiveParam(text: string | null): number | null {
  return text !== null && /^[1-9]\d{0,14}$/.test(text) ? Number(text) : null;
}

/**
 * With http.auth.*: a client refused for wrong credentials gets 429 and nothing it sends is checked;
 * otherwise wrong credentials count against it (a request without any, a browser's first, does not)
 * and accepted ones clear its count. Nothing is ever delayed.
 */
async function authorize(req: IncomingMessage, res: ServerResponse, auth: Authenticator, throttle: AuthThrottle): Promise<boolean> {
  const client = req.socket.remoteAddress;
  const now = Date.now();
  const wait = throttle.retryAfter(client, now);
  if (wait > 0) {
    res.setHeader('Retry-After', String(wait));
    send(res, 429, { error: `too many requests with wrong credentials from this address: try again in ${wait} s` });
    return false;
  }
  if (await auth.allows(req)) {
    throttle.succeeded(client);
    return true;
  }
  if (req.headers.authorization !== undefined) throttle.failed(client, now);
  res.setHeader('WWW-Authenticate', auth.challenge);
  send(res, 401, { error: auth.refusal ?? 'credentials required: see http.auth.tokenFile / http.auth.basicFile' });
  return false;
}

async function handle(req: IncomingMessage, res: ServerResponse, routes: StatusRoutes, opts: StatusServerOptions, throttle: AuthThrottle): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://status.local');
  // The peer endpoints answer to the ha token only: http.auth credentials do not open them.
  if (url.pathname === '/ha' || url.pathname.startsWith('/ha/')) {
    if (!opts.peer) return send(res, 404, { error: 'no peer endpoints here: ha.peer and ha.tokenFile are not configured on this node' });
    if (!(await authorize(req, res, opts.peer.auth, throttle))) return;
    return opts.peer.handle(req, res, url);
  }
  if (opts.auth && !(await authorize(req, res, opts.auth, throttle))) return;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, { error: 'read-only endpoint: only GET is allowed' });
  }
  const runMatch = RUN_PATH.exec(url.pathname);
  if (runMatch) {
    const id = positiveParam(runMatch[1] ?? null);
    if (id === null) return send(res, 400, { error: `run id: expected a positive integer, got ${JSON.stringify(runMatch[1])}` });
    const run = routes.run(id);
    return run ? send(res, 200, run) : send(res, 404, { error: `no run with id ${id}; see /api/runs for the ids` });
  }
  switch (url.pathname) {
    case '/healthz': {
      const health = routes.health();
      return send(res, health.ok ? 200 : 503, health);
    }
    case '/metrics': {
      const { contentType, body } = await routes.metrics();
      res.writeHead(200, { 'content-type': contentType });
      res.end(body);
      return;
    }
    case '/api/status':
      return send(res, 200, routes.status());
    case '/api/runs': {
      const limit = Number(url.searchParams.get('limit') ?? 20);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return send(res, 400, { error: 'limit: expected an integer from 1 to 1000' });
      return send(res, 200, routes.runs(limit));
    }
    case '/api/rollouts':
      if (routes.rollouts) return send(res, 200, routes.rollouts());
      return send(res, 404, { error: 'no rollouts here' });
  }
  const page = opts.pages?.(url, routes);
  if (page) {
    res.writeHead(page.status, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': page.csp });
    res.end(page.html);
    return;
  }
  return send(res, 404, { error: `no such endpoint: ${url.pathname}; try /, /healthz, /metrics, /api/status, /api/runs, /api/runs/ID, /api/rollouts` });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-security-policy': JSON_CSP });
  res.end(`${JSON.stringify(body)}\n`);
}
