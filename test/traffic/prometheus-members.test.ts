// The federation's metric source end to end: cluster-mgr (in this process, over `cluster-mgr sim`
// members) autoscales the example app from REAL Prometheus processes. Each member has its own
// exporter (its pods' CPU) scraped by its own Prometheus, which sees only that member; a third
// Prometheus scrapes both (the "one URL" a Thanos query would give).
// - source `members`: the replica count follows the SUM over both Prometheis (each alone would say
//   less); one Prometheus stopped → its gauge 0, a log line, the alert, and the partial sum never
//   scales down but does scale up; back → the alert resolves; a member that stops serving is not asked.
// - source `url`: the count follows the one Prometheus; stopped → kept, gauge 0.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { loadFederation } from '../../cluster-mgr/config/index';
import { runDaemon, type Running } from '../../cluster-mgr/daemon/main';
import { startSim, type Sim } from '../../cluster-mgr/sim/index';
import type { WebhookPayload } from '../../cluster-mgr/adapters/webhook';
import { deploymentReplicas, EXAMPLE_APP, getState, sum, writeFederation } from '../cluster-mgr/harness';
import { freePort, isCI, makeDir, missingTools, requireTools, startDaemon, waitFor, type Daemon } from '../lab/index';
import { startReceiver, type Receiver } from './receiver';

const QUERY = 'sum(flotilla_test_pod_cpu_percent{namespace="shop"})';
const NAMES = ['pa', 'pb'] as const;
const available = missingTools(['prometheus']).length === 0;

/** A member's exporter: its pods' CPU (percent), changed by the test. */
interface Exporter {
  pods: number[];
  readonly target: string;
  readonly server: Server;
}

async function startExporter(pods: number[]): Promise<Exporter> {
  const ex = { pods } as Exporter;
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end('# TYPE flotilla_test_pod_cpu_percent gauge\n' + ex.pods.map((v, i) => `flotilla_test_pod_cpu_percent{namespace="shop",pod="web-${i}"} ${v}\n`).join(''));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(ex, { server, target: `127.0.0.1:${(server.address() as AddressInfo).port}` });
}

/** A real Prometheus scraping `targets` every 500 ms on a fixed port (so a restart keeps its URL). */
function startPrometheus(name: string, port: number, targets: readonly string[]): Daemon {
  const dir = makeDir(name);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 500ms, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: pods\n    static_configs: [{ targets: [${targets.map((t) => `'${t}'`).join(', ')}] }]\n`,
  );
  return startDaemon({
    name,
    command: 'prometheus',
    dir,
    args: [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, '--query.lookback-delta=2s'],
  });
}

/** The instant query's value on one Prometheus (undefined while it has no data or is down). */
async function promValue(port: number): Promise<number | undefined> {
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?${new URLSearchParams({ query: QUERY })}`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
  if (!r?.ok) return undefined;
  const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result.length ? Number(body.data.result[0]!.value[1]) : undefined;
}

/** `name{labels} value` lines of /metrics for one metric, as labels-text → value. */
async function metric(url: string, name: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) out[m[1]!] = Number(m[2]);
  return out;
}

describe('autoscaling metric source over real Prometheus processes', () => {
  let sim: Sim | undefined;
  const exporters: Record<string, Exporter> = {};
  const proms: Record<string, Daemon | undefined> = {};
  const ports: Record<string, number> = {};
  let receiver: Receiver;
  let dir: string;

  beforeAll(async () => {
    if (!available && !isCI()) return;
    dir = makeDir('autoscale-members');
    sim = await startSim({ names: [...NAMES], outDir: dir, bookmarkIntervalMs: 1000 });
    for (const n of NAMES) exporters[n] = await startExporter([80, 80]);
    for (const n of [...NAMES, 'all']) ports[n] = await freePort();
    for (const n of NAMES) proms[n] = startPrometheus(`prom-${n}`, ports[n]!, [exporters[n]!.target]);
    proms.all = startPrometheus('prom-all', ports.all!, NAMES.map((n) => exporters[n]!.target));
    receiver = await startReceiver();
  }, 60_000);

  afterAll(async () => {
    for (const p of Object.values(proms)) await p?.stop();
    await receiver?.close();
    for (const e of Object.values(exporters)) await new Promise((r) => e.server.close(r));
    await sim?.stop();
  });

  /** cluster-mgr in this process with the given metric source; logs to a file the test reads. */
  async function startCm(file: string, metrics: Record<string, unknown>): Promise<{ cm: Running; logFile: string }> {
    // The simulator's example app (shop/web) from 2 replicas (6 would hold 320 within tolerance), autoscaled; no
    // stabilisation window, so a scale-down shows at once.
    const app = { ...EXAMPLE_APP, replicas: 2, autoscale: { query: QUERY, targetPerReplica: 50, min: 2, max: 12, interval: '300ms', scaleDownStabilization: '0s' } };
    const configFile = writeFederation(join(dir, file), [...NAMES], {
      // Lenient probes: a loaded machine must not make a member look down (the members are asked only while serving).
      health: { interval: '500ms', timeout: '1s', requestTimeout: '3s', failureThreshold: 3, successThreshold: 2, failbackAfter: '60s' },
      alerting: { webhooks: [{ url: receiver.url }] },
      autoscaling: { metrics },
      apps: [app],
    });
    const r = await loadFederation(configFile);
    if (!r.ok) throw new Error(`federation invalid: ${JSON.stringify(r.errors)}`);
    const logFile = join(dir, `${file}.log`);
    const log = pino({ level: 'info' }, pino.destination({ dest: logFile, sync: true, append: true }));
    const cm = await runDaemon({ federation: r.value, configFile, apps: r.value.spec.apps, listen: { host: '127.0.0.1', port: 0 }, log });
    return { cm, logFile };
  }

  const desired = async (url: string) => (await getState(url)).apps[0]?.desired;
  /** The count the daemon decided AND the Deployments it wrote to the members add up to it. */
  const waitReplicas = (url: string, want: number, what: string) =>
    waitFor(async () => (await desired(url)) === want && sum(deploymentReplicas(sim!)) === want, { what: `${what}: desired ${want} written to the members`, timeoutMs: 20_000, intervalMs: 100 });
  const evaluations = async (url: string) => (await metric(url, 'cluster_mgr_autoscale_evaluations_total'))['app="shop/web"'] ?? 0;
  const alertsFor = (status: 'firing' | 'resolved') => (receiver.bodies as WebhookPayload[]).filter((b) => b.alertname === 'FederationAutoscaleQueryFailing' && b.status === status);

  it('source "members": the count follows the sum over both Prometheis; a failed one never scales down, is reported, and only lets it scale up', async (ctx) => {
    requireTools(ctx, ['prometheus']);
    await waitFor(async () => (await promValue(ports.pa!)) === 160 && (await promValue(ports.pb!)) === 160, { what: 'each member Prometheus to report 160', timeoutMs: 30_000, intervalMs: 200 });
    const { cm, logFile } = await startCm('federation-members.yaml', { source: 'members', urls: { pa: `http://127.0.0.1:${ports.pa}`, pb: `http://127.0.0.1:${ports.pb}` }, timeout: '1s' });
    try {
      // Each Prometheus alone sees 160 (→ 4); the sum 320 / 50 → 7.
      await waitReplicas(cm.url, 7, 'sum over members');
      expect(await metric(cm.url, 'cluster_mgr_autoscale_source_up')).toEqual({ 'app="shop/web",source="pa"': 1, 'app="shop/web",source="pb"': 1 });

      // pb's Prometheus stopped: the partial sum 160 would say 4 — the count stays 7.
      await proms.pb!.stop();
      proms.pb = undefined;
      await waitFor(async () => (await metric(cm.url, 'cluster_mgr_autoscale_source_up'))['app="shop/web",source="pb"'] === 0, { what: 'gauge pb = 0', timeoutMs: 10_000 });
      await waitFor(() => alertsFor('firing').length > 0, { what: 'the query-failing alert at the webhook', timeoutMs: 10_000 });
      const fired = alertsFor('firing')[0]!;
      expect(fired.labels).toEqual({ namespace: 'shop', app: 'web' });
      expect(fired.summary).toMatch(/failing on some members; scaling up only, never down/);
      expect(fired.description).toMatch(/answered: pa; failed: pb: prometheus http:\/\/127\.0\.0\.1:\d+\/? unreachable/);
      const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('autoscale metric source failed for pb'));
      expect(line, 'a warn line naming the failed member').toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ level: 40, app: 'shop/web', failed: { pb: expect.stringMatching(/unreachable/) } });
      const n0 = await evaluations(cm.url);
      await waitFor(async () => (await evaluations(cm.url)) >= n0 + 3, { what: '3 more evaluations on the partial sum', timeoutMs: 10_000 });
      expect(await desired(cm.url)).toBe(7);
      expect(sum(deploymentReplicas(sim!))).toBe(7);

      // The partial sum alone calls for more: 2 × 300 = 600 → 12 (max) — scaling up is safe on a lower bound.
      exporters.pa!.pods = [300, 300];
      await waitReplicas(cm.url, 12, 'scale-up on a partial sum');

      // pb's Prometheus back: the whole sum (600 + 160 → 16, max 12); then pa calms down → 320 → 7, and the alert resolves.
      proms.pb = startPrometheus('prom-pb', ports.pb!, [exporters.pb!.target]);
      await waitFor(async () => (await metric(cm.url, 'cluster_mgr_autoscale_source_up'))['app="shop/web",source="pb"'] === 1, { what: 'gauge pb = 1 again', timeoutMs: 30_000, intervalMs: 200 });
      await waitFor(() => alertsFor('resolved').length > 0, { what: 'the alert resolved', timeoutMs: 10_000 });
      exporters.pa!.pods = [80, 80];
      await waitReplicas(cm.url, 7, 'whole sum again');
      await waitFor(() => readFileSync(logFile, 'utf8').includes('autoscale metric sources answer again'), { what: 'the recovery log line', timeoutMs: 5000 });

      // pb stops serving (its API down → Unhealthy): it is not asked; the serving members' sum (160 → 4) is whole.
      const firedBefore = alertsFor('firing').length;
      await sim!.setFault('pb', 'down');
      await waitFor(async () => (await getState(cm.url)).clusters.find((c) => c.name === 'pb')?.health === 'Unhealthy', { what: 'pb Unhealthy', timeoutMs: 10_000 });
      await waitFor(async () => (await desired(cm.url)) === 4, { what: 'desired from the serving member only', timeoutMs: 10_000 });
      expect(Object.keys(await metric(cm.url, 'cluster_mgr_autoscale_source_up'))).toEqual(['app="shop/web",source="pa"']);
      expect(alertsFor('firing').length).toBe(firedBefore);
    } finally {
      await cm.stop();
      await sim?.setFault('pb', 'none');
    }
  }, 120_000);

  it('source "url": the count follows the one Prometheus that sees every member; stopped → kept, gauge 0', async (ctx) => {
    requireTools(ctx, ['prometheus']);
    exporters.pa!.pods = [100, 100];
    exporters.pb!.pods = [100, 100, 100, 100];
    await waitFor(async () => (await promValue(ports.all!)) === 600, { what: 'the one Prometheus to report 600', timeoutMs: 30_000, intervalMs: 200 });
    const { cm } = await startCm('federation-url.yaml', { source: 'url', url: `http://127.0.0.1:${ports.all}` });
    try {
      await waitReplicas(cm.url, 12, 'one URL (600 → 12)');
      exporters.pb!.pods = [100];
      await waitReplicas(cm.url, 6, 'one URL (300 → 6)');
      expect(await metric(cm.url, 'cluster_mgr_autoscale_source_up')).toEqual({ 'app="shop/web",source="url"': 1 });
      await proms.all!.stop();
      proms.all = undefined;
      await waitFor(async () => (await metric(cm.url, 'cluster_mgr_autoscale_source_up'))['app="shop/web",source="url"'] === 0, { what: 'gauge url = 0', timeoutMs: 10_000 });
      const n0 = await evaluations(cm.url);
      await waitFor(async () => (await evaluations(cm.url)) >= n0 + 3, { what: '3 more evaluations with the URL down', timeoutMs: 10_000 });
      expect(await desired(cm.url)).toBe(6);
      expect(sum(deploymentReplicas(sim!))).toBe(6);
    } finally {
      await cm.stop();
    }
  }, 120_000);
});
