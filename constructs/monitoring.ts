// Monitoring: PrometheusRule alert templates for the platform, an AlertmanagerConfig routing to the
// inventory's receivers, and a blackbox Probe per site URL that fails on a non-2xx status or on a
// body containing the configured string.
import { Construct } from 'constructs';
import { checkDuration, checkLabel, PROMETHEUS_RELEASE_LABELS, PropError } from './common';
import { AlertmanagerConfig, Probe, PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from './imports/monitoring.coreos.com';

const NAME = 'Monitoring';

export interface AlertReceiver {
  readonly name: string;
  /** Exactly one of webhookUrl / emailTo. */
  readonly webhookUrl?: string;
  readonly emailTo?: string;
}
export interface UrlProbe {
  readonly name: string;
  readonly url: string;
  /** The probe fails when the body contains this string. @default - only the status is checked */
  readonly bodyMustNotContain?: string;
  /** @default - '30s' */
  readonly interval?: string;
}

export interface MonitoringProps {
  /**
   * Alertmanager receivers; the first is the default route, the others also receive every alert.
   * @default - no receivers (no AlertmanagerConfig)
   */
  readonly receivers?: readonly AlertReceiver[];
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
}

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

/** The platform alert templates (exported for `promtool check rules`). */
export function platformRuleGroups(): RuleGroup[] {
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
  ];
}

/** Blackbox module name for a probe. */
export function probeModule(p: UrlProbe): string {
  return p.bodyMustNotContain ? `http_2xx_${p.name.replaceAll('-', '_')}` : 'http_2xx';
}

export class Monitoring extends Construct {
  constructor(scope: Construct, id: string, props: MonitoringProps = {}) {
    super(scope, id);
    const ns = props.namespace ?? 'monitoring';
    checkLabel(NAME, 'namespace', ns);
    const sel = { ...(props.selectorLabels ?? PROMETHEUS_RELEASE_LABELS) };
    const receivers = props.receivers ?? [];
    const probes = props.probes ?? [];
    const names = new Set<string>();
    for (const [i, r] of receivers.entries()) {
      checkLabel(NAME, `receivers[${i}].name`, r.name);
      if (!!r.webhookUrl === !!r.emailTo) throw new PropError(NAME, `receivers[${i}]`, r, 'exactly one of webhookUrl or emailTo');
      if (r.webhookUrl && !/^https?:\/\//.test(r.webhookUrl)) throw new PropError(NAME, `receivers[${i}].webhookUrl`, r.webhookUrl, 'an http(s):// URL');
      if (names.has(r.name)) throw new PropError(NAME, `receivers[${i}].name`, r.name, 'a receiver name used once');
      names.add(r.name);
    }
    const probeNames = new Set<string>();
    for (const [i, p] of probes.entries()) {
      checkLabel(NAME, `probes[${i}].name`, p.name);
      if (!/^https?:\/\//.test(p.url)) throw new PropError(NAME, `probes[${i}].url`, p.url, 'an http(s):// URL');
      checkDuration(NAME, `probes[${i}].interval`, p.interval ?? '30s');
      if (probeNames.has(p.name)) throw new PropError(NAME, `probes[${i}].name`, p.name, 'a probe name used once');
      probeNames.add(p.name);
    }

    new PrometheusRule(this, 'Resource', {
      metadata: { name: 'flotilla-platform', namespace: ns, labels: sel },
      spec: {
        groups: platformRuleGroups().map((g) => ({
          name: g.name,
          rules: g.rules.map((r) => ({ ...r, expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr) })),
        })),
      },
    });

    if (receivers.length > 0) {
      const [first, ...rest] = receivers;
      new AlertmanagerConfig(this, 'AlertmanagerConfig', {
        metadata: { name: 'flotilla-receivers', namespace: ns, labels: sel },
        spec: {
          route: {
            receiver: first!.name,
            groupBy: ['alertname', 'namespace'],
            groupWait: '30s',
            groupInterval: '5m',
            repeatInterval: '4h',
            ...(rest.length > 0 ? { routes: rest.map((r) => ({ receiver: r.name, continue: true })) } : {}),
          },
          receivers: receivers.map((r) =>
            r.webhookUrl
              ? { name: r.name, webhookConfigs: [{ url: r.webhookUrl, sendResolved: true }] }
              : { name: r.name, emailConfigs: [{ to: r.emailTo, sendResolved: true }] },
          ),
        },
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
  }
}
