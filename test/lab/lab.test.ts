// Proves the lab helpers: two namespace hosts on a bridge ping each other; a daemon started in one
// is reachable from the other; teardown leaves no namespace or process behind.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { canConnect, createLab, freePort, freePorts, listLabNamespaces, pendingCleanups, requireTools, run, startDaemon, waitFor, waitForPort } from './index';

describe('test lab', () => {
  it('two netns hosts ping each other and teardown leaves nothing behind', async (ctx) => {
    requireTools(ctx, ['ip', 'ping', 'socat'], { root: true });
    const lab = await createLab();
    let daemon: ReturnType<typeof startDaemon> | undefined;
    try {
      const a = await lab.addHost('a', 1);
      const b = await lab.addHost('b', 2);
      expect(listLabNamespaces()).toEqual(expect.arrayContaining(lab.namespaces()));

      const ping = await a.exec('ping', ['-c', '1', '-W', '2', b.address]);
      expect(ping.code, ping.stdout + ping.stderr).toBe(0);
      const back = await b.exec('ping', ['-c', '1', '-W', '2', a.address]);
      expect(back.code).toBe(0);

      // The root namespace does not see lab addresses.
      const rootAddrs = await run('ip', ['-4', 'addr']);
      expect(rootAddrs.stdout).not.toContain(a.address);

      // A daemon inside host b, reachable from host a. (Never connect to lab addresses from the root
      // namespace: there they are not ours.)
      const d = startDaemon({ name: 'echo', command: 'socat', args: ['TCP-LISTEN:7000,fork,reuseaddr', 'EXEC:cat'], netns: b.netns });
      daemon = d;
      await waitFor(async () => (await a.exec('socat', ['-T', '1', '-', `TCP:${b.address}:7000`], { input: 'hi\n' })).stdout === 'hi\n', {
        what: 'echo from host b',
        timeoutMs: 5000,
      });

      // A link pulled: host a can no longer reach b.
      await b.linkDown();
      const lost = await a.exec('ping', ['-c', '1', '-W', '1', b.address]);
      expect(lost.code).not.toBe(0);
      await b.linkUp();
    } finally {
      await lab.destroy();
    }
    expect(listLabNamespaces().filter((n) => n.startsWith(lab.id))).toEqual([]);
    // Destroying the lab killed the daemon left running inside it.
    await waitFor(() => daemon && !daemon.isRunning(), { what: 'daemon in destroyed namespace to exit', timeoutMs: 5000 });
    await daemon!.stop();
    expect(pendingCleanups().filter((l) => l.includes(lab.id))).toEqual([]);
  });

  it('daemon helper: private dir, readiness, stop removes the process', async (ctx) => {
    requireTools(ctx, ['socat']);
    const port = await freePort();
    const d = startDaemon({ name: 'loop', command: 'socat', args: [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, 'EXEC:cat'] });
    await waitForPort('127.0.0.1', port, { timeoutMs: 5000 });
    expect(d.isRunning()).toBe(true);
    await d.stop();
    expect(d.isRunning()).toBe(false);
    expect(await canConnect('127.0.0.1', port, 300)).toBe(false);
  });

  it('freePort hands out distinct bindable ports below the ephemeral range and skips taken ones', async () => {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports = await freePorts(12);
    expect(new Set(ports).size).toBe(12);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(10_000);
      expect(p).toBeLessThan(low);
    }
    // Take the next few ports of the walk (consecutive after the last one, modulo the slice): they are skipped.
    const held: Server[] = [];
    try {
      const last = ports[ports.length - 1]!;
      for (let p = last + 1; p <= last + 3; p++) {
        const srv = createServer();
        await new Promise<void>((res) => srv.once('error', () => res()).listen(p, '127.0.0.1', () => res()));
        if (srv.listening) held.push(srv);
      }
      const taken = new Set(held.map((s) => (s.address() as { port: number }).port));
      const next = await freePort();
      expect(taken.has(next)).toBe(false);
      const srv = createServer();
      await new Promise<void>((res, rej) => srv.once('error', rej).listen(next, '127.0.0.1', () => res()));
      held.push(srv);
    } finally {
      await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('waitFor fails with the named condition at its deadline', async () => {
    await expect(waitFor(() => false, { timeoutMs: 100, what: 'the impossible' })).rejects.toThrow(/the impossible/);
  });
});
