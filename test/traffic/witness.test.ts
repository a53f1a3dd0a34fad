// HttpWitness: the second vantage point's verdicts (up / down / unknown) from a loopback witness.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpWitness, witnessUrl } from '../../cluster-mgr/adapters/witness';
import { freePort } from '../lab/index';

describe('HttpWitness', () => {
  let server: Server;
  let base: string;
  const seenAuth: (string | undefined)[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seenAuth.push(req.headers.authorization);
      const m = new URL(req.url!, 'http://x').searchParams.get('member') ?? req.url!.split('/').pop();
      if (m === 'up') return res.end('ok');
      if (m === 'down') return res.writeHead(503).end('down');
      if (m === 'json-down') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"up":false}');
      if (m === 'slow') return setTimeout(() => res.end('ok'), 5000);
      res.writeHead(500).end('witness broken');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('maps answers to up / down / unknown', async () => {
    const w = new HttpWitness({ url: `${base}/check`, timeoutMs: 1500 });
    expect(await w.checkAll(['up', 'down', 'json-down', 'broken', 'slow'])).toEqual({ up: true, down: false, 'json-down': false, broken: undefined, slow: undefined });
  });

  it('path placeholder, credentials as basic auth', async () => {
    const w = new HttpWitness({ url: `http://u:p@127.0.0.1:${new URL(base).port}/members/{member}` });
    expect(await w.check('up')).toBe(true);
    expect(seenAuth.at(-1)).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(String(w)).not.toContain(':p@');
  });

  it('an unreachable witness is unknown, not down', async () => {
    const w = new HttpWitness({ url: `http://127.0.0.1:${await freePort()}/`, timeoutMs: 300 });
    expect(await w.check('up')).toBeUndefined();
  });

  it('builds URLs', () => {
    expect(witnessUrl('http://w/check?site=bj1', 'a b')).toBe('http://w/check?site=bj1&member=a+b');
    expect(witnessUrl('http://w/m/{member}', 'a b')).toBe('http://w/m/a%20b');
  });
});
