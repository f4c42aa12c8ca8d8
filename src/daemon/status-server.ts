// The daemon's read-only HTTP endpoint: /healthz, /metrics, /api/status, /api/runs, /api/rollouts. GET only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GtrError } from '../errors.js';

export interface Health {
  ok: boolean;
  [fact: string]: unknown;
}

export interface StatusRoutes {
  health(): Health;
  metrics(): Promise<{ contentType: string; body: string }>;
  status(): unknown;
  runs(limit: number): unknown;
  rollouts?(): unknown;
}

export function parseListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[|\]$/g, '');
  return { host, port: Number(listen.slice(at + 1)) };
}

export async function startStatusServer(listen: string, routes: StatusRoutes): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const { host, port } = parseListen(listen);
  const server = createServer((req, res) => {
    handle(req, res, routes).catch((error: unknown) => {
      send(res, 500, { error: error instanceof Error ? error.message : String(error) });
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

async function handle(req: IncomingMessage, res: ServerResponse, routes: StatusRoutes): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://status.local');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, { error: 'read-only endpoint: only GET is allowed' });
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
    default:
      return send(res, 404, { error: `no such endpoint: ${url.pathname}; try /healthz, /metrics, /api/status, /api/runs, /api/rollouts` });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(`${JSON.stringify(body)}\n`);
}
