// Helm values the chart catalog passes to upstream charts, built from the inventory's facts. They
// live with the catalog, not in constructs/ (constructs only build Kubernetes objects); the
// constants they share with a construct (gateway selector and status port, blackbox module names)
// stay with that construct.
import { INGRESS_GATEWAY_SELECTOR, INGRESS_STATUS_PORT, probeModule, tcpPortName, tcpRoutes, type EdgeNode, type EdgeVipSpec, type UrlProbe } from '../../constructs/index';

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
