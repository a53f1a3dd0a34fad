// End-to-end stack: `cluster-mgr sim` members on loopback, a real front HAProxy running the config the
// simulator renders with infra/render's renderFrontHaproxy (injected as `renderFront`), and a real `cluster-mgr run` child process
// whose Federation points `traffic.haproxy.socket` at that HAProxy's admin socket.
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderFrontHaproxy } from '../../infra/render/front';
import { HaproxySwitch, haproxyCommand } from '../../cluster-mgr/adapters/haproxy';
import { federationDoc, startSim, type Sim } from '../../cluster-mgr/sim/index';
import { startClusterMgr, writeFederation } from '../cluster-mgr/harness';
import type { MemberTraffic } from '../../cluster-mgr/contracts/index';
import { startDaemon, waitFor, waitForPort, type Daemon } from '../lab/index';
import { runLoad, type LoadResult as PacedLoad } from '../traffic/helpers';

export interface StackOptions {
  readonly names?: readonly string[];
  readonly health: { interval: string; timeout: string; failureThreshold: number; successThreshold: number; failbackAfter: string; failbackSteps?: number };
  readonly secondOpinion?: 'front' | 'witness' | 'none';
  /** traffic.witness.url */
  readonly witness?: string;
  readonly replicas?: number;
  readonly podReadyDelayMs?: number;
  /** Federation `alerting:` block. */
  readonly alerting?: Record<string, unknown>;
}

export interface Stack {
  readonly sim: Sim;
  readonly dir: string;
  readonly frontUrl: string;
  readonly apiUrl: string;
  readonly haproxy: Daemon;
  readonly cm: Daemon;
  readonly socket: string;
  /** `show servers state` of the front, per member (the adapter's parse). */
  front(): Promise<Record<string, MemberTraffic>>;
  state(): Promise<StateDoc>;
  stop(): Promise<void>;
}

export interface StateDoc {
  clusters: { name: string; health: string; traffic: { state: string; weight: number; phase: string } }[];
  apps: { key: string; assignments: Record<string, number>; running: Record<string, { replicas: number; ready: number }> }[];
  failovers: { member: string; unhealthyAt: string; drainedAt?: string; replicasReadyAt?: string; replicasReadyMs?: number }[];
  alerts: { name: string; labels: Record<string, string> }[];
  events: { type: string; member?: string; message: string }[];
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-e2e-'));
  const names = o.names ?? ['sh1-a', 'sh1-b'];
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const sim = await startSim({ names: [...names], outDir: dir, bookmarkIntervalMs: 1000, renderFront: renderFrontHaproxy, ...(o.podReadyDelayMs !== undefined ? { podReadyDelayMs: o.podReadyDelayMs } : {}) });
    stops.push(() => sim.stop());
    if (!sim.haproxyFile) throw new Error(`the simulator wrote no haproxy.cfg: ${sim.haproxyError ?? 'no output'}`);
    const cfg = readFileSync(sim.haproxyFile, 'utf8');
    const socket = /stats socket (\S+)/.exec(cfg)![1]!;
    const bind = /bind ([\d.]+):(\d+)/.exec(cfg)!;
    const haproxy = startDaemon({ name: 'front-haproxy', command: 'haproxy', args: ['-db', '-f', sim.haproxyFile] });
    stops.push(() => haproxy.stop());
    await waitForPort(bind[1]!, Number(bind[2]), { timeoutMs: 5000 });
    await waitFor(async () => (await haproxyCommand(socket, 'show info').catch(() => '')).includes('Pid:'), { what: 'front HAProxy runtime API', timeoutMs: 5000 });
    const sw = new HaproxySwitch({ socket, backends: ['web'] });
    await waitFor(async () => Object.values(await sw.observe()).filter((t) => t.checkUp).length === names.length, { what: 'every member UP at the front', timeoutMs: 5000 });

    const apps = (federationDoc(names) as { spec: { apps: Record<string, unknown>[] } }).spec.apps.map((a, i) => (i === 0 && o.replicas !== undefined ? { ...a, replicas: o.replicas } : a));
    const configFile = writeFederation(join(dir, 'federation-e2e.yaml'), names, {
      health: o.health,
      traffic: { haproxy: { socket, backends: ['web'] }, ...(o.witness ? { witness: { url: o.witness } } : {}), ...(o.secondOpinion ? { secondOpinion: o.secondOpinion } : {}) },
      ...(o.alerting ? { alerting: o.alerting } : {}),
      apps,
    });
    let apiUrl = '';
    const state = async () => (await (await fetch(`${apiUrl}/api/state`)).json()) as StateDoc;
    const { proc: cm, url } = await startClusterMgr(configFile, {
      ready: async (u) => {
        apiUrl = u;
        const s = await state().catch(() => undefined);
        // Settled: every member at full weight and the app's replicas ready where assigned.
        const front = await sw.observe().catch(() => ({}) as Record<string, MemberTraffic>);
        return (
          !!s &&
          names.every((n) => front[n]?.state === 'ready' && front[n]?.weight === 256) &&
          s.clusters.every((c) => c.health === 'Healthy' && c.traffic.weight === 256) &&
          s.apps.every((a) => Object.entries(a.assignments).every(([m, n]) => (a.running[m]?.ready ?? 0) === n && n > 0))
        );
      },
      what: 'cluster-mgr to settle (members Healthy at weight 256 at the front, replicas ready)',
    });
    apiUrl = url;
    stops.push(() => cm.stop(10_000));
    return {
      sim,
      dir,
      frontUrl: `http://${bind[1]}:${bind[2]}/`,
      apiUrl,
      haproxy,
      cm,
      socket,
      front: () => sw.observe(),
      state,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export interface LoadResult {
  ok: number;
  failed: number;
  errors: string[];
  byMember: Record<string, number>;
}

/**
 * Closed-loop load through the front: `workers` concurrent clients, until `until()` is true AND at
 * least `min` requests are done, bounded by `max` requests and `maxMs`.
 */
export async function load(url: string, o: { workers: number; min: number; max: number; maxMs: number; until: () => boolean }): Promise<LoadResult> {
  const r: LoadResult = { ok: 0, failed: 0, errors: [], byMember: {} };
  const t0 = performance.now();
  let issued = 0;
  const worker = async () => {
    while (issued < o.max && performance.now() - t0 < o.maxMs && !(o.until() && r.ok + r.failed >= o.min)) {
      issued++;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status === 200) {
          r.ok++;
          const m = res.headers.get('x-sim-member') ?? '?';
          r.byMember[m] = (r.byMember[m] ?? 0) + 1;
        } else {
          r.failed++;
          if (r.errors.length < 10) r.errors.push(`HTTP ${res.status}`);
        }
      } catch (err) {
        r.failed++;
        if (r.errors.length < 10) r.errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: o.workers }, worker));
  return r;
}

/**
 * The failover load: 2,000 GETs through the front paced over `spreadOverMs`, with `fault` run when
 * request 400 is sent. Returns the load and `faultAt`, performance.now() just before the fault.
 */
export async function loadWithFault(s: Stack, spreadOverMs: number, fault: () => Promise<void>): Promise<{ load: PacedLoad; faultAt: number }> {
  let faultAt = 0;
  const load = await runLoad({
    url: s.frontUrl,
    spreadOverMs,
    at: {
      index: 400,
      run: async () => {
        faultAt = performance.now();
        await fault();
      },
    },
  });
  return { load, faultAt };
}
