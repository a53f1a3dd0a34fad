// Helpers for the traffic tests: tiny loopback HTTP backends that answer with their name, and a
// bounded load generator that counts failures.
import { createServer, request, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  readonly name: string;
  readonly port: number;
  hits: number;
  close(): Promise<void>;
}

export async function startBackend(name: string, port = 0): Promise<Backend> {
  const b = { name, port: 0, hits: 0 } as Backend;
  const server: Server = createServer((req, res) => {
    // Health checks (/healthz) are not traffic.
    if (req.url !== '/healthz') b.hits++;
    req.resume();
    res.setHeader('content-type', 'text/plain');
    res.end(`${name}\n`);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  (b as { port: number }).port = (server.address() as AddressInfo).port;
  b.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return b;
}

export interface LoadResult {
  readonly durationMs: number;
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly errors: string[];
  readonly byBody: Record<string, number>;
  /** Bodies of the last 100 successful requests, in completion order. */
  readonly tail: readonly string[];
}

/** One GET; resolves the body or rejects (non-2xx counts as failure). */
export function get(url: string, agent?: Agent, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode && res.statusCode < 300 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 100)}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Sends `total` GETs with `concurrency` workers; `at.run` is called once when request `at.index` is
 * about to be sent (to inject a change mid-load). Bounded in count and by `deadlineMs`.
 */
export async function runLoad(o: {
  url: string;
  /** @default 2000 (the traffic tests' standard load) */
  total?: number;
  /** @default 8 */
  concurrency?: number;
  /** @default 30_000 */
  deadlineMs?: number;
  /** Retries per request on connection reset/refused (idempotent GET). @default 0 */
  retries?: number;
  /** Spread the requests evenly over about this long (a paced load, so a fault lands mid-load). */
  spreadOverMs?: number;
  at?: { index: number; run: () => Promise<void> };
}): Promise<LoadResult & { atDone?: Promise<void> }> {
  const opts = { total: 2000, concurrency: 8, deadlineMs: 30_000, ...o };
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const deadline = performance.now() + opts.deadlineMs;
  let next = 0;
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  const byBody: Record<string, number> = {};
  const tail: string[] = [];
  let atDone: Promise<void> | undefined;
  const start = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= opts.total || performance.now() > deadline) return;
      if (opts.spreadOverMs) {
        const due = start + (i * opts.spreadOverMs) / opts.total;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      if (opts.at && i === opts.at.index) atDone = opts.at.run();
      let attempt = 0;
      for (;;) {
        try {
          const body = await get(opts.url, agent);
          ok++;
          byBody[body] = (byBody[body] ?? 0) + 1;
          tail.push(body);
          if (tail.length > 100) tail.shift();
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? '';
          if (attempt < (opts.retries ?? 0) && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE'].includes(code)) {
            attempt++;
            continue;
          }
          failed++;
          if (errors.length < 10) errors.push((err as Error).message);
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  if (atDone) await atDone;
  agent.destroy();
  return { sent: Math.min(next, opts.total), ok, failed, errors, byBody, tail, durationMs: performance.now() - start };
}
