// A `fetch` that trusts one extra CA (the bootstrap registry's), on node:https: Node 20's global fetch
// takes no per-call CA without the undici package. Only what RegistryClient uses: method, headers,
// a byte body, a timeout signal, redirects for GET/HEAD.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';

const NO_BODY = new Set([101, 204, 205, 304]);

export function fetchTrusting(ca: string): typeof fetch {
  const once = (url: URL, init: RequestInit): Promise<{ res: IncomingMessage; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        { method: init.method ?? 'GET', headers: init.headers as Record<string, string> | undefined, ca, signal: init.signal ?? undefined },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(init.body === undefined || init.body === null ? undefined : Buffer.from(init.body as Uint8Array));
    });
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    let url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    for (let hop = 0; ; hop++) {
      const { res, body } = await once(url, init);
      const status = res.statusCode ?? 0;
      const method = (init.method ?? 'GET').toUpperCase();
      if (status >= 300 && status < 400 && res.headers.location && (method === 'GET' || method === 'HEAD') && hop < 5) {
        url = new URL(res.headers.location, url);
        continue;
      }
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      return new Response(NO_BODY.has(status) || method === 'HEAD' ? null : body, { status, statusText: res.statusMessage ?? '', headers });
    }
  }) as typeof fetch;
}
