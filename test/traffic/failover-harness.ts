// A front HAProxy in front of two loopback "member ingress" backends, and a minimal reference control
// loop wiring the pieces the daemon will use: probe each member every `intervalMs`, count consecutive
// failures/successes, planTraffic (with HAProxy's own check as the second vantage point), executePlan
// through HaproxySwitch. Used by test/traffic/failover.test.ts and test/bench/failover.bench.ts.
import { writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { HaproxySwitch, haproxyCommand } from '../../cluster-mgr/adapters/haproxy';
import { committedPhases, executePlan } from '../../cluster-mgr/adapters/traffic-executor';
import { planTraffic, type MemberPhase, type TrafficPlanConfig } from '../../cluster-mgr/core/traffic-plan';
import type { MemberTraffic } from '../../cluster-mgr/ports/index';
import { freePort, makeDir, startDaemon, waitFor, waitForPort, type Daemon } from '../lab/index';

export interface Member {
  readonly name: string;
  readonly port: number;
  hits: number;
  /**
   * 'down': the ingress stops listening (connection refused); 'cm-partition': only cluster-mgr's
   * probes fail (users and the front HAProxy still reach it); 'none': all well again.
   */
  fault(mode: 'down' | 'cm-partition' | 'none'): Promise<void>;
  close(): Promise<void>;
}

async function startMember(name: string): Promise<Member> {
  const port = await freePort();
  let server: Server | undefined;
  let cmPartition = false;
  const m = { name, port, hits: 0 } as Member;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((req, res) => {
        req.resume();
        if (req.url === '/readyz?from=cluster-mgr' && cmPartition) return req.socket.destroy();
        if (req.url?.startsWith('/readyz')) return res.end('ok\n');
        m.hits++;
        res.end(`${name}\n`);
      });
      s.keepAliveTimeout = 2000;
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
      server = s;
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      const s = server;
      server = undefined;
      s.closeAllConnections();
      s.close(() => resolve());
    });
  await listen();
  m.fault = async (mode) => {
    cmPartition = mode === 'cm-partition';
    if (mode === 'down') return stop();
    if (!server) await listen();
  };
  m.close = stop;
  return m;
}

function probe(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz?from=cluster-mgr', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export interface HarnessOptions {
  readonly intervalMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
  readonly failbackAfterMs: number;
  readonly requireSecondOpinion?: boolean;
}

export interface Harness {
  readonly frontUrl: string;
  readonly members: readonly Member[];
  readonly sw: HaproxySwitch;
  /** Alerts the loop fired/resolved (`fire NAME member` / `resolve NAME member`). */
  readonly alerts: string[];
  /** Every traffic change the loop issued, with performance.now() time. */
  readonly changes: { at: number; member: string; state: string; weight: number }[];
  phases(): Record<string, MemberPhase>;
  /** Resolves when `cond` holds on the front's observed traffic (polled every 20 ms). */
  waitTraffic(cond: (t: Record<string, MemberTraffic>) => boolean, what: string, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startFailoverHarness(opts: HarnessOptions): Promise<Harness> {
  const members = [await startMember('bj1-a'), await startMember('sh1-a')];
  const dir = makeDir('failover');
  const front = await freePort();
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `global
  stats socket ${dir}/admin.sock level admin
defaults
  mode http
  timeout connect 300ms
  timeout client 10s
  timeout server 10s
  retries 3
  option redispatch 1
  retry-on all-retryable-errors
frontend front
  bind 127.0.0.1:${front}
  default_backend web
backend web
  balance roundrobin
  option httpchk GET /readyz
  default-server check inter 200ms fall 2 rise 2 weight 100
${members.map((m) => `  server ${m.name} 127.0.0.1:${m.port}`).join('\n')}
`,
  );
  const haproxy: Daemon = startDaemon({ name: 'haproxy-front', command: 'haproxy', dir, args: ['-db', '-f', join(dir, 'haproxy.cfg')] });
  await waitForPort('127.0.0.1', front, { timeoutMs: 5000 });
  await waitFor(async () => (await haproxyCommand(join(dir, 'admin.sock'), 'show info')).includes('Pid:'), { what: 'front haproxy runtime API', timeoutMs: 5000 });
  const sw = new HaproxySwitch({ socket: join(dir, 'admin.sock'), backends: ['web'] });
  await waitFor(async () => Object.values(await sw.observe()).every((t) => t.checkUp === true), { what: 'both members UP at the front', timeoutMs: 5000 });

  const cfg: TrafficPlanConfig = { failbackAfterMs: opts.failbackAfterMs, rampSteps: 4, fullWeight: 100, requireSecondOpinion: opts.requireSecondOpinion ?? false };
  const counters = new Map(members.map((m) => [m.name, { fails: 0, oks: 0, healthy: true }]));
  let phases: Record<string, MemberPhase> = {};
  let blocked: Record<string, boolean> = {};
  const changes: Harness['changes'] = [];
  const fired: string[] = [];
  const ac = new AbortController();
  let running = false;

  const pass = async () => {
    if (running || ac.signal.aborted) return;
    running = true;
    try {
      const results = await Promise.all(members.map((m) => probe(m.port, Math.min(opts.intervalMs, 200))));
      members.forEach((m, i) => {
        const c = counters.get(m.name)!;
        if (results[i]) {
          c.oks++;
          c.fails = 0;
          if (!c.healthy && c.oks >= opts.successThreshold) c.healthy = true;
        } else {
          c.fails++;
          c.oks = 0;
          if (c.healthy && c.fails >= opts.failureThreshold) c.healthy = false;
        }
      });
      const observed = await sw.observe(ac.signal);
      const plan = planTraffic(
        members.map((m) => ({
          name: m.name,
          healthy: counters.get(m.name)!.healthy,
          secondOpinionUp: observed[m.name]?.checkUp,
          replicasReady: true,
          observed: observed[m.name],
          phase: phases[m.name],
          blocked: blocked[m.name],
        })),
        cfg,
        performance.now(),
      );
      const report = await executePlan(
        plan,
        {
          traffic: {
            kind: 'haproxy',
            observe: (s) => sw.observe(s),
            set: async (member, state, weight, s) => {
              // Recorded when issued, so it is listed by the time the front shows it.
              changes.push({ at: performance.now(), member, state, weight: weight ?? -1 });
              await sw.set(member, state, weight, s);
            },
          },
          alerter: {
            fire: async (a) => void fired.push(`fire ${a.name} ${a.labels.member ?? ''}`),
            resolve: async (a) => void fired.push(`resolve ${a.name} ${a.labels.member ?? ''}`),
          },
          moveReplicasAway: async () => undefined,
          returnReplicas: async () => undefined,
        },
        ac.signal,
      );
      phases = committedPhases(plan, report, phases);
      blocked = Object.fromEntries(Object.entries(plan.members).map(([n, o]) => [n, o.blocked]));
    } catch {
      // next pass retries from observed state
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void pass(), opts.intervalMs);

  return {
    frontUrl: `http://127.0.0.1:${front}/`,
    members,
    sw,
    changes,
    alerts: fired,
    phases: () => phases,
    async waitTraffic(cond, what, timeoutMs) {
      await waitFor(async () => cond(await sw.observe()), { what, timeoutMs, intervalMs: 20 });
      return performance.now();
    },
    async stop() {
      ac.abort();
      clearInterval(timer);
      await waitFor(() => !running, { what: 'control loop to finish its pass', timeoutMs: 5000 });
      await haproxy.stop();
      for (const m of members) await m.close();
    },
  };
}
