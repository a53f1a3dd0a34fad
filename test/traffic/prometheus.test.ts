// Autoscaling end to end: a real Prometheus scrapes a test exporter with per-pod CPU; the
// autoscaler's decision follows ceil(sum / target) with clamp and tolerance; Prometheus stopped →
// count unchanged and a query-failing alert reaches a webhook.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { PrometheusSource, startAutoscaler } from '../../cluster-mgr/adapters/prometheus';
import type { App, Federation } from '../../cluster-mgr/config/schema';
import { AppAutoscaling } from '../../cluster-mgr/daemon/autoscale';
import { WebhookAlerter, type WebhookPayload } from '../../cluster-mgr/adapters/webhook';
import type { AutoscaleDecision } from '../../cluster-mgr/core/autoscale';
import { freePort, isCI, makeDir, missingTools, requireTools, startDaemon, waitFor, type Daemon } from '../lab/index';
import { startReceiver, type Receiver } from './receiver';

const QUERY = 'sum(flotilla_test_pod_cpu_percent{namespace="shop",pod=~"web-.*"})';
const available = missingTools(['prometheus']).length === 0;

describe('autoscaling against a real Prometheus', () => {
  let exporter: Server;
  let pods: number[] = [80, 80, 80, 80];
  let prom: Daemon | undefined;
  let promPort: number;
  let receiver: Receiver;

  beforeAll(async () => {
    if (!available && !isCI()) return;
    exporter = createServer((_req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(
        '# TYPE flotilla_test_pod_cpu_percent gauge\n' +
          pods.map((v, i) => `flotilla_test_pod_cpu_percent{namespace="shop",pod="web-${i}"} ${v}\n`).join('') +
          'flotilla_test_pod_cpu_percent{namespace="other",pod="web-0"} 999\n',
      );
    });
    await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
    const exporterPort = (exporter.address() as AddressInfo).port;
    const dir = makeDir('prometheus');
    promPort = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 500ms, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: pods\n    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]\n`,
    );
    prom = startDaemon({
      name: 'prometheus',
      command: 'prometheus',
      dir,
      args: [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${promPort}`, '--query.lookback-delta=2s'],
    });
    receiver = await startReceiver();
  });

  afterAll(async () => {
    await prom?.stop();
    await receiver?.close();
    await new Promise((r) => (exporter ? exporter.close(r) : r(undefined)));
  });

  it('autoscaling follows the app set live: an app added later scales, a removed one stops', async (ctx) => {
    requireTools(ctx, ['prometheus']);
    const source = new PrometheusSource({ url: `http://127.0.0.1:${promPort}`, timeoutMs: 2000 });
    pods = [80, 80, 80, 80];
    await waitFor(async () => (await source.query(QUERY)) === 320, { what: 'prometheus to report 320', timeoutMs: 20_000, intervalMs: 200 });
    const ac = new AbortController();
    let changes = 0;
    const scaling = new AppAutoscaling();
    const federation = { metadata: { name: 'f' }, spec: { prometheus: { url: `http://127.0.0.1:${promPort}` } } } as unknown as Federation;
    const web = { name: 'web', namespace: 'shop', replicas: 4, autoscale: { query: QUERY, interval: '200ms', targetPerReplica: 50, min: 2, max: 9 } } as unknown as App;
    const plain = { name: 'db', namespace: 'shop', replicas: 1 } as unknown as App;
    scaling.start({ federation, apps: [plain], log: pino({ level: 'silent' }), signal: ac.signal, onChange: () => changes++, alertOnce: async () => undefined });
    try {
      expect(scaling.desired('shop/web')).toBeUndefined();
      scaling.update([plain, web]); // added later (apps folder, FederatedApp CR)
      await waitFor(() => scaling.desired('shop/web') === 7, { what: 'the added app autoscaled to 7', timeoutMs: 10_000 });
      expect(changes).toBeGreaterThan(0);
      scaling.update([plain]); // removed: its total is dropped and its loop stops
      expect(scaling.desired('shop/web')).toBeUndefined();
      const before = changes;
      pods = [90, 90, 90, 90, 90, 90, 90];
      await waitFor(async () => (await source.query(QUERY)) === 630, { what: 'prometheus to report 630', timeoutMs: 20_000, intervalMs: 200 });
      await waitFor(async () => (await source.query(QUERY)) === 630, { timeoutMs: 2000, intervalMs: 500 }); // > 2 loop intervals
      expect(scaling.desired('shop/web')).toBeUndefined();
      expect(changes).toBe(before);
    } finally {
      ac.abort();
      pods = [80, 80, 80, 80]; // what the next test starts from
    }
  });

  it('follows the formula with clamp and tolerance; Prometheus down keeps the count and alerts', async (ctx) => {
    requireTools(ctx, ['prometheus']);
    const source = new PrometheusSource({ url: `http://127.0.0.1:${promPort}`, timeoutMs: 2000 });
    const waitValue = (want: number) =>
      waitFor(async () => (await source.query(QUERY)) === want, { what: `prometheus to report ${want}`, timeoutMs: 20_000, intervalMs: 200 });

    // 4 pods at 80 % → 320 / 50 → 7 (wait for data first, so the scheduler's first run sees it).
    await waitValue(320);
    let current = 4;
    const decisions: AutoscaleDecision[] = [];
    const ac = new AbortController();
    const scaler = startAutoscaler({
      apps: [{ key: 'shop/web', query: QUERY, intervalMs: 3_600_000, spec: { namespace: 'shop', app: 'web', targetPerReplica: 50, min: 2, max: 9, scaleDownStabilizationMs: 0 } }],
      source,
      current: () => current,
      onDecision: (_k, d) => {
        decisions.push(d);
        current = d.replicas;
      },
      alerter: new WebhookAlerter({ url: receiver.url }),
      signal: ac.signal,
    });
    try {
      expect((await scaler.tick('shop/web'))!.replicas).toBe(7);
      expect(current).toBe(7);

      // 7 pods at 52 % = 364: 364 / 350 − 1 = 0.04 ≤ 0.1 → stays 7.
      pods = Array(7).fill(52);
      await waitValue(364);
      const kept = (await scaler.tick('shop/web'))!;
      expect(kept.replicas).toBe(7);
      expect(kept.reason).toMatch(/tolerance/);

      // 7 pods at 90 % = 630 → 13, clamped to max 9.
      pods = Array(7).fill(90);
      await waitValue(630);
      expect((await scaler.tick('shop/web'))!.replicas).toBe(9);

      // 9 pods at 5 % = 45 → 1, clamped to min 2.
      pods = Array(9).fill(5);
      await waitValue(45);
      expect((await scaler.tick('shop/web'))!.replicas).toBe(2);

      // Prometheus stopped: count unchanged, alert delivered.
      await prom!.stop();
      const down = (await scaler.tick('shop/web'))!;
      expect(down.replicas).toBe(2);
      expect(current).toBe(2);
      await waitFor(() => (receiver.bodies as WebhookPayload[]).some((b) => b.alertname === 'FederationAutoscaleQueryFailing' && b.status === 'firing'), {
        what: 'query-failing alert at the webhook',
        timeoutMs: 5000,
      });
      const alert = (receiver.bodies as WebhookPayload[]).findLast((b) => b.alertname === 'FederationAutoscaleQueryFailing')!;
      expect(alert.labels).toEqual({ namespace: 'shop', app: 'web' });
      expect(alert.description).toMatch(/unreachable/);
    } finally {
      ac.abort();
    }
  });
});
