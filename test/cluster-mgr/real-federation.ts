// Failover on REAL control planes, shared by test/cluster-mgr/failover.real.test.ts and
// `npm run bench -- failover-real`: three lab control planes (etcd, kube-apiserver,
// controller-manager, scheduler, one kwok worker each), a real front HAProxy rendered by
// infra/render's renderFrontHaproxy, and `cluster-mgr run` as a real child process driving that
// front through its runtime API. The third member is reached through a CutPath (test/lab/netpath.ts)
// so that it can be cut off; the faults:
//   sigkill — its kube-apiserver killed (heal: started again on the same port and etcd);
//   sigstop — its kube-apiserver frozen (heal: SIGCONT);
//   cut     — the path's far address dropped in its network namespace (heal: address back).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { HaproxySwitch, haproxyCommand } from '../../cluster-mgr/adapters/haproxy';
import { APP_LABEL } from '../../cluster-mgr/adapters/kube';
import type { MemberTraffic } from '../../cluster-mgr/contracts/index';
import { renderFrontHaproxy } from '../../infra/render/front';
import { freePort, labKubeconfig, makeDir, run, startControlPlanes, startDaemon, waitFor, waitForPort, type ControlPlane, type Daemon } from '../lab';
import { startCutPath, type CutPath } from '../lab/netpath';
import { startClusterMgr } from './harness';

/** The health settings under test (ms). Probe timeout below the interval: a round never outlasts it. */
export const HEALTH = { intervalMs: 500, timeoutMs: 400, failureThreshold: 3, successThreshold: 2, failbackAfterMs: 2000, failbackSteps: 2, readyTimeoutMs: 5000 } as const;
/** The deadline the issue states: Unhealthy within interval × failureThreshold + 1 s. */
export const UNHEALTHY_DEADLINE_MS = HEALTH.intervalMs * HEALTH.failureThreshold + 1000;
/** Replicas Ready (kwok) on the other members within 5 s of the fault. */
export const READY_DEADLINE_MS = 5000;

export type Fault = 'sigkill' | 'sigstop' | 'cut';
export const NS = 'shop';

export interface RealApp {
  readonly name: string;
  readonly replicas: number;
  /** Annotated `lab.flotilla.dev/stuck`: kwok never starts its pods (ImagePullBackOff). */
  readonly stuck?: boolean;
}

/** Weighted 1:1:1 over the three members, 100m each (the one worker per member has room for all). */
export const APPS: readonly RealApp[] = [
  { name: 'web', replicas: 6 },
  { name: 'api', replicas: 3 },
];

export interface Event {
  at: string;
  type: string;
  member?: string;
  message: string;
}
export interface RealState {
  clusters: { name: string; health: string; reason: string | null; probeMs: number | null; traffic: { state: string; weight: number; phase: string } }[];
  apps: { key: string; desired: number; assignments: Record<string, number> }[];
  alerts: { name: string; labels: Record<string, string>; summary: string }[];
  events: Event[];
  failovers: { member: string; unhealthyAt: string; drainedAt?: string; replicasReadyAt?: string; degraded?: string }[];
}

export interface DeploymentView {
  name: string;
  app: string | undefined;
  replicas: number;
  ready: boolean;
}

export interface RealFederation {
  readonly cps: readonly ControlPlane[];
  readonly names: readonly string[];
  /** (Re)writes the Federation with these apps and starts cluster-mgr; resolves once settled (or, with `settle: false`, once /healthz answers). */
  startCm(apps?: readonly RealApp[], o?: { settle?: boolean }): Promise<void>;
  /** `kill -9` of cluster-mgr; resolves once it is gone. */
  killCm(): Promise<void>;
  /** The running cluster-mgr process and its URL (replaced by startCm). */
  readonly cm: Daemon;
  readonly url: string;
  /** The member reached through the cuttable path. */
  readonly cutMember: string;
  /** Kubeconfigs, the Federation file, the front's config and socket. */
  readonly dir: string;
  state(): Promise<RealState>;
  /** `show servers state` of the front, per member. */
  front(): Promise<Record<string, MemberTraffic>>;
  inject(fault: Fault, member: string): Promise<void>;
  /**
   * Pauses (SIGSTOP) or resumes these members' kwok: while paused no new pod of theirs turns Ready
   * (node heartbeats pause too, far below the node grace period for the seconds a test holds it).
   */
  holdPods(members: readonly string[], hold: boolean): void;
  heal(fault: Fault, member: string): Promise<void>;
  /** The federation's Deployments in NS on a member (read directly from its API server). */
  deployments(member: string): Promise<DeploymentView[]>;
  /** Every member serving (Healthy or Suspect) at full weight, each app split 1:1:1 with its replicas ready; else throws saying what is not. */
  settled(apps?: readonly RealApp[]): Promise<true>;
  /** Each app's replicas all on the members other than `victim`, and ready there (Deployment status). */
  readyElsewhere(victim: string, apps?: readonly RealApp[]): Promise<boolean>;
  stop(): Promise<void>;
}

const cp = (cps: readonly ControlPlane[], name: string) => cps.find((c) => c.name === name)!;

function appDoc(a: RealApp): Record<string, unknown> {
  return {
    name: a.name,
    namespace: NS,
    replicas: a.replicas,
    template: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: a.name },
      spec: {
        selector: { matchLabels: { app: a.name } },
        template: {
          metadata: { labels: { app: a.name }, ...(a.stuck ? { annotations: { 'lab.flotilla.dev/stuck': 'true' } } : {}) },
          spec: { containers: [{ name: a.name, image: `registry.example.com/apps/${a.name}:1`, resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
        },
      },
    },
    placement: { spread: 'weighted' },
  };
}

export async function startRealFederation(prefix: string): Promise<RealFederation> {
  const names = ['a', 'b', 'c'].map((x) => `${prefix}-${x}`);
  const cutMember = names[2]!;
  const dir = makeDir(`${prefix}-fed`);
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    const cps = await startControlPlanes(names.map((name) => ({ name, nodes: [{ name: `${name}-worker-1`, cpu: '16', memory: '32Gi' }] })));
    stops.push(() => Promise.all(cps.map((c) => c.stop())));
    const path: CutPath = await startCutPath({ host: '127.0.0.1', port: cp(cps, cutMember).port }, cutMember);
    stops.push(() => path.stop());
    for (const c of cps) {
      const server = c.name === cutMember ? `https://${path.host}:${path.port}` : c.server;
      writeFileSync(
        join(dir, `${c.name}.kubeconfig`),
        labKubeconfig({ name: c.name, server, caPem: c.caPem, certPem: readFileSync(c.adminCertPath, 'utf8'), keyPem: readFileSync(c.adminKeyPath, 'utf8') }),
        { mode: 0o600 },
      );
    }

    // The front: one TCP backend, one server per member (its API endpoint stands in for an ingress:
    // the front only has to carry the drain; cluster-mgr alone decides, secondOpinion none).
    const socket = join(dir, 'haproxy.sock');
    const frontPort = await freePort();
    const cfgFile = join(dir, 'haproxy.cfg');
    writeFileSync(
      cfgFile,
      renderFrontHaproxy({
        comment: ['Front for the failover test on real control planes.'],
        backends: [{ name: 'web', mode: 'tcp', bindAddress: '127.0.0.1', bindPort: frontPort, servers: cps.map((c) => ({ name: c.name, address: '127.0.0.1', port: c.port })) }],
        socketPath: socket,
        log: 'stdout format raw local0',
      }),
    );
    const check = await run('haproxy', ['-c', '-f', cfgFile], { timeoutMs: 10_000 });
    if (check.code !== 0) throw new Error(`haproxy -c rejected the rendered front: ${check.stderr || check.stdout}`);
    const haproxy = startDaemon({ name: `${prefix}-front-haproxy`, command: 'haproxy', args: ['-db', '-f', cfgFile] });
    stops.push(() => haproxy.stop());
    await waitForPort('127.0.0.1', frontPort, { timeoutMs: 5000 });
    await waitFor(async () => (await haproxyCommand(socket, 'show info').catch(() => '')).includes('Pid:'), { what: 'front HAProxy runtime API', timeoutMs: 5000 });
    const sw = new HaproxySwitch({ socket, backends: ['web'] });

    const writeConfig = (apps: readonly RealApp[]) => {
      const file = join(dir, 'federation.yaml');
      const h = HEALTH;
      const doc = {
        apiVersion: 'flotilla.dev/v1alpha1',
        kind: 'Federation',
        metadata: { name: prefix },
        spec: {
          members: names.map((n) => ({ name: n, kubeconfig: join(dir, `${n}.kubeconfig`) })),
          health: {
            interval: `${h.intervalMs}ms`,
            timeout: `${h.timeoutMs}ms`,
            failureThreshold: h.failureThreshold,
            successThreshold: h.successThreshold,
            failbackAfter: `${h.failbackAfterMs}ms`,
            failbackSteps: h.failbackSteps,
            readyTimeout: `${h.readyTimeoutMs}ms`,
          },
          traffic: { haproxy: { socket, backends: ['web'] } },
          apps: apps.map(appDoc),
        },
      };
      writeFileSync(file, stringify(doc));
      return file;
    };

    const deployments = async (member: string): Promise<DeploymentView[]> => {
      type D = { metadata: { name: string; generation?: number; labels?: Record<string, string> }; spec: { replicas?: number }; status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number } };
      const r = await cp(cps, member).api<{ items: D[] }>('GET', `/apis/apps/v1/namespaces/${NS}/deployments`);
      if (r.status === 404) return [];
      if (r.status !== 200) throw new Error(`${member}: list deployments → ${r.status}`);
      return r.body.items.map((d) => {
        const want = d.spec.replicas ?? 1;
        const s = d.status ?? {};
        // Honest readiness: the controller saw this generation, and every replica is updated, ready and available.
        const ready = (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && (s.replicas ?? 0) === want && (s.updatedReplicas ?? 0) === want && (s.readyReplicas ?? 0) === want && (s.availableReplicas ?? 0) === want;
        return { name: d.metadata.name, app: d.metadata.labels?.[APP_LABEL], replicas: want, ready };
      });
    };

    let current = { apps: APPS, cm: undefined as Daemon | undefined, url: '' };
    const state = async () => (await (await fetch(`${current.url}/api/state`, { signal: AbortSignal.timeout(3000) })).json()) as RealState;
    const front = () => sw.observe(AbortSignal.timeout(3000));

    // True, or throws saying what is not settled yet (waitFor reports the last reason on timeout).
    const settled = async (apps: readonly RealApp[] = current.apps): Promise<true> => {
      const [s, f] = await Promise.all([state(), front()]);
      for (const c of s.clusters) {
        // Suspect still serves (a slow probe on a loaded machine is not a failover).
        if ((c.health !== 'Healthy' && c.health !== 'Suspect') || c.traffic.phase !== 'serving' || f[c.name]?.state !== 'ready' || f[c.name]?.weight !== 256) {
          throw new Error(`${c.name}: ${c.health}${c.reason ? ` (${c.reason}, last probe ${c.probeMs} ms)` : ''}, phase ${c.traffic.phase}, front ${f[c.name]?.state ?? '?'} ${f[c.name]?.weight ?? '?'}`);
        }
      }
      const per = await Promise.all(names.map((n) => deployments(n)));
      for (const a of apps) {
        for (const [i, ds] of per.entries()) {
          const d = ds.filter((x) => x.name === a.name);
          if (d.length !== 1 || d[0]!.replicas !== a.replicas / names.length || !(d[0]!.ready || a.stuck)) throw new Error(`${names[i]}: ${a.name}: ${JSON.stringify(d)}`);
        }
      }
      return true;
    };

    const readyElsewhere = async (victim: string, apps: readonly RealApp[] = current.apps) => {
      const others = names.filter((n) => n !== victim);
      const per = await Promise.all(others.map((n) => deployments(n)));
      return apps.every((a) => {
        const ds = per.map((x) => x.find((d) => d.name === a.name));
        return ds.every((d) => d?.ready) && ds.reduce((sum, d) => sum + (d?.replicas ?? 0), 0) === a.replicas;
      });
    };

    const fed: RealFederation = {
      cps,
      names,
      dir,
      cutMember,
      get cm() {
        return current.cm!;
      },
      get url() {
        return current.url;
      },
      async startCm(apps = current.apps, o = {}) {
        await current.cm?.stop(10_000);
        current = { apps, cm: undefined, url: '' };
        const file = writeConfig(apps);
        const started = await startClusterMgr(file, {
          name: `${prefix}-cluster-mgr`,
          // Start-up (tsx compiles the daemon) alone took 13 s at a load average of 17 on 2 cores.
          timeoutMs: 90_000,
          ready: async (u) => {
            current.url = u;
            if (o.settle === false) return (await fetch(`${u}/healthz`).catch(() => undefined))?.ok;
            return settled(apps);
          },
          what: o.settle === false ? 'cluster-mgr /healthz' : 'cluster-mgr to settle (members serving at full weight at the front, every app split 1:1:1 and ready)',
        });
        current.cm = started.proc;
        current.url = started.url;
      },
      async killCm() {
        const d = current.cm;
        if (!d) return;
        d.signal('SIGKILL');
        await d.exited;
        await d.stop();
      },
      state,
      front,
      async inject(fault, member) {
        const c = cp(cps, member);
        if (fault === 'sigkill') {
          c.apiserver.signal('SIGKILL');
          await c.apiserver.exited;
        } else if (fault === 'sigstop') c.apiserver.signal('SIGSTOP');
        else {
          if (member !== cutMember) throw new Error(`only ${cutMember} is reached through a cuttable path`);
          await path.cut();
        }
      },
      holdPods(members, hold) {
        for (const m of members) cp(cps, m).daemons.kwok?.signal(hold ? 'SIGSTOP' : 'SIGCONT');
      },
      async heal(fault, member) {
        const c = cp(cps, member);
        if (fault === 'sigkill') {
          if (!c.apiserver.isRunning()) await c.restartApiserver();
        } else if (fault === 'sigstop') c.apiserver.signal('SIGCONT');
        else await path.restore();
      },
      deployments,
      settled,
      readyElsewhere,
      async stop() {
        for (const c of cps) {
          c.apiserver.signal('SIGCONT');
          c.daemons.kwok?.signal('SIGCONT');
        }
        await current.cm?.stop(10_000);
        await stopAll();
      },
    };
    stops.push(async () => current.cm?.stop(10_000));
    return fed;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** When the daemon declared `member` Unhealthy (its own event clock), after `since` (ms epoch). */
export function eventAt(s: RealState, type: string, member: string, since: number): number | undefined {
  const e = s.events.find((x) => x.type === type && x.member === member && Date.parse(x.at) >= since);
  return e ? Date.parse(e.at) : undefined;
}

export interface FailoverTimes {
  /** Fault → the daemon's `member-unhealthy` event. */
  readonly unhealthyMs: number;
  /** Fault → the member in `drain` at the front (HAProxy `show servers state`). */
  readonly drainedMs: number;
  /** Fault → every app's replicas ready on the other members (their API servers' Deployment status). */
  readonly readyMs: number;
}

/** Injects `fault` on `victim` and times Unhealthy, drained at the front, and replicas ready elsewhere. */
export async function timeFailover(fed: RealFederation, victim: string, fault: Fault, apps?: readonly RealApp[]): Promise<FailoverTimes> {
  const faultAt = Date.now();
  await fed.inject(fault, victim);
  const [unhealthyAt, drainedAt, readyAt] = await Promise.all([
    waitFor(async () => eventAt(await fed.state(), 'member-unhealthy', victim, faultAt), { timeoutMs: 20_000, intervalMs: 100, what: `${victim} Unhealthy after ${fault}` }),
    waitFor(async () => ((await fed.front())[victim]?.state === 'drain' ? Date.now() : undefined), { timeoutMs: 20_000, intervalMs: 10, what: `${victim} drained at the front` }),
    waitFor(async () => ((await fed.readyElsewhere(victim, apps)) ? Date.now() : undefined), { timeoutMs: 30_000, intervalMs: 50, what: `replicas ready away from ${victim}` }),
  ]);
  return { unhealthyMs: unhealthyAt - faultAt, drainedMs: drainedAt - faultAt, readyMs: readyAt - faultAt };
}

export interface FailbackTimes {
  /** Heal done (a restarted API server serving) → the `member-recovering` event (first good probe). */
  readonly recoveringMs: number;
  /** `member-recovering` → `member-recovered` (Healthy again: successThreshold and failbackAfter). */
  readonly recoveredAfterMs: number;
  /** Heal → full weight at the front with the 1:1:1 split back and ready. */
  readonly settledMs: number;
  /** `member-recovered` → full weight at the front. */
  readonly rampMs: number;
}

/** Heals `victim` and times recovery and failback (replicas back first, then the ramp to full weight). */
export async function timeFailback(fed: RealFederation, victim: string, fault: Fault, o: { timeoutMs?: number } = {}): Promise<FailbackTimes> {
  const healStart = Date.now();
  await fed.heal(fault, victim); // a restarted kube-apiserver: resolves once it serves /readyz
  const healAt = Date.now();
  const timeoutMs = o.timeoutMs ?? 60_000;
  const fullAt = await waitFor(async () => ((await fed.front())[victim]?.weight === 256 && (await fed.front())[victim]?.state === 'ready' ? Date.now() : undefined), {
    timeoutMs,
    intervalMs: 20,
    what: `${victim} back at full weight at the front`,
  });
  const settledAt = await waitFor(async () => ((await fed.settled()) ? Date.now() : undefined), { timeoutMs: 30_000, intervalMs: 100, what: 'the federation settled after failback' });
  const s = await fed.state();
  const recovering = eventAt(s, 'member-recovering', victim, healStart);
  const recovered = eventAt(s, 'member-recovered', victim, healStart);
  if (recovering === undefined || recovered === undefined) throw new Error(`${victim}: no member-recovering/member-recovered events after the heal: ${JSON.stringify(s.events.slice(0, 20))}`);
  return { recoveringMs: recovering - healAt, recoveredAfterMs: recovered - recovering, settledMs: Math.max(fullAt, settledAt) - healAt, rampMs: fullAt - recovered };
}

/**
 * Settled, and no member health change for `quietMs`: on a loaded machine a freshly started
 * cluster-mgr can see slow probes, and a fault injected then would be measured against a failover
 * already under way.
 */
export function settledAndQuiet(fed: RealFederation, timeoutMs: number, quietMs = 3000): Promise<true> {
  return waitFor(
    async () => {
      await fed.settled();
      const last = (await fed.state()).events.find((e) => e.type.startsWith('member-'));
      if (last && Date.now() - Date.parse(last.at) < quietMs) throw new Error(`${last.type} ${last.member ?? ''} ${Date.now() - Date.parse(last.at)} ms ago`);
      return true as const;
    },
    { timeoutMs, intervalMs: 200, what: `the federation settled and quiet for ${quietMs} ms` },
  );
}
