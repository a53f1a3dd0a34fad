// Proves the cuttable path (netpath.ts): bytes reach a loopback echo server through it; cut, an open
// connection and a new one stall (no data, no reset) instead of failing fast; restored, both resume
// and new ones work; stop() leaves no namespace behind.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listLabNamespaces, requireTools, waitFor } from './index';
import { startCutPath } from './netpath';

interface Conn {
  readonly sock: Socket;
  /** Everything received so far. */
  received: string;
  closed: boolean;
}

function open(host: string, port: number): Conn {
  const sock = connect({ host, port });
  const c: Conn = { sock, received: '', closed: false };
  sock.on('data', (b: Buffer) => (c.received += b.toString()));
  sock.on('close', () => (c.closed = true));
  sock.on('error', () => (c.closed = true));
  return c;
}

/** A deliberate observation window: what `c` received during `ms` after writing `text`. */
async function quietFor(c: Conn, text: string, ms: number): Promise<string> {
  const before = c.received.length;
  c.sock.write(text);
  await new Promise((r) => setTimeout(r, ms));
  return c.received.slice(before);
}

const echoed = (c: Conn, text: string) => waitFor(() => c.received.includes(text) || (c.closed ? Promise.reject(new Error('connection closed')) : false), { timeoutMs: 20_000, what: `${JSON.stringify(text)} echoed` });

describe('a cuttable path through network namespaces', () => {
  it('carries bytes; cut → stalls without a reset; restored → the same connections resume', async (ctx) => {
    requireTools(ctx, ['ip', 'socat', 'ss'], { root: true });
    const echo: Server = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const port = (echo.address() as { port: number }).port;
    const path = await startCutPath({ host: '127.0.0.1', port }, 'pathtest');
    const conns: Conn[] = [];
    const conn = () => {
      const c = open(path.host, path.port);
      conns.push(c);
      return c;
    };
    try {
      const c1 = conn();
      c1.sock.write('hello\n');
      await echoed(c1, 'hello\n');

      await path.cut();
      // Cut: nothing comes back and nothing is reset — on the open connection and on a new one.
      expect(await quietFor(c1, 'stalled\n', 1500)).toBe('');
      const c2 = conn();
      expect(await quietFor(c2, 'new\n', 1500)).toBe('');
      expect([c1.closed, c2.closed]).toEqual([false, false]);

      await path.restore();
      // TCP retransmits once the address is back: the stalled bytes arrive on the same connections.
      await echoed(c1, 'stalled\n');
      await echoed(c2, 'new\n');
      const c3 = conn();
      c3.sock.write('again\n');
      await echoed(c3, 'again\n');
      expect(conns.map((c) => c.closed)).toEqual([false, false, false]);
    } finally {
      for (const c of conns) c.sock.destroy();
      await path.stop();
      await new Promise((r) => echo.close(r));
    }
    expect(listLabNamespaces().filter((n) => n.startsWith(`flt${process.pid}x`))).toEqual([]);
  }, 60_000);
});
