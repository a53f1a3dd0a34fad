// Real behaviour (c): HAProxy with a front config rendered by renderFrontHaproxy in front of two
// loopback member backends (separate node processes). Under a bounded load of 2,400 requests one
// member is killed (SIGKILL) mid-load: 0 requests fail, thanks to the rendered health checks,
// retries, redispatch and retry-on. Loopback only.
import { request, Agent } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { renderFrontHaproxy } from '../../infra/render/index';
import { freePorts, makeDir, requireTools, run, startDaemon, waitFor, waitForLog, waitForPort, type Daemon } from '../lab/index';

const TOTAL = 2400;
const KILL_AFTER = 600;
const CONCURRENCY = 8;
const DEADLINE_MS = 60_000;

function get(port: number, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('front HAProxy (real haproxy, loopback members)', () => {
  it('loses 0 of 2,400 requests when a member is killed mid-load', async (ctx) => {
    requireTools(ctx, ['haproxy', 'socat', 'node']);
    const daemons: Daemon[] = [];
    const dir = makeDir('front');
    try {
      const [frontPort, portA, portB] = await freePorts(3);
      const member = (name: string, port: number) => {
        const d = startDaemon({
          name: `member-${name}`,
          command: 'node',
          args: ['-e', `require('http').createServer((q,s)=>s.end(${JSON.stringify(name)})).listen(${port},'127.0.0.1',()=>console.log('listening'))`],
        });
        daemons.push(d);
        return d;
      };
      const a = member('lab-a', portA!);
      const b = member('lab-b', portB!);
      await Promise.all([waitForLog(a, 'listening'), waitForLog(b, 'listening')]);

      const socket = join(dir, 'admin.sock');
      const cfg = renderFrontHaproxy({
        comment: ['test front'],
        socketPath: socket,
        log: 'stderr format raw local0 err',
        backends: [
          {
            name: 'web',
            mode: 'http',
            bindAddress: '127.0.0.1',
            bindPort: frontPort!,
            servers: [
              { name: 'lab-a', address: '127.0.0.1', port: portA! },
              { name: 'lab-b', address: '127.0.0.1', port: portB! },
            ],
          },
        ],
      });
      writeFileSync(join(dir, 'haproxy.cfg'), cfg);
      const check = await run('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const haproxy = startDaemon({ name: 'haproxy-front', command: 'haproxy', args: ['-db', '-f', join(dir, 'haproxy.cfg')] });
      daemons.push(haproxy);
      await waitFor(
        async () => {
          if (!haproxy.isRunning()) throw new Error(`haproxy exited: ${haproxy.logs().slice(-1000)}`);
          return waitForPort('127.0.0.1', frontPort!, { timeoutMs: 200 }).catch(() => false);
        },
        { timeoutMs: 10_000, what: 'haproxy to listen' },
      );

      // The admin runtime socket answers and names the servers as the member clusters.
      const showState = async () =>
        (await run('socat', ['-t', '2', '-', `UNIX-CONNECT:${socket}`], { input: 'show servers state web\n', timeoutMs: 5000 })).stdout;
      await waitFor(async () => /lab-a/.test(await showState()) && /lab-b/.test(await showState()), { timeoutMs: 5000, what: 'admin socket to list both servers' });

      const agent = new Agent({ keepAlive: false });
      let started = 0;
      let done = 0;
      const failures: string[] = [];
      const served = { before: new Map<string, number>(), after: new Map<string, number>() };
      let killed = false;
      const t0 = performance.now();
      const worker = async () => {
        while (started < TOTAL && performance.now() - t0 < DEADLINE_MS) {
          started++;
          const phase = killed ? served.after : served.before;
          try {
            const r = await get(frontPort!, agent);
            if (r.status !== 200) failures.push(`HTTP ${r.status}: ${r.body.slice(0, 80)}`);
            else phase.set(r.body, (phase.get(r.body) ?? 0) + 1);
          } catch (err) {
            failures.push((err as Error).message);
          }
          done++;
          if (done === KILL_AFTER && !killed) {
            killed = true;
            b.signal('SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const elapsed = performance.now() - t0;
      agent.destroy();
      console.log(
        `front: ${done} requests in ${elapsed.toFixed(0)} ms, ${failures.length} failed; before kill ${JSON.stringify(Object.fromEntries(served.before))}, after ${JSON.stringify(Object.fromEntries(served.after))}`,
      );

      expect(done).toBeGreaterThanOrEqual(2000);
      expect(failures).toEqual([]);
      expect(killed).toBe(true);
      // Both members served before the kill; the killed one was taken out by the health checks.
      expect(served.before.get('lab-a') ?? 0).toBeGreaterThan(0);
      expect(served.before.get('lab-b') ?? 0).toBeGreaterThan(0);
      expect(served.after.get('lab-a') ?? 0).toBeGreaterThan(1000);
      // srv_op_state (5th field) of lab-b is 0 = STOPPED/DOWN.
      await waitFor(async () => (await showState()).split('\n').some((l) => l.split(' ')[3] === 'lab-b' && l.split(' ')[5] === '0'), {
        timeoutMs: 5000,
        what: 'HAProxy to mark lab-b down',
      });
    } finally {
      await Promise.all(daemons.map((d) => d.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
