// An unreachable HAProxy runtime API, for real: `cluster-mgr run` (a child process) over `cluster-mgr
// sim` members drives a real front HAProxy whose runtime API listens on TCP (`stats socket
// ipv4@127.0.0.1:PORT level admin`). cluster-mgr starts while that HAProxy is not running:
// an error log line naming the endpoint, `cluster_mgr_traffic_endpoint_up` 0 and
// FederationTrafficEndpointUnreachable at a webhook; /healthz keeps answering 200. A member fails
// meanwhile (its drain cannot be applied); HAProxy starts → the drain is applied within one pass, the
// alert resolves, the gauge is 1. HAProxy is then stopped mid-run and started again (it forgets runtime
// changes): reported again, and the drain is re-applied within one pass of it answering. Last, HAProxy
// is frozen (SIGSTOP: connections are accepted, nothing answers, each command runs into its timeout):
// reported as unreachable, and a member that fails meanwhile is still Unhealthy within interval ×
// failureThreshold + 1 s (a hanging runtime API must not slow health probing down); SIGCONT → its
// drain is applied within one pass.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaproxySwitch, haproxyCommand } from '../../cluster-mgr/adapters/haproxy';
import type { WebhookPayload } from '../../cluster-mgr/adapters/webhook';
import { federationDoc, startSim, type Sim } from '../../cluster-mgr/sim/index';
import { renderFrontHaproxy } from '../../infra/render/front';
import { getState, startClusterMgr, stopAfterClusterMgr, writeFederation } from '../cluster-mgr/harness';
import { freePort, isCI, makeDir, missingTools, requireTools, startDaemon, waitFor, type Daemon } from '../lab/index';
import { startReceiver, type Receiver } from './receiver';

const NAMES = ['ra', 'rb', 'rc'];
const FAILURE_THRESHOLD = 2;
const INTERVAL_MS = 500;
/** "Within one pass": a pass follows every probe round (interval); allow one round plus the pass itself. */
const ONE_PASS_MS = INTERVAL_MS * 2 + 1000;
const available = missingTools(['haproxy']).length === 0;

describe('unreachable HAProxy runtime API (cluster-mgr run, real HAProxy over TCP)', () => {
  let sim: Sim | undefined;
  /** The front's config file and its runtime API's host:port. */
  let cfgFile = '';
  let endpoint = '';
  let receiver: Receiver | undefined;
  let cm: Daemon | undefined;
  let haproxy: Daemon | undefined;

  beforeAll(async () => {
    if (!available && !isCI()) return;
    const dir = makeDir('runtime-api-down');
    sim = await startSim({ names: NAMES, outDir: dir, bookmarkIntervalMs: 1000, renderFront: renderFrontHaproxy });
    if (!sim.haproxyFile) throw new Error(`the simulator wrote no haproxy.cfg: ${sim.haproxyError ?? 'no output'}`);
    endpoint = `127.0.0.1:${await freePort()}`;
    // The runtime API on TCP, as cluster-mgr reaches a front host (the rendered config's unix socket replaced).
    const cfg = readFileSync(sim.haproxyFile, 'utf8').replace(/^\s*stats socket .*$/m, `  stats socket ipv4@${endpoint} level admin`);
    expect(cfg).toContain(`stats socket ipv4@${endpoint} level admin`);
    cfgFile = join(dir, 'front-haproxy.cfg');
    writeFileSync(cfgFile, cfg);
    receiver = await startReceiver();
  }, 60_000);

  afterAll(async () => {
    await stopAfterClusterMgr(cm, haproxy, sim, receiver ? { stop: () => receiver!.close() } : undefined);
  });

  const startHaproxy = async (): Promise<number> => {
    haproxy = startDaemon({ name: 'front-haproxy', command: 'haproxy', args: ['-db', '-f', cfgFile] });
    const [host, port] = endpoint.split(':');
    await waitFor(async () => (await haproxyCommand({ host: host!, port: Number(port) }, 'show info', 500).catch(() => '')).includes('Pid:'), { what: 'the runtime API to answer', timeoutMs: 10_000, intervalMs: 20 });
    return performance.now();
  };
  const hooks = () => (receiver!.bodies as WebhookPayload[]).filter((b) => b.alertname === 'FederationTrafficEndpointUnreachable');
  const gauge = async (url: string) => {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
    const m = new RegExp(`^cluster_mgr_traffic_endpoint_up\\{switch="haproxy",endpoint="${endpoint.replaceAll('.', '\\.')}"\\} (\\d)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const healthz = async (url: string) => (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).status;
  const errorLines = () =>
    cm!
      .logs()
      .split('\n')
      .filter((l) => l.includes(`haproxy runtime API ${endpoint} unreachable; retrying every pass`))
      .map((l) => JSON.parse(l) as { level: number; endpoint: string; err: string });

  it('reports it (log line, metric, alert), keeps serving /healthz, and applies the drain within one pass once it answers', async (ctx) => {
    requireTools(ctx, ['haproxy'], { root: false });
    const [host, port] = endpoint.split(':');
    const front = new HaproxySwitch({ socket: { host: host!, port: Number(port) }, backends: ['web'], timeoutMs: 1000 });
    const configFile = writeFederation(join(sim!.outDir, 'federation-api-down.yaml'), NAMES, {
      health: { interval: `${INTERVAL_MS}ms`, timeout: '400ms', requestTimeout: '2s', failureThreshold: FAILURE_THRESHOLD, successThreshold: 2, failbackAfter: '60s' },
      traffic: { haproxy: { address: endpoint, backends: ['web'] }, secondOpinion: 'none' },
      alerting: { webhooks: [{ url: receiver!.url }] },
      apps: (federationDoc(NAMES) as { spec: { apps: unknown[] } }).spec.apps,
    });
    // Started with the runtime API down: it must come up and serve /healthz all the same.
    const started = await startClusterMgr(configFile, { name: 'cluster-mgr-api-down' });
    cm = started.proc;
    const url = started.url;

    await waitFor(() => errorLines().length > 0, { what: 'the error log line', timeoutMs: 10_000 });
    expect(errorLines()[0]).toMatchObject({ level: 50, endpoint, err: expect.stringMatching(/ECONNREFUSED/) });
    await waitFor(async () => (await gauge(url)) === 0, { what: 'cluster_mgr_traffic_endpoint_up 0', timeoutMs: 5000 });
    await waitFor(() => hooks().some((h) => h.status === 'firing'), { what: 'FederationTrafficEndpointUnreachable at the webhook', timeoutMs: 5000 });
    expect(hooks()[0]).toMatchObject({ severity: 'critical', labels: { switch: 'haproxy', endpoint } });
    expect(hooks()[0]!.description).toMatch(/ECONNREFUSED/);

    // A member fails while the front is unreachable: its drain cannot be applied yet.
    await sim!.setFault('rb', 'down');
    await waitFor(async () => (await getState(url)).clusters.find((c) => c.name === 'rb')?.health === 'Unhealthy', { what: 'rb Unhealthy', timeoutMs: 10_000 });
    // /healthz answers throughout (several passes with the runtime API refusing); the error is logged once, not every pass.
    for (let i = 0; i < 5; i++) expect(await healthz(url)).toBe(200);
    expect(errorLines()).toHaveLength(1);
    expect(hooks().filter((h) => h.status === 'firing')).toHaveLength(1);

    // The runtime API comes up: HAProxy starts with every server ready; the drain follows within one pass.
    const up = await startHaproxy();
    await waitFor(async () => (await front.observe().catch(() => ({}) as Record<string, { state: string }>)).rb?.state === 'drain', { what: 'rb drained at the front', timeoutMs: 10_000, intervalMs: 20 });
    const applyMs = performance.now() - up;
    expect((await front.observe()).ra?.state).toBe('ready');
    await waitFor(async () => (await gauge(url)) === 1, { what: 'cluster_mgr_traffic_endpoint_up 1', timeoutMs: 5000 });
    await waitFor(() => hooks().some((h) => h.status === 'resolved'), { what: 'the alert resolved', timeoutMs: 5000 });
    expect(cm.logs()).toContain(`haproxy runtime API ${endpoint} answers again`);
    console.log(`runtime API answering → drain applied: ${Math.round(applyMs)} ms (one pass: ≤ ${ONE_PASS_MS} ms)`);
    expect(applyMs).toBeLessThanOrEqual(ONE_PASS_MS);

    // HAProxy stopped mid-run and started again (it forgets the drain): reported again, re-applied within one pass.
    await haproxy!.stop();
    await waitFor(() => errorLines().length === 2, { what: 'the error log line again', timeoutMs: 10_000 });
    await waitFor(async () => (await gauge(url)) === 0, { what: 'cluster_mgr_traffic_endpoint_up 0 again', timeoutMs: 5000 });
    await waitFor(() => hooks().filter((h) => h.status === 'firing').length === 2, { what: 'the alert fired again', timeoutMs: 5000 });
    expect(await healthz(url)).toBe(200);
    const again = await startHaproxy();
    await waitFor(async () => (await front.observe().catch(() => ({}) as Record<string, { state: string }>)).rb?.state === 'drain', { what: 'rb drained again', timeoutMs: 10_000, intervalMs: 20 });
    const reapplyMs = performance.now() - again;
    console.log(`HAProxy restarted → drain re-applied: ${Math.round(reapplyMs)} ms`);
    expect(reapplyMs).toBeLessThanOrEqual(ONE_PASS_MS);
    await waitFor(() => hooks().filter((h) => h.status === 'resolved').length === 2, { what: 'the alert resolved again', timeoutMs: 5000 });

    // Frozen: the runtime API accepts and never answers.
    haproxy!.signal('SIGSTOP');
    try {
      await waitFor(() => errorLines().length === 3, { what: 'the error log line for the frozen runtime API', timeoutMs: 15_000 });
      expect(errorLines()[2]!.err).toMatch(/timed out|abort/i);
      const t0 = performance.now();
      expect(await healthz(url)).toBe(200);
      expect(performance.now() - t0).toBeLessThan(1000);
      const faultAt = performance.now();
      await sim!.setFault('rc', 'down');
      await waitFor(async () => (await getState(url)).clusters.find((c) => c.name === 'rc')?.health === 'Unhealthy', { what: 'rc Unhealthy', timeoutMs: 20_000, intervalMs: 20 });
      const detectMs = performance.now() - faultAt;
      console.log(`front frozen: rc Unhealthy ${Math.round(detectMs)} ms after its fault (bound ${INTERVAL_MS * FAILURE_THRESHOLD + 1000} ms)`);
      expect(detectMs).toBeLessThanOrEqual(INTERVAL_MS * FAILURE_THRESHOLD + 1000);
    } finally {
      haproxy!.signal('SIGCONT');
    }
    const thawed = performance.now();
    await waitFor(async () => (await front.observe().catch(() => ({}) as Record<string, { state: string }>)).rc?.state === 'drain', { what: 'rc drained after SIGCONT', timeoutMs: 10_000, intervalMs: 20 });
    const thawMs = performance.now() - thawed;
    console.log(`HAProxy thawed → rc drain applied: ${Math.round(thawMs)} ms`);
    expect(thawMs).toBeLessThanOrEqual(ONE_PASS_MS + 2000); // a pass already waiting on the frozen API finishes (its timeout) first
    expect((await front.observe()).rb?.state).toBe('drain');
    expect((await front.observe()).ra?.state).toBe('ready');
    expect(cm.isRunning()).toBe(true);
  }, 120_000);
});
