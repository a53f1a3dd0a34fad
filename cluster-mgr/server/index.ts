// cluster-mgr's HTTP side: /healthz, /readyz, /metrics (Prometheus text), /api/state (JSON), and `/`
// (the dashboard page when cluster-mgr/dashboard provides one, a placeholder otherwise).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { requireBearer } from '../dashboard/auth';

export interface ServerSource {
  ready(): boolean;
  state(): Record<string, unknown>;
  readonly metrics: { readonly registry: Registry };
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses `HOST:PORT`, `:PORT` or `PORT`. */
export function parseListen(addr: string): ListenAddress | undefined {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[^:]*):)?(\d{1,5})$/.exec(addr.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { host, port };
}

type Page = (state: Record<string, unknown>) => string;

async function loadDashboard(): Promise<Page | undefined> {
  const modPath = '../dashboard/index';
  try {
    const mod = (await import(/* @vite-ignore */ modPath)) as Record<string, unknown>;
    const fn = (mod.renderDashboard ?? mod.dashboardHtml ?? mod.default) as Page | undefined;
    return typeof fn === 'function' ? fn : undefined;
  } catch {
    return undefined;
  }
}

const PLACEHOLDER = `<!doctype html><html><head><meta charset="utf-8"><title>cluster-mgr</title></head>
<body><h1>cluster-mgr</h1><p>State: <a href="/api/state">/api/state</a> · Metrics: <a href="/metrics">/metrics</a></p></body></html>`;

export interface ServerOptions {
  /**
   * Bearer token required on /api/state and /metrics (cluster-mgr requires one when it listens on a
   * non-loopback address). The page at `/` is then served without embedded state; open it as
   * `/#token=TOKEN`. /healthz and /readyz stay open (probes). @default - no auth (loopback only)
   */
  readonly token?: string;
}

export async function startServer(src: ServerSource, addr: ListenAddress, opts: ServerOptions = {}): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const page = await loadDashboard();
  const token = opts.token;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    const authorised = token === undefined || requireBearer(req, token);
    if (!authorised && (url.pathname === '/api/state' || url.pathname === '/metrics')) {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="cluster-mgr"', 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' });
      res.end('unauthorized: send Authorization: Bearer <token> (the dashboard: open /#token=TOKEN)\n');
      return;
    }
    switch (url.pathname) {
      case '/healthz':
        return send(200, 'text/plain', 'ok\n');
      case '/readyz':
        return src.ready() ? send(200, 'text/plain', 'ok\n') : send(503, 'text/plain', 'not ready: informers not synced\n');
      case '/metrics':
        src.metrics.registry.metrics().then(
          (text) => send(200, src.metrics.registry.contentType, text),
          (err: Error) => send(500, 'text/plain', `${err.message}\n`),
        );
        return;
      case '/api/state':
        return send(200, 'application/json', `${JSON.stringify(src.state(), null, 2)}\n`);
      case '/':
        try {
          // Never embed state for a request that has not proven the token.
          return send(200, 'text/html; charset=utf-8', page ? (token === undefined ? page(src.state()) : (page as (s?: Record<string, unknown>) => string)(undefined)) : PLACEHOLDER);
        } catch {
          return send(200, 'text/html; charset=utf-8', PLACEHOLDER);
        }
      default:
        return send(404, 'text/plain', 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    server,
    url: `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
