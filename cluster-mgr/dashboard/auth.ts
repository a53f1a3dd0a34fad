// Bearer-token check for cluster-mgr's HTTP endpoints when they bind a non-loopback address.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** True when the request carries `Authorization: Bearer <token>` (constant-time comparison). */
export function requireBearer(req: Pick<IncomingMessage, 'headers'>, token: string): boolean {
  if (!token) return false;
  const h = req.headers.authorization;
  if (typeof h !== 'string') return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) return false;
  return timingSafeEqual(digest(m[1]!), digest(token));
}

/** Answers 401 and returns false unless the request is authorised (for use at the top of a handler). */
export function bearerGuard(req: IncomingMessage, res: ServerResponse, token: string): boolean {
  if (requireBearer(req, token)) return true;
  res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="cluster-mgr"', 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' });
  res.end('unauthorized: send Authorization: Bearer <token>\n');
  return false;
}

/** True for addresses that only the local host can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
