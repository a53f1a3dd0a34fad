// A subscribed rule template reaches the team's receivers, end to end with the real programs: a real
// Prometheus evaluates bj1's synthesized team PrometheusRule (flotilla-team-shop) over a test
// exporter's kube-state-metrics series and sends to a real Alertmanager running bj1's synthesized
// Alertmanager config. Test-only changes, and only these: receiver URLs point at loopback receivers
// (the email receivers become webhooks: no SMTP server here), SMTP settings are dropped, rule `for`
// becomes 0s and group waits are short, so the run takes seconds instead of 10 minutes.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadSite } from '../../infra/site/index';
import { synthesizeSite } from '../../infra/synth/index';
import { freePort, isCI, makeDir, missingTools, requireTools, startDaemon, waitFor, waitForPort, type Daemon } from '../lab/index';
import { startReceiver, type Receiver } from './receiver';

const TOOLS = ['prometheus', 'prometheus-alertmanager'];
type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface AmNotification {
  status: string;
  alerts: { labels: Record<string, string> }[];
}

describe('team rule template → Prometheus → Alertmanager → the team receiver (real programs, bj1)', () => {
  const receivers = new Map<string, Receiver>();
  let exporter: Server | undefined;
  let prom: Daemon | undefined;
  let am: Daemon | undefined;

  beforeAll(async () => {
    if (missingTools(TOOLS).length > 0 && !isCI()) return;
    const loaded = await loadSite('examples/bj1.yaml');
    if (!loaded.ok) throw new Error('bj1 invalid');
    const synth = synthesizeSite(loaded.value).clusters[0]!;
    const kps = synth.charts.find((r) => r.id === 'kube-prometheus-stack')!.values as Config;
    const teamRule = synth.components.find((c) => c.component === 'monitoring')!.objects.find((o) => o.metadata.name === 'flotilla-team-shop') as unknown as { spec: Config };

    // Alertmanager: the synthesized config, receivers redirected to loopback webhooks.
    const amConfig = structuredClone(kps.alertmanager.config) as Config;
    for (const r of amConfig.receivers as Config[]) {
      if (r.name === 'null') continue;
      const rec = await startReceiver();
      receivers.set(r.name, rec);
      delete r.email_configs;
      r.webhook_configs = [{ url: rec.url, send_resolved: true }];
    }
    amConfig.global = { resolve_timeout: '5m' };
    amConfig.templates = [];
    Object.assign(amConfig.route, { group_wait: '100ms', group_interval: '500ms' });
    const amDir = makeDir('team-alertmanager');
    const amPort = await freePort();
    writeFileSync(join(amDir, 'alertmanager.yml'), stringify(amConfig));
    am = startDaemon({
      name: 'alertmanager',
      command: 'prometheus-alertmanager',
      dir: amDir,
      args: [`--config.file=${amDir}/alertmanager.yml`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address=', `--storage.path=${amDir}/data`],
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${amPort}/-/ready`).catch(() => undefined))?.status === 200, { what: 'Alertmanager /-/ready', timeoutMs: 20_000, intervalMs: 100 });

    // kube-state-metrics stand-in: shop's pod crash-loops, a pod outside the team's namespaces too.
    exporter = createServer((_req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(
        '# TYPE kube_pod_container_status_waiting_reason gauge\n' +
          'kube_pod_container_status_waiting_reason{namespace="shop",pod="web-1",container="web",reason="CrashLoopBackOff"} 1\n' +
          'kube_pod_container_status_waiting_reason{namespace="billing",pod="api-1",container="api",reason="CrashLoopBackOff"} 1\n',
      );
    });
    await new Promise<void>((r) => exporter!.listen(0, '127.0.0.1', r));
    const exporterPort = (exporter.address() as AddressInfo).port;

    // Prometheus: the synthesized team rule (for: 0s), alerting to the Alertmanager above.
    const rules = structuredClone(teamRule.spec) as Config;
    for (const g of rules.groups as Config[]) for (const r of g.rules as Config[]) r.for = '0s';
    const promDir = makeDir('team-prometheus');
    const promPort = await freePort();
    writeFileSync(join(promDir, 'rules.yml'), stringify(rules));
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '500ms', evaluation_interval: '500ms' },
        rule_files: [join(promDir, 'rules.yml')],
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
        scrape_configs: [{ job_name: 'kube-state-metrics', static_configs: [{ targets: [`127.0.0.1:${exporterPort}`] }] }],
      }),
    );
    prom = startDaemon({
      name: 'prometheus',
      command: 'prometheus',
      dir: promDir,
      args: [`--config.file=${promDir}/prometheus.yml`, `--storage.tsdb.path=${promDir}/data`, `--web.listen-address=127.0.0.1:${promPort}`],
    });
    await waitForPort('127.0.0.1', promPort, { timeoutMs: 20_000 });
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await am?.stop();
    for (const r of receivers.values()) await r.close();
    await new Promise((r) => (exporter ? exporter.close(r) : r(undefined)));
  }, 30_000);

  it('PodCrashLooping in shop reaches shop-im and shop-mail with team=shop; not the ops receivers; billing is not the team’s', async (ctx) => {
    requireTools(ctx, TOOLS);
    const got = (name: string) => (receivers.get(name)?.bodies ?? []) as AmNotification[];
    const crash = (n: AmNotification) => n.status === 'firing' && n.alerts.some((a) => a.labels.alertname === 'PodCrashLooping');
    await waitFor(() => got('shop-im').some(crash) && got('shop-mail').some(crash), { what: 'PodCrashLooping at shop-im and shop-mail', timeoutMs: 30_000 });
    const alert = got('shop-im').find(crash)!.alerts.find((a) => a.labels.alertname === 'PodCrashLooping')!;
    expect(alert.labels).toMatchObject({ team: 'shop', product: 'mall', template: 'pod-crash-looping', namespace: 'shop', pod: 'web-1', severity: 'warning' });
    // Only the team's namespaces are watched, and the team's alerts go to the team only.
    const all = [...receivers.values()].flatMap((r) => r.bodies as AmNotification[]).flatMap((n) => n.alerts);
    expect(all.some((a) => a.labels.namespace === 'billing')).toBe(false);
    expect(got('ops-webhook').length + got('ops-mail').length).toBe(0);
  }, 60_000);
});
