// Monitoring that survives (issue 14 item 6), checked with the real Prometheus/Alertmanager tools:
// - the Alertmanager config every example produces passes `amtool check-config`, and
//   `amtool config routes test` sends a team's alert to the team's receivers only;
// - the cluster-capacity alert is evaluated by `promtool test rules` over series input (fires at
//   87.5 % of schedulable CPU after `for`, not for finished pods or cordoned nodes);
// - every Grafana dashboard query is valid PromQL (`promtool check rules` as recording rules);
// - PVCs, retention, Grafana, team PrometheusRules, SMTP without a password in the output;
// - the inventory's new fields reject bad input with the field located.
// (`promtool check rules` on every PrometheusRule: promtool.test.ts; objects' schemas: test/schema.)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument, stringify } from 'yaml';
import { dashboardPanels, SMTP_PASSWORD_FILE, SMTP_SECRET } from '../../constructs/index';
import { alertmanagerConfig, prometheusRetentionSize } from '../../infra/catalog/values';
import { clusterEndpoints } from '../../infra/pulumi/plan';
import { formatError, loadSite, parseSite, RULE_TEMPLATES, subscribedTemplates, type Site } from '../../infra/site/index';
import { RULE_TEMPLATE_NAMES } from '../../infra/site/schema';
import { synthesizeSite, type SiteSynth } from '../../infra/synth/index';
import type { K8sObject } from '../../infra/synth/types';
import { run } from '../lab/exec';
import { requireTools } from '../lab/tools';
import { ofKind, spec } from './helpers';

const EXAMPLES = ['bj1', 'sh1', 'customer-airgap'];
const sites = new Map<string, Site>();
const synths = new Map<string, SiteSynth>();
const dir = mkdtempSync(join(tmpdir(), 'flotilla-monitoring-'));
beforeAll(async () => {
  for (const name of EXAMPLES) {
    const r = await loadSite(`examples/${name}.yaml`);
    if (!r.ok) throw new Error(`${name} invalid`);
    sites.set(name, r.value);
    synths.set(name, synthesizeSite(r.value));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Values = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const kps = (name: string, cluster?: string): Values => {
  const c = cluster ? synths.get(name)!.clusters.find((x) => x.cluster === cluster)! : synths.get(name)!.clusters[0]!;
  return c.charts.find((r) => r.id === 'kube-prometheus-stack')!.values as Values;
};
const monitoringObjects = (name: string, cluster?: string): readonly K8sObject[] => {
  const c = cluster ? synths.get(name)!.clusters.find((x) => x.cluster === cluster)! : synths.get(name)!.clusters[0]!;
  return c.components.find((m) => m.component === 'monitoring')!.objects;
};
const amtool = (args: string[]) => run('amtool', args, { timeoutMs: 30_000 });
function writeConfig(name: string, config: unknown): string {
  const file = join(dir, `${name}-alertmanager.yml`);
  writeFileSync(file, stringify(config));
  return file;
}
/** Receivers `amtool config routes test` picks for an alert with these labels. */
async function routeOf(file: string, labels: Record<string, string>): Promise<string[]> {
  const r = await amtool(['config', 'routes', 'test', `--config.file=${file}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split(',').sort();
}

describe('Alertmanager config (amtool)', () => {
  it.for(EXAMPLES)('examples/%s: every cluster passes amtool check-config', async (name, ctx) => {
    requireTools(ctx, ['amtool']);
    for (const c of synths.get(name)!.clusters) {
      const file = writeConfig(`${name}-${c.cluster}`, kps(name, c.cluster).alertmanager.config);
      const r = await amtool(['check-config', file]);
      expect(r.stdout + r.stderr, file).toMatch(/SUCCESS/);
      expect(r.code).toBe(0);
    }
  });

  it('a broken config fails amtool check-config (the check can fail)', async (ctx) => {
    requireTools(ctx, ['amtool']);
    const config = structuredClone(kps('bj1').alertmanager.config);
    config.route.routes.push({ receiver: 'nobody', matchers: ['team = "x"'] });
    const r = await amtool(['check-config', writeConfig('broken', config)]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/undefined receiver "nobody"/);
  });

  it('bj1: a team alert reaches only the team receivers; other alerts every receiver no team names; Watchdog nowhere', async (ctx) => {
    requireTools(ctx, ['amtool']);
    const file = writeConfig('bj1-routes', kps('bj1').alertmanager.config);
    expect(await routeOf(file, { alertname: 'PodCrashLooping', team: 'shop', namespace: 'shop' })).toEqual(['shop-im', 'shop-mail']);
    expect(await routeOf(file, { alertname: 'ClusterCpuRequestsHigh', severity: 'warning' })).toEqual(['ops-mail', 'ops-webhook']);
    expect(await routeOf(file, { alertname: 'PodCrashLooping', team: 'other' })).toEqual(['ops-mail', 'ops-webhook']);
    expect(await routeOf(file, { alertname: 'Watchdog' })).toEqual(['null']);
  });

  it('SMTP: global settings, the password only as a file path (the mounted Secret); email receivers need smtp', () => {
    const v = kps('bj1');
    expect(v.alertmanager.config.global).toEqual({
      resolve_timeout: '5m',
      smtp_smarthost: 'smtp.bj1.example.com:587',
      smtp_from: 'alerts@bj1.example.com',
      smtp_require_tls: true,
      smtp_auth_username: 'alerts',
      smtp_auth_password_file: SMTP_PASSWORD_FILE,
    });
    expect(v.alertmanager.alertmanagerSpec.secrets).toEqual([SMTP_SECRET.name]);
    expect(JSON.stringify(v)).not.toMatch(/"smtp_auth_password"|auth_password"/);
    const secret = ofKind(monitoringObjects('bj1'), 'Secret').find((s) => s.metadata.name === SMTP_SECRET.name)!;
    expect(secret.stringData).toEqual({ [SMTP_SECRET.key]: '' });
    expect((secret.metadata.annotations as Record<string, string> | undefined)?.['flotilla.dev/filled-by']).toBeDefined();
    // no auth: no Secret, no file
    expect(kps('customer-airgap').alertmanager.config.global.smtp_auth_password_file).toBeUndefined();
    expect(ofKind(monitoringObjects('customer-airgap'), 'Secret')).toEqual([]);
    // an email receiver without smtp is left out (Alertmanager would refuse it); webhooks stay
    const m = { receivers: [{ name: 'mail', email: { to: 'a@b.c' } }, { name: 'hook', webhook: { url: 'http://x/' } }], teams: [], smtp: undefined };
    expect((alertmanagerConfig(m, SMTP_PASSWORD_FILE).receivers as { name: string }[]).map((r) => r.name)).toEqual(['null', 'hook']);
  });
});

describe('storage, retention, Grafana', () => {
  it('Prometheus, Alertmanager and Grafana on PVCs with the inventory sizes; retention and retentionSize', () => {
    const v = kps('bj1');
    const p = v.prometheus.prometheusSpec;
    expect(p.storageSpec.volumeClaimTemplate.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Gi' } } });
    expect(p.retention).toBe('15d');
    expect(p.retentionSize).toBe('92160MB'); // 90 % of 100Gi
    const a = v.alertmanager.alertmanagerSpec;
    expect(a.storage.volumeClaimTemplate.spec.resources.requests.storage).toBe('2Gi');
    expect(a.retention).toBe('120h');
    expect(v.grafana).toMatchObject({ enabled: true, persistence: { enabled: true, size: '10Gi' }, sidecar: { dashboards: { enabled: true, label: 'grafana_dashboard', labelValue: '1' } } });
    expect(kps('sh1').prometheus.prometheusSpec.retentionSize).toBe('153600MB'); // explicit 150Gi
    // defaults when the inventory says nothing: 50Gi, 2Gi, 10Gi
    const d = kps('customer-airgap');
    expect(d.alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec.resources.requests.storage).toBe('2Gi');
    expect(d.grafana.persistence.size).toBe('10Gi');
    expect(prometheusRetentionSize('50Gi')).toBe('46080MB');
  });

  it('every cluster has the site dashboard; the cluster running cluster-mgr also the federation one', () => {
    for (const name of EXAMPLES) {
      for (const [i, c] of synths.get(name)!.clusters.entries()) {
        const cms = ofKind(monitoringObjects(name, c.cluster), 'ConfigMap').filter((o) => (o.metadata.labels as Record<string, string> | undefined)?.grafana_dashboard === '1');
        expect(cms.map((o) => o.metadata.name).sort()).toEqual(i === 0 ? ['flotilla-dashboard-federation', 'flotilla-dashboard-site'] : ['flotilla-dashboard-site']);
        for (const cm of cms) {
          const json = JSON.parse(Object.values(cm.data as Record<string, string>)[0]!) as { uid: string; panels: { targets: { expr: string }[] }[] };
          expect(json.panels.length).toBeGreaterThan(4);
          expect(json.panels.every((p) => p.targets[0]!.expr.length > 0)).toBe(true);
        }
      }
    }
  });

  it('the Grafana URL of the stack outputs is routed through the site gateway to Grafana', () => {
    for (const name of EXAMPLES) {
      const site = sites.get(name)!;
      for (const cluster of site.spec.clusters) {
        const url = clusterEndpoints(site, cluster).grafanaUrl;
        expect(kps(name, cluster.name).grafana['grafana.ini'].server.root_url).toBe(url);
        const vs = ofKind(monitoringObjects(name, cluster.name), 'VirtualService').find((o) => o.metadata.name === 'grafana');
        expect(vs, `${name}/${cluster.name}`).toBeDefined();
        expect(spec(vs).hosts).toEqual([new URL(url).hostname]);
        expect(spec(vs).gateways).toEqual(['istio-ingress/site-gateway']);
        expect(spec(vs).http[0].route[0].destination.host).toBe('kube-prometheus-stack-grafana.monitoring.svc.cluster.local');
      }
    }
  });

  it('every dashboard query is valid PromQL (promtool check rules)', async (ctx) => {
    requireTools(ctx, ['promtool']);
    const file = join(dir, 'dashboards.yaml');
    const rules = dashboardPanels().map((p, i) => ({ record: `flotilla:dashboard_panel_${i}`, expr: p.expr }));
    writeFileSync(file, stringify({ groups: [{ name: 'dashboards', rules }] }));
    const r = await run('promtool', ['check', 'rules', file], { timeoutMs: 30_000 });
    expect(r.stdout + r.stderr).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
    expect(r.code).toBe(0);
  });
});

describe('team rule templates', () => {
  it('bj1: team shop gets its subscribed templates (by name and by label) scoped to its namespaces, labelled team=shop', () => {
    const site = sites.get('bj1')!;
    const team = site.spec.monitoring.teams[0]!;
    const want = subscribedTemplates(team);
    expect(want).toEqual(['pod-crash-looping', 'deployment-replicas-unavailable', 'http-5xx-ratio-high', 'http-latency-high']);
    const rule = ofKind(monitoringObjects('bj1'), 'PrometheusRule').find((o) => o.metadata.name === 'flotilla-team-shop')!;
    expect(rule.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack', team: 'shop' });
    const rules = spec(rule).groups[0].rules as { alert: string; expr: string; labels: Record<string, string> }[];
    expect(rules.map((r) => r.labels.template)).toEqual(want);
    for (const r of rules) {
      expect(r.labels).toMatchObject({ team: 'shop', product: 'mall', ...RULE_TEMPLATES[r.labels.template as keyof typeof RULE_TEMPLATES] });
      expect(r.expr).toMatch(/namespace=~"shop\|shop-canary"/);
    }
  });

  it('sh1: a subscription by label only (category: workload)', () => {
    const rule = ofKind(monitoringObjects('sh1'), 'PrometheusRule').find((o) => o.metadata.name === 'flotilla-team-payments')!;
    const templates = (spec(rule).groups[0].rules as { labels: Record<string, string> }[]).map((r) => r.labels.template);
    expect(templates).toEqual(RULE_TEMPLATE_NAMES.filter((n) => RULE_TEMPLATES[n].category === 'workload'));
  });
});

describe('cluster-capacity alert (promtool test rules)', () => {
  // The bj1 platform rules as synthesized (CPU threshold 85 %, memory 90 %, for 15m).
  const rulesFile = () => {
    const rule = ofKind(monitoringObjects('bj1'), 'PrometheusRule').find((o) => o.metadata.name === 'flotilla-platform')!;
    const file = join(dir, 'platform-rules.yaml');
    writeFileSync(file, stringify(spec(rule)));
    return file;
  };
  // 3 nodes × 4 CPU, n3 cordoned → 8 schedulable. Pods: p1 (2 containers, 3.5 + 1.5), p2 2 → 7/8 =
  // 87.5 %; p3 (4 CPU) has Succeeded and does not count. Memory: 16Gi of 24Gi schedulable → 66 %.
  const series = (p2Cpu: string) => [
    ...['n1', 'n2', 'n3'].flatMap((n) => [
      { series: `kube_node_status_allocatable{resource="cpu",node="${n}"}`, values: '4x40' },
      { series: `kube_node_status_allocatable{resource="memory",node="${n}"}`, values: `${12 * 2 ** 30}x40` },
      { series: `kube_node_spec_unschedulable{node="${n}"}`, values: n === 'n3' ? '1x40' : '0x40' },
    ]),
    { series: 'kube_pod_container_resource_requests{resource="cpu",namespace="a",pod="p1",container="c1",node="n1"}', values: '3.5x40' },
    { series: 'kube_pod_container_resource_requests{resource="cpu",namespace="a",pod="p1",container="c2",node="n1"}', values: '1.5x40' },
    { series: 'kube_pod_container_resource_requests{resource="cpu",namespace="b",pod="p2",container="c",node="n2"}', values: p2Cpu },
    { series: 'kube_pod_container_resource_requests{resource="cpu",namespace="b",pod="p3",container="c",node="n2"}', values: '4x40' },
    { series: 'kube_pod_container_resource_requests{resource="memory",namespace="a",pod="p1",container="c1",node="n1"}', values: `${16 * 2 ** 30}x40` },
    ...[['a', 'p1', 'Running'], ['b', 'p2', 'Running'], ['b', 'p3', 'Succeeded']].flatMap(([ns, pod, phase]) =>
      ['Pending', 'Running', 'Succeeded'].map((ph) => ({ series: `kube_pod_status_phase{namespace="${ns}",pod="${pod}",phase="${ph}"}`, values: ph === phase ? '1x40' : '0x40' })),
    ),
  ];
  const summary = "Pod requests use 87.5% of the cluster's allocatable CPU (threshold 85%): add nodes or lower requests";
  const testFile = (tests: unknown[]) => {
    const file = join(dir, `capacity-${tests.length}-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, stringify({ rule_files: [rulesFile()], evaluation_interval: '1m', tests }));
    return file;
  };

  it('fires at 87.5 % of schedulable CPU after 15m, not before; not at 75 %; memory below 90 % stays quiet', async (ctx) => {
    requireTools(ctx, ['promtool']);
    const file = testFile([
      {
        interval: '1m',
        input_series: series('2x40'),
        alert_rule_test: [
          { eval_time: '10m', alertname: 'ClusterCpuRequestsHigh', exp_alerts: [] },
          { eval_time: '20m', alertname: 'ClusterCpuRequestsHigh', exp_alerts: [{ exp_labels: { severity: 'warning' }, exp_annotations: { summary } }] },
          { eval_time: '20m', alertname: 'ClusterMemoryRequestsHigh', exp_alerts: [] },
        ],
      },
      // p2 requests 1 CPU: 6/8 = 75 % (p3's 4 CPU would make it 125 % if finished pods counted)
      { interval: '1m', input_series: series('1x40'), alert_rule_test: [{ eval_time: '30m', alertname: 'ClusterCpuRequestsHigh', exp_alerts: [] }] },
    ]);
    const r = await run('promtool', ['test', 'rules', file], { timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
  });

  it('a wrong expectation fails (the evaluation can fail)', async (ctx) => {
    requireTools(ctx, ['promtool']);
    const file = testFile([
      { interval: '1m', input_series: series('1x40'), alert_rule_test: [{ eval_time: '30m', alertname: 'ClusterCpuRequestsHigh', exp_alerts: [{ exp_labels: { severity: 'warning' } }] }] },
    ]);
    const r = await run('promtool', ['test', 'rules', file], { timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/FAILED/);
  });
});

describe('inventory: monitoring fields', () => {
  const base = readFileSync('examples/bj1.yaml', 'utf8');
  type Doc = ReturnType<typeof parseDocument>;
  const m = ['spec', 'monitoring'];
  it.each([
    ['an unknown template', (d: Doc) => d.setIn([...m, 'teams', 0, 'templates'], ['pod-crashlooping']), 'spec.monitoring.teams[0].templates[0]', /pod-crash-looping/],
    ['a team receiver that does not exist', (d: Doc) => d.setIn([...m, 'teams', 0, 'receivers'], ['shop-pager']), 'spec.monitoring.teams[0].receivers[0]', /"shop-pager" is not a receiver: use one of ops-webhook/],
    ['a team picking nothing', (d: Doc) => { d.setIn([...m, 'teams', 0, 'templates'], []); d.setIn([...m, 'teams', 0, 'templateLabels'], { category: 'nope' }); }, 'spec.monitoring.teams[0].templates', /subscribes to no rule template/],
    ['a receiver with webhook and email', (d: Doc) => d.setIn([...m, 'receivers', 0, 'email'], { to: 'a@b.c' }), 'spec.monitoring.receivers[0]', /exactly one of webhook or email/],
    ['a bad smarthost', (d: Doc) => d.setIn([...m, 'smtp', 'smarthost'], 'smtp.bj1.example.com'), 'spec.monitoring.smtp.smarthost', /not host:port/],
    ['a bad Prometheus size', (d: Doc) => d.setIn([...m, 'prometheus', 'storage'], '100GB'), 'spec.monitoring.prometheus.storage', /not a positive quantity/],
    ['a capacity threshold above 100', (d: Doc) => d.setIn([...m, 'capacity', 'cpuRequestsPercent'], 120), 'spec.monitoring.capacity.cpuRequestsPercent', /at most 100/],
  ])('rejects %s', (_n, fn, path, message) => {
    const doc = parseDocument(base);
    fn(doc);
    const r = parseSite(doc.toString(), 'bj1.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const e = r.errors.find((x) => formatError(x).includes(` ${path}:`));
    expect(e, r.errors.map(formatError).join('\n')).toBeDefined();
    expect(formatError(e!)).toMatch(message);
    expect(formatError(e!)).toMatch(/^bj1\.yaml:\d+:\d+ /);
  });
});
