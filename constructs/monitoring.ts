// Monitoring: PrometheusRule alert templates for the platform (cluster capacity included), the rule
// templates teams subscribe to (one PrometheusRule per team, its alerts labelled team=<name>), a
// blackbox Probe per site URL that fails on a non-2xx status or on a body containing the configured
// string, the site and federation Grafana dashboards (ConfigMaps the Grafana sidecar loads), the
// Grafana route through the site gateway, and the SMTP password Secret's placeholder. Alertmanager's
// routing (receivers, SMTP, team routes) is kube-prometheus-stack values: infra/catalog/values.ts.
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { RULE_TEMPLATES, type RuleTemplateName } from '../infra/site/schema';
import { checkDnsName, checkDuration, checkLabel, checkPositiveInt, PROMETHEUS_RELEASE_LABELS, PropError } from './common';
import { Probe, PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from './imports/monitoring.coreos.com';
import { VirtualService } from './imports/networking.istio.io';
import { federationPanels, grafanaDashboard, sitePanels, type DashboardPanel } from './monitoring-dashboards';

const NAME = 'Monitoring';

export interface UrlProbe {
  readonly name: string;
  readonly url: string;
  /** The probe fails when the body contains this string. @default - only the status is checked */
  readonly bodyMustNotContain?: string;
  /** @default - '30s' */
  readonly interval?: string;
}

/** A team's subscription to rule templates. */
export interface TeamSubscription {
  readonly name: string;
  /** Namespaces the team's rules watch. */
  readonly namespaces: readonly string[];
  /** Templates picked (by name or by label; see the site schema's subscribedTemplates). */
  readonly templates: readonly RuleTemplateName[];
  /** Extra labels on the team's alerts (`team: <name>` is always set). @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Cluster-capacity alert thresholds. */
export interface CapacityThresholds {
  /** @default - 85 */
  readonly cpuRequestsPercent?: number;
  /** @default - 85 */
  readonly memoryRequestsPercent?: number;
  /** @default - '15m' */
  readonly for?: string;
}

export interface MonitoringProps {
  /**
   * Site URL probes, one `Probe` each.
   * @default - no probes
   */
  readonly probes?: readonly UrlProbe[];
  /**
   * Namespace of the rules, Alertmanager config and probes (the kube-prometheus-stack namespace).
   * @default - 'monitoring'
   */
  readonly namespace?: string;
  /**
   * Blackbox exporter address (`host:port`).
   * @default - 'prometheus-blackbox-exporter.<namespace>.svc:9115'
   */
  readonly proberUrl?: string;
  /**
   * Label the Prometheus rule/probe selectors match.
   * @default - { release: 'kube-prometheus-stack' }
   */
  readonly selectorLabels?: Readonly<Record<string, string>>;
  /**
   * Teams and the rule templates they subscribe to: one PrometheusRule `flotilla-team-<name>` each.
   * @default - none
   */
  readonly teams?: readonly TeamSubscription[];
  /** @default - 85 % CPU and memory requests for 15m */
  readonly capacity?: CapacityThresholds;
  /**
   * Grafana dashboards as ConfigMaps: the site dashboard always, the federation one when true
   * (the cluster that runs cluster-mgr).
   * @default - false
   */
  readonly federationDashboard?: boolean;
  /**
   * Route `grafanaHost` through this Istio Gateway (`<namespace>/<name>`) to Grafana.
   * @default - no route
   */
  readonly grafanaGateway?: string;
  /** Host name of Grafana behind `grafanaGateway`. @default - none (required with grafanaGateway) */
  readonly grafanaHost?: string;
  /**
   * An empty Secret `alertmanager-smtp` (key `smtp-password`) that the Pulumi program fills from the
   * stack secret flotilla:smtpPassword; Alertmanager reads the password from its mounted file.
   * @default - false
   */
  readonly smtpPasswordSecret?: boolean;
}

/** Secret with the SMTP password, mounted into Alertmanager (`alertmanagerSpec.secrets`). */
export const SMTP_SECRET = { name: 'alertmanager-smtp', key: 'smtp-password' } as const;
/** Where the Prometheus operator mounts `alertmanagerSpec.secrets`. */
export const SMTP_PASSWORD_FILE = `/etc/alertmanager/secrets/${SMTP_SECRET.name}/${SMTP_SECRET.key}`;
/** Label of the team a subscribed rule belongs to; Alertmanager routes by it. */
export const TEAM_LABEL = 'team';
/** The Grafana sidecar loads ConfigMaps with this label as dashboards. */
export const DASHBOARD_LABEL = { grafana_dashboard: '1' } as const;
/** Grafana's Service in kube-prometheus-stack (release `kube-prometheus-stack`). */
export const GRAFANA_SERVICE = 'kube-prometheus-stack-grafana';

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}
export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

const rule = (alert: string, expr: string, forDur: string, severity: string, summary: string): AlertRule => ({
  alert,
  expr,
  for: forDur,
  labels: { severity },
  annotations: { summary },
});

/** Share (%) of allocatable `resource` requested by running/pending pods, on schedulable nodes. */
export function requestsPercentExpr(resource: 'cpu' | 'memory'): string {
  return (
    `100 * sum(kube_pod_container_resource_requests{resource="${resource}"} * on (namespace, pod) group_left () max by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1))` +
    ` / sum(kube_node_status_allocatable{resource="${resource}"} and on (node) (kube_node_spec_unschedulable == 0))`
  );
}

/** The cluster-capacity alerts (requests against allocatable). */
export function capacityRuleGroup(c: CapacityThresholds = {}): RuleGroup {
  const forDur = c.for ?? '15m';
  const r = (alert: string, resource: 'cpu' | 'memory', pct: number) =>
    rule(alert, `${requestsPercentExpr(resource)} > ${pct}`, forDur, 'warning', `Pod requests use {{ $value | humanize }}% of the cluster's allocatable ${resource === 'cpu' ? 'CPU' : 'memory'} (threshold ${pct}%): add nodes or lower requests`);
  return {
    name: 'flotilla.capacity',
    rules: [r('ClusterCpuRequestsHigh', 'cpu', c.cpuRequestsPercent ?? 85), r('ClusterMemoryRequestsHigh', 'memory', c.memoryRequestsPercent ?? 85)],
  };
}

interface RuleTemplate {
  readonly alert: string;
  /** PromQL given the namespace matcher (`namespace=~"a|b"`) and the Istio one (`destination_workload_namespace=~"a|b"`). */
  readonly expr: (ns: string, istioNs: string) => string;
  readonly for: string;
  readonly summary: string;
}

/** The PromQL of each rule template (names and labels: RULE_TEMPLATES in the site schema). */
export const RULE_TEMPLATE_RULES: Readonly<Record<RuleTemplateName, RuleTemplate>> = {
  'pod-crash-looping': {
    alert: 'PodCrashLooping',
    expr: (ns) => `max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff",${ns}}[5m]) >= 1`,
    for: '10m',
    summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is crash-looping',
  },
  'pod-not-ready': {
    alert: 'PodNotReady',
    expr: (ns) => `sum by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Unknown|Failed",${ns}}) > 0`,
    for: '15m',
    summary: 'Pod {{ $labels.namespace }}/{{ $labels.pod }} has not been running for 15 minutes',
  },
  'deployment-replicas-unavailable': {
    alert: 'DeploymentUnavailable',
    expr: (ns) => `kube_deployment_status_replicas_available{${ns}} == 0 and kube_deployment_spec_replicas{${ns}} > 0`,
    for: '5m',
    summary: 'Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has no available replica',
  },
  'container-oom-killed': {
    alert: 'ContainerOomKilled',
    expr: (ns) => `increase(kube_pod_container_status_restarts_total{${ns}}[15m]) > 0 and on (namespace, pod, container) kube_pod_container_status_last_terminated_reason{reason="OOMKilled",${ns}} == 1`,
    for: '0m',
    summary: 'Container {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) was OOM-killed: raise its memory limit',
  },
  'container-cpu-throttled': {
    alert: 'ContainerCpuThrottled',
    expr: (ns) =>
      `sum by (namespace, pod, container) (increase(container_cpu_cfs_throttled_periods_total{${ns}}[5m])) / sum by (namespace, pod, container) (increase(container_cpu_cfs_periods_total{${ns}}[5m])) > 0.25`,
    for: '15m',
    summary: 'Container {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is CPU-throttled in over 25% of periods',
  },
  'pvc-filling-up': {
    alert: 'PersistentVolumeFillingUp',
    expr: (ns) => `kubelet_volume_stats_used_bytes{${ns}} / kubelet_volume_stats_capacity_bytes{${ns}} > 0.85`,
    for: '5m',
    summary: 'PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is more than 85% full',
  },
  'http-5xx-ratio-high': {
    alert: 'Http5xxRatioHigh',
    expr: (_ns, ins) =>
      `sum by (destination_workload_namespace, destination_workload) (rate(istio_requests_total{reporter="destination",response_code=~"5..",${ins}}[5m])) / sum by (destination_workload_namespace, destination_workload) (rate(istio_requests_total{reporter="destination",${ins}}[5m])) > 0.05`,
    for: '5m',
    summary: 'More than 5% of requests to {{ $labels.destination_workload_namespace }}/{{ $labels.destination_workload }} fail with 5xx',
  },
  'http-latency-high': {
    alert: 'HttpLatencyHigh',
    expr: (_ns, ins) =>
      `histogram_quantile(0.99, sum by (destination_workload_namespace, destination_workload, le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination",${ins}}[5m]))) > 1000`,
    for: '10m',
    summary: 'p99 latency of {{ $labels.destination_workload_namespace }}/{{ $labels.destination_workload }} is above 1 s',
  },
};

/** The rules of one team: each subscribed template scoped to its namespaces, labelled team=<name>. */
export function teamRuleGroup(t: TeamSubscription): RuleGroup {
  const re = t.namespaces.join('|'); // DNS labels: no regex metacharacters
  return {
    name: `flotilla.team.${t.name}`,
    rules: t.templates.map((name) => {
      const tpl = RULE_TEMPLATE_RULES[name];
      return {
        alert: tpl.alert,
        expr: tpl.expr(`namespace=~"${re}"`, `destination_workload_namespace=~"${re}"`),
        for: tpl.for,
        labels: { ...RULE_TEMPLATES[name], ...(t.labels ?? {}), template: name, [TEAM_LABEL]: t.name },
        annotations: { summary: tpl.summary },
      };
    }),
  };
}

/** The platform alert templates (exported for `promtool check rules`). */
export function platformRuleGroups(capacity: CapacityThresholds = {}): RuleGroup[] {
  return [
    {
      name: 'flotilla.nodes',
      rules: [
        rule('NodeNotReady', 'kube_node_status_condition{condition="Ready",status="true"} == 0', '5m', 'critical', 'Node {{ $labels.node }} has not been Ready for 5 minutes'),
        rule(
          'PodCrashLooping',
          'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1',
          '10m',
          'warning',
          'Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is crash-looping',
        ),
        rule(
          'PersistentVolumeFillingUp',
          'kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes > 0.85',
          '5m',
          'warning',
          'PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is more than 85% full',
        ),
      ],
    },
    {
      name: 'flotilla.ingress',
      rules: [
        rule(
          'IngressGateway5xxRatioHigh',
          'sum(rate(istio_requests_total{reporter="source",source_workload="istio-ingressgateway",response_code=~"5.."}[5m])) / sum(rate(istio_requests_total{reporter="source",source_workload="istio-ingressgateway"}[5m])) > 0.05',
          '5m',
          'critical',
          'More than 5% of requests through the ingress gateway fail with 5xx',
        ),
        rule(
          'CertificateExpiringSoon',
          'certmanager_certificate_expiration_timestamp_seconds - time() < 14 * 24 * 3600',
          '1h',
          'warning',
          'Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than 14 days',
        ),
        rule('SiteProbeFailing', 'probe_success == 0', '2m', 'critical', 'Site probe {{ $labels.job }} ({{ $labels.instance }}) is failing'),
      ],
    },
    {
      name: 'flotilla.platform',
      rules: [
        rule(
          'RegistrySyncLagging',
          'time() - kube_cronjob_status_last_successful_time{cronjob=~"registry-sync-.*"} > 2 * 3600',
          '15m',
          'warning',
          'Registry sync {{ $labels.cronjob }} has not succeeded for over 2 hours',
        ),
        rule('FederationMemberUnhealthy', 'cluster_mgr_member_healthy == 0', '1m', 'critical', 'Federation member {{ $labels.member }} is unhealthy'),
      ],
    },
    capacityRuleGroup(capacity),
  ];
}

/** Blackbox module name for a probe. */
export function probeModule(p: UrlProbe): string {
  return p.bodyMustNotContain ? `http_2xx_${p.name.replaceAll('-', '_')}` : 'http_2xx';
}

export const SITE_DASHBOARD = { uid: 'flotilla-site', title: 'Flotilla site', panels: sitePanels(requestsPercentExpr) } as const;
export const FEDERATION_DASHBOARD = { uid: 'flotilla-federation', title: 'Flotilla federation', panels: federationPanels() } as const;
/** Every dashboard query (for `promtool check rules`). */
export const dashboardPanels = (): DashboardPanel[] => [...SITE_DASHBOARD.panels, ...FEDERATION_DASHBOARD.panels];

const toRuleSpec = (groups: readonly RuleGroup[]) => ({
  groups: groups.map((g) => ({ name: g.name, rules: g.rules.map((r) => ({ ...r, expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr) })) })),
});

export class Monitoring extends Construct {
  constructor(scope: Construct, id: string, props: MonitoringProps = {}) {
    super(scope, id);
    const ns = props.namespace ?? 'monitoring';
    checkLabel(NAME, 'namespace', ns);
    const sel = { ...(props.selectorLabels ?? PROMETHEUS_RELEASE_LABELS) };
    const probes = props.probes ?? [];
    const teams = props.teams ?? [];
    const probeNames = new Set<string>();
    for (const [i, p] of probes.entries()) {
      checkLabel(NAME, `probes[${i}].name`, p.name);
      if (!/^https?:\/\//.test(p.url)) throw new PropError(NAME, `probes[${i}].url`, p.url, 'an http(s):// URL');
      checkDuration(NAME, `probes[${i}].interval`, p.interval ?? '30s');
      if (probeNames.has(p.name)) throw new PropError(NAME, `probes[${i}].name`, p.name, 'a probe name used once');
      probeNames.add(p.name);
    }
    const cap = props.capacity ?? {};
    if (cap.cpuRequestsPercent !== undefined) checkPositiveInt(NAME, 'capacity.cpuRequestsPercent', cap.cpuRequestsPercent, 100);
    if (cap.memoryRequestsPercent !== undefined) checkPositiveInt(NAME, 'capacity.memoryRequestsPercent', cap.memoryRequestsPercent, 100);
    if (cap.for !== undefined) checkDuration(NAME, 'capacity.for', cap.for);
    const teamNames = new Set<string>();
    for (const [i, t] of teams.entries()) {
      checkLabel(NAME, `teams[${i}].name`, t.name);
      if (teamNames.has(t.name)) throw new PropError(NAME, `teams[${i}].name`, t.name, 'a team name used once');
      teamNames.add(t.name);
      if (t.namespaces.length === 0) throw new PropError(NAME, `teams[${i}].namespaces`, t.namespaces, 'at least one namespace');
      t.namespaces.forEach((n, j) => checkLabel(NAME, `teams[${i}].namespaces[${j}]`, n));
      if (t.templates.length === 0) throw new PropError(NAME, `teams[${i}].templates`, t.templates, 'at least one rule template');
      for (const tpl of t.templates) if (!(tpl in RULE_TEMPLATE_RULES)) throw new PropError(NAME, `teams[${i}].templates`, tpl, `one of ${Object.keys(RULE_TEMPLATE_RULES).join(', ')}`);
      if (t.labels && TEAM_LABEL in t.labels) throw new PropError(NAME, `teams[${i}].labels`, t.labels, `labels without "${TEAM_LABEL}" (set from the team name)`);
    }
    if ((props.grafanaGateway === undefined) !== (props.grafanaHost === undefined)) {
      throw new PropError(NAME, 'grafanaHost', props.grafanaHost, 'grafanaGateway and grafanaHost together, or neither');
    }
    if (props.grafanaHost !== undefined) checkDnsName(NAME, 'grafanaHost', props.grafanaHost);
    if (props.grafanaGateway !== undefined && !/^[a-z0-9-]+\/[a-z0-9-]+$/.test(props.grafanaGateway)) {
      throw new PropError(NAME, 'grafanaGateway', props.grafanaGateway, 'a Gateway as "<namespace>/<name>"');
    }

    new PrometheusRule(this, 'Resource', {
      metadata: { name: 'flotilla-platform', namespace: ns, labels: sel },
      spec: toRuleSpec(platformRuleGroups(cap)),
    });
    for (const t of teams) {
      new PrometheusRule(this, `Team-${t.name}`, {
        metadata: { name: `flotilla-team-${t.name}`, namespace: ns, labels: { ...sel, [TEAM_LABEL]: t.name } },
        spec: toRuleSpec([teamRuleGroup(t)]),
      });
    }

    const prober = props.proberUrl ?? `prometheus-blackbox-exporter.${ns}.svc:9115`;
    for (const p of probes) {
      new Probe(this, `Probe-${p.name}`, {
        metadata: { name: `site-${p.name}`, namespace: ns, labels: sel },
        spec: {
          jobName: `site-${p.name}`,
          interval: p.interval ?? '30s',
          module: probeModule(p),
          prober: { url: prober, path: '/probe' },
          targets: { staticConfig: { static: [p.url], labels: { probe: p.name } } },
        },
      });
    }

    // Dashboards: the Grafana sidecar (kube-prometheus-stack values) loads every ConfigMap with DASHBOARD_LABEL.
    const dashboards: Array<[string, object]> = [['site', grafanaDashboard(SITE_DASHBOARD)]];
    if (props.federationDashboard) dashboards.push(['federation', grafanaDashboard(FEDERATION_DASHBOARD)]);
    for (const [name, json] of dashboards) {
      new kplus.ConfigMap(this, `Dashboard-${name}`, {
        metadata: { name: `flotilla-dashboard-${name}`, namespace: ns, labels: { ...DASHBOARD_LABEL } },
        data: { [`flotilla-${name}.json`]: `${JSON.stringify(json, null, 2)}\n` },
      });
    }

    if (props.grafanaGateway !== undefined && props.grafanaHost !== undefined) {
      new VirtualService(this, 'GrafanaRoute', {
        metadata: { name: 'grafana', namespace: ns },
        spec: {
          hosts: [props.grafanaHost],
          gateways: [props.grafanaGateway],
          http: [{ route: [{ destination: { host: `${GRAFANA_SERVICE}.${ns}.svc.cluster.local`, port: { number: 80 } } }] }],
        },
      });
    }

    if (props.smtpPasswordSecret) {
      // The value is never synthesized: the Pulumi program fills it from flotilla:smtpPassword.
      new kplus.Secret(this, 'SmtpPassword', {
        metadata: { name: SMTP_SECRET.name, namespace: ns, annotations: { 'flotilla.dev/filled-by': 'pulumi (flotilla:smtpPassword)' } },
        stringData: { [SMTP_SECRET.key]: '' },
      });
    }
  }
}
