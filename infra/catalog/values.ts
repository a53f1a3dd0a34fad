// Helm values the chart catalog passes to upstream charts, built from the inventory's facts. They
// live with the catalog, not in constructs/ (constructs only build Kubernetes objects); the
// constants they share with a construct (gateway selector and status port, blackbox module names)
// stay with that construct.
import { DASHBOARD_LABEL, INGRESS_GATEWAY_SELECTOR, INGRESS_STATUS_PORT, probeModule, SMTP_PASSWORD_FILE, SMTP_SECRET, tcpPortName, tcpRoutes, TEAM_LABEL, type EdgeNode, type EdgeVipSpec, type UrlProbe } from '../../constructs/index';
import { parseQuantity } from '../lib/units';
import type { Site } from '../site/index';

/** Affinity that pins pods to the named nodes. */
export function pinToNodes(nodes: readonly string[]) {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [...nodes] }] }],
      },
    },
  };
}

/**
 * Helm values for the Istio `gateway` chart: pinned to edge nodes, one replica per edge node, the
 * VIPs as external IPs on 80/443 plus every extra VIP TCP port, status port reachable on the node.
 */
export function ingressGatewayValues(nodes: readonly EdgeNode[], vips: readonly EdgeVipSpec[]): Record<string, unknown> {
  const ports = new Map<number, string>([
    [80, 'http2'],
    [443, 'https'],
  ]);
  // the same port names as the EdgeGateway's TCP Gateway servers
  for (const r of tcpRoutes(vips)) ports.set(r.port, tcpPortName(r.vip, r.port));
  const sorted = [...ports.entries()].sort((a, b) => a[0] - b[0]);
  return {
    name: 'istio-ingressgateway',
    labels: { ...INGRESS_GATEWAY_SELECTOR },
    replicaCount: nodes.length,
    autoscaling: { enabled: false },
    affinity: {
      ...pinToNodes(nodes.map((n) => n.name)),
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { ...INGRESS_GATEWAY_SELECTOR } }, topologyKey: 'kubernetes.io/hostname' },
        ],
      },
    },
    tolerations: [{ key: 'node-role.kubernetes.io/edge', operator: 'Exists', effect: 'NoSchedule' }],
    resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '1Gi' } },
    service: {
      type: 'ClusterIP',
      externalIPs: vips.map((v) => v.address.split('/')[0]).sort(),
      ports: [
        { name: 'status-port', port: INGRESS_STATUS_PORT, protocol: 'TCP', targetPort: INGRESS_STATUS_PORT },
        ...sorted.map(([port, name]) => ({ name, port, protocol: 'TCP', targetPort: port === 80 ? 8080 : port === 443 ? 8443 : port })),
      ],
    },
  };
}

/** istiod `meshConfig.defaultHttpRetryPolicy` from the inventory's retries. */
export function meshRetryPolicy(attempts: number, perTryTimeout: string): Record<string, unknown> {
  return { attempts, perTryTimeout, retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes,5xx' };
}

/** Regex-escapes a literal for blackbox `fail_if_body_matches_regexp`. */
export function regexLiteral(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** Blackbox exporter `modules:` for the probes (values of the prometheus-blackbox-exporter chart). */
export function blackboxModules(probes: readonly UrlProbe[]): Record<string, unknown> {
  const http = (extra: Record<string, unknown> = {}) => ({
    prober: 'http',
    timeout: '5s',
    http: { valid_status_codes: [], preferred_ip_protocol: 'ip4', follow_redirects: true, ...extra },
  });
  const modules: Record<string, unknown> = { http_2xx: http() };
  for (const p of probes) {
    if (p.bodyMustNotContain) modules[probeModule(p)] = http({ fail_if_body_matches_regexp: [regexLiteral(p.bodyMustNotContain)] });
  }
  return Object.fromEntries(Object.entries(modules).sort(([a], [b]) => a.localeCompare(b)));
}

// --- kube-prometheus-stack: storage, Grafana, Alertmanager routing (issue 14 item 6) ---

type Monitoring = Site['spec']['monitoring'];
/** An image as the charts take it. */
export interface ChartImage {
  readonly registry: string;
  readonly repository: string;
  readonly tag: string;
}
export interface KubePrometheusStackImages {
  readonly operator: ChartImage;
  readonly reloader: ChartImage;
  readonly prometheus: ChartImage;
  readonly alertmanager: ChartImage;
  readonly nodeExporter: ChartImage;
  readonly ksm: ChartImage;
  readonly grafana: ChartImage;
  readonly grafanaSidecar: ChartImage;
}

const RELEASE_SELECTOR = { matchLabels: { release: 'kube-prometheus-stack' } };
/** Requests and limits for chart values. */
export function res(cpu: string, memory: string, cpuLimit: string, memoryLimit: string) {
  return { requests: { cpu, memory }, limits: { cpu: cpuLimit, memory: memoryLimit } };
}

/** A PVC spec for a chart's volumeClaimTemplate. */
function claim(storage: string, storageClass: string | undefined): Record<string, unknown> {
  return { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } }, ...(storageClass ? { storageClassName: storageClass } : {}) };
}

/**
 * Prometheus `retentionSize` (MB, base 2, as Prometheus reads it) from a Kubernetes quantity: the
 * given size, or 90 % of the volume so the TSDB drops old blocks before the disk is full.
 */
export function prometheusRetentionSize(storage: string, retentionSize?: string): string {
  const bytes = retentionSize !== undefined ? parseQuantity(retentionSize)! : parseQuantity(storage)! * 0.9;
  return `${Math.max(1, Math.floor(bytes / 2 ** 20))}MB`;
}

/** Receivers that get every alert not routed to a team: those no team names. */
export function siteReceivers(m: Pick<Monitoring, 'receivers' | 'teams'>): string[] {
  const team = new Set(m.teams.flatMap((t) => t.receivers));
  return m.receivers.map((r) => r.name).filter((n) => !team.has(n));
}

/**
 * The native Alertmanager configuration (`alertmanager.config` of kube-prometheus-stack; checked with
 * `amtool check-config`). Team alerts (label team=<name>) go to the team's receivers only; every
 * other alert goes to each receiver no team names; kube-prometheus-stack's Watchdog/InfoInhibitor
 * go nowhere. SMTP is global; the password is read from the mounted Secret file, never written here.
 * Email receivers need `smtp`: without it they are left out (Alertmanager refuses an email receiver
 * without a smarthost).
 */
export function alertmanagerConfig(m: Pick<Monitoring, 'receivers' | 'teams' | 'smtp'>, smtpPasswordFile: string): Record<string, unknown> {
  const usable = m.receivers.filter((r) => r.webhook || (r.email && m.smtp));
  const known = new Set(usable.map((r) => r.name));
  const site = siteReceivers(m).filter((n) => known.has(n));
  const group = { group_by: ['alertname', 'namespace'], group_wait: '30s', group_interval: '5m', repeat_interval: '4h' };
  const teamRoutes = m.teams.flatMap((t) => {
    const to = t.receivers.filter((n) => known.has(n));
    if (to.length === 0) return [];
    return [
      {
        receiver: to[0],
        matchers: [`${TEAM_LABEL} = "${t.name}"`],
        ...(to.length > 1 ? { routes: to.map((r) => ({ receiver: r, continue: true })) } : {}),
      },
    ];
  });
  const s = m.smtp;
  return {
    global: {
      resolve_timeout: '5m',
      ...(s
        ? {
            smtp_smarthost: s.smarthost,
            smtp_from: s.from,
            smtp_require_tls: s.requireTls,
            ...(s.username ? { smtp_auth_username: s.username, smtp_auth_password_file: smtpPasswordFile } : {}),
          }
        : {}),
    },
    route: {
      receiver: site[0] ?? 'null',
      ...group,
      routes: [
        { receiver: 'null', matchers: ['alertname =~ "Watchdog|InfoInhibitor"'] },
        ...teamRoutes,
        ...site.map((r) => ({ receiver: r, continue: true })),
      ],
    },
    inhibit_rules: [
      { source_matchers: ['severity = "critical"'], target_matchers: ['severity =~ "warning|info"'], equal: ['namespace', 'alertname'] },
      { source_matchers: ['severity = "warning"'], target_matchers: ['severity = "info"'], equal: ['namespace', 'alertname'] },
    ],
    receivers: [
      { name: 'null' },
      ...usable.map((r) =>
        r.webhook
          ? { name: r.name, webhook_configs: [{ url: r.webhook.url, send_resolved: true }] }
          : { name: r.name, email_configs: [{ to: r.email!.to, send_resolved: true }] },
      ),
    ],
    templates: ['/etc/alertmanager/config/*.tmpl'],
  };
}

/**
 * kube-prometheus-stack values: Prometheus and Alertmanager on PVCs (size, class and retention from
 * the inventory), Grafana on a PVC with the sidecar loading every `grafana_dashboard: "1"` ConfigMap
 * (the site and federation dashboards), the Alertmanager config above, and every image pinned.
 */
export function kubePrometheusStackValues(m: Monitoring, images: KubePrometheusStackImages, grafanaUrl: string): Record<string, unknown> {
  const smtpSecret = m.smtp?.username !== undefined;
  return {
    grafana: {
      enabled: true,
      image: { ...images.grafana },
      sidecar: {
        image: { ...images.grafanaSidecar },
        dashboards: { enabled: true, label: Object.keys(DASHBOARD_LABEL)[0], labelValue: Object.values(DASHBOARD_LABEL)[0], searchNamespace: 'ALL' },
        datasources: { enabled: true },
      },
      persistence: { enabled: true, type: 'pvc', size: m.grafana.storage, accessModes: ['ReadWriteOnce'], ...(m.grafana.storageClass ? { storageClassName: m.grafana.storageClass } : {}) },
      initChownData: { enabled: false },
      testFramework: { enabled: false },
      'grafana.ini': { server: { root_url: grafanaUrl } },
      resources: res('100m', '256Mi', '1', '512Mi'),
    },
    prometheusOperator: {
      image: { ...images.operator },
      prometheusConfigReloader: { image: { ...images.reloader } },
      admissionWebhooks: { certManager: { enabled: true }, patch: { enabled: false } },
      resources: res('100m', '128Mi', '500m', '512Mi'),
    },
    prometheus: {
      prometheusSpec: {
        image: { ...images.prometheus },
        retention: `${m.retentionDays}d`,
        retentionSize: prometheusRetentionSize(m.prometheus.storage, m.prometheus.retentionSize),
        storageSpec: { volumeClaimTemplate: { spec: claim(m.prometheus.storage, m.prometheus.storageClass) } },
        ruleSelector: RELEASE_SELECTOR,
        probeSelector: RELEASE_SELECTOR,
        resources: res('500m', '2Gi', '2', '8Gi'),
      },
    },
    alertmanager: {
      config: alertmanagerConfig(m, SMTP_PASSWORD_FILE),
      alertmanagerSpec: {
        image: { ...images.alertmanager },
        retention: m.alertmanager.retention,
        storage: { volumeClaimTemplate: { spec: claim(m.alertmanager.storage, m.alertmanager.storageClass) } },
        ...(smtpSecret ? { secrets: [SMTP_SECRET.name] } : {}),
        alertmanagerConfigSelector: RELEASE_SELECTOR,
        alertmanagerConfigMatcherStrategy: { type: 'None' },
        resources: res('50m', '64Mi', '200m', '256Mi'),
      },
    },
    'prometheus-node-exporter': { image: { ...images.nodeExporter }, resources: res('20m', '32Mi', '200m', '64Mi') },
    'kube-state-metrics': { image: { ...images.ksm }, resources: res('20m', '64Mi', '200m', '256Mi') },
  };
}
