// Free TCP port allocation on loopback.
//
// A port handed out here is released before the daemon under test binds it, so something else could
// take it in between. Two things keep that from happening:
// - ports come from below the kernel's ephemeral range (net.ipv4.ip_local_port_range), which every
//   listen(0) and every outgoing connection on the machine draws from, so only other callers of this
//   function compete for them;
// - each vitest worker (VITEST_POOL_ID) has its own slice of that range and walks it in order, so two
//   workers never hand out the same port, and one worker reuses a port only after a full lap.
// Every candidate is still test-bound before it is returned.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const SLICES = 16;
const FLOOR = 10_000;

interface Walk {
  readonly from: number;
  readonly size: number;
  next: number;
}

let walk: Walk | undefined | null;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** This process's slice of the ports below the ephemeral range; null when there is no room for one. */
function slice(): Walk | null {
  if (walk !== undefined) return walk;
  const size = Math.floor((ephemeralLow() - FLOOR) / SLICES);
  if (size < 64) return (walk = null);
  const pool = Number(process.env.VITEST_POOL_ID);
  const index = Number.isInteger(pool) && pool > 0 ? pool % SLICES : Math.floor(Math.random() * SLICES);
  const from = FLOOR + index * size;
  return (walk = { from, size, next: Math.floor(Math.random() * size) });
}

function tryListen(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen({ port, host, exclusive: true }, () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : undefined;
      srv.close(() => resolve(got));
    });
  });
}

/** A free port on `host` (default 127.0.0.1), released for the caller to bind. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const w = slice();
  if (w) {
    for (let i = 0; i < w.size; i++) {
      const port = w.from + (w.next++ % w.size);
      if ((await tryListen(port, host)) !== undefined) return port;
    }
  }
  // No room below the ephemeral range (or all of this slice is taken): let the kernel pick.
  const port = await tryListen(0, host);
  if (port === undefined) throw new Error(`no free TCP port on ${host}`);
  return port;
}

/** Several distinct free ports. */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort(host));
  return [...out];
}
