// IstioMesh: mesh-wide traffic defaults (a DestinationRule for every in-mesh host), the site Gateway
// for `*.<domain>` with TLS from cert-manager, and STRICT mutual TLS mesh-wide.
import { Construct } from 'constructs';
import { apiObject, checkDnsName, checkDuration, checkLabel, PROMETHEUS_RELEASE_LABELS, PropError, type MonitoringLabelsProps } from './common';
import { INGRESS_GATEWAY_SELECTOR } from './edge-gateway';
import { DestinationRule, DestinationRuleSpecTrafficPolicyLoadBalancerSimple, Gateway, GatewaySpecServersTlsMode } from './imports/networking.istio.io';
import { PeerAuthentication, PeerAuthenticationSpecMtlsMode } from './imports/security.istio.io';

const NAME = 'IstioMesh';
export const LOAD_BALANCERS = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'PASSTHROUGH'] as const;
export type LoadBalancer = (typeof LOAD_BALANCERS)[number];

/** `monitoringLabels`: the PodMonitor of the Envoy sidecars' stats. */
export interface IstioMeshProps extends MonitoringLabelsProps {
  /** Site ingress domain; the Gateway serves `*.<domain>`. */
  readonly domain: string;
  /** Secret (in `gatewayNamespace`) holding the wildcard certificate. */
  readonly tlsSecretName: string;
  /**
   * Load-balancing algorithm.
   * @default - 'LEAST_REQUEST'
   */
  readonly loadBalancer?: LoadBalancer;
  /** @default - 5 */
  readonly consecutive5xxErrors?: number;
  /** @default - '10s' */
  readonly outlierInterval?: string;
  /** @default - '30s' */
  readonly baseEjectionTime?: string;
  /** @default - 50 */
  readonly maxEjectionPercent?: number;
  /** @default - 1024 */
  readonly http1MaxPendingRequests?: number;
  /** 0 = unlimited. @default - 0 */
  readonly maxRequestsPerConnection?: number;
  /** @default - '1s' */
  readonly connectTimeout?: string;
  /**
   * Retry attempts; also bounds outstanding retries per host (`maxRetries`). The per-request retry
   * policy itself is mesh config (see `meshRetryPolicy`).
   * @default - 2
   */
  readonly retryAttempts?: number;
  /**
   * Namespace of the ingress gateway and its TLS secret.
   * @default - 'istio-ingress'
   */
  readonly gatewayNamespace?: string;
  /**
   * Istio root namespace (mesh-wide policies live here).
   * @default - 'istio-system'
   */
  readonly rootNamespace?: string;
}

export class IstioMesh extends Construct {
  constructor(scope: Construct, id: string, props: IstioMeshProps) {
    super(scope, id);
    checkDnsName(NAME, 'domain', props.domain);
    checkLabel(NAME, 'tlsSecretName', props.tlsSecretName);
    const lb = props.loadBalancer ?? 'LEAST_REQUEST';
    if (!LOAD_BALANCERS.includes(lb)) throw new PropError(NAME, 'loadBalancer', lb, `one of ${LOAD_BALANCERS.join(', ')}`);
    const interval = props.outlierInterval ?? '10s';
    const ejection = props.baseEjectionTime ?? '30s';
    const connectTimeout = props.connectTimeout ?? '1s';
    checkDuration(NAME, 'outlierInterval', interval);
    checkDuration(NAME, 'baseEjectionTime', ejection);
    checkDuration(NAME, 'connectTimeout', connectTimeout);
    const maxEject = props.maxEjectionPercent ?? 50;
    if (!Number.isInteger(maxEject) || maxEject < 1 || maxEject > 100) throw new PropError(NAME, 'maxEjectionPercent', maxEject, 'an integer 1–100');
    const c5xx = props.consecutive5xxErrors ?? 5;
    if (!Number.isInteger(c5xx) || c5xx < 1) throw new PropError(NAME, 'consecutive5xxErrors', c5xx, 'an integer ≥ 1');
    const pending = props.http1MaxPendingRequests ?? 1024;
    if (!Number.isInteger(pending) || pending < 1) throw new PropError(NAME, 'http1MaxPendingRequests', pending, 'an integer ≥ 1');
    const perConn = props.maxRequestsPerConnection ?? 0;
    if (!Number.isInteger(perConn) || perConn < 0) throw new PropError(NAME, 'maxRequestsPerConnection', perConn, 'an integer ≥ 0 (0 = unlimited)');
    const attempts = props.retryAttempts ?? 2;
    if (!Number.isInteger(attempts) || attempts < 0 || attempts > 100) throw new PropError(NAME, 'retryAttempts', attempts, 'an integer 0–100');
    const root = props.rootNamespace ?? 'istio-system';
    const gwNs = props.gatewayNamespace ?? 'istio-ingress';

    new DestinationRule(this, 'Resource', {
      metadata: { name: 'mesh-default', namespace: root },
      spec: {
        host: '*.local',
        trafficPolicy: {
          loadBalancer: { simple: lb as DestinationRuleSpecTrafficPolicyLoadBalancerSimple },
          outlierDetection: { consecutive5XxErrors: c5xx, interval, baseEjectionTime: ejection, maxEjectionPercent: maxEject },
          connectionPool: {
            tcp: { connectTimeout },
            http: {
              http1MaxPendingRequests: pending,
              ...(perConn > 0 ? { maxRequestsPerConnection: perConn } : {}),
              maxRetries: Math.max(attempts, 1),
            },
          },
        },
      },
    });

    new Gateway(this, 'Gateway', {
      metadata: { name: 'site-gateway', namespace: gwNs },
      spec: {
        selector: { ...INGRESS_GATEWAY_SELECTOR },
        servers: [
          { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [`*.${props.domain}`], tls: { httpsRedirect: true } },
          {
            port: { number: 443, name: 'https', protocol: 'HTTPS' },
            hosts: [`*.${props.domain}`],
            tls: { mode: GatewaySpecServersTlsMode.SIMPLE, credentialName: props.tlsSecretName },
          },
        ],
      },
    });

    // Envoy metrics of every sidecar and gateway (the ingress 5xx-ratio alert reads istio_requests_total).
    apiObject(this, 'EnvoyStats', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'envoy-stats', namespace: root, labels: { ...(props.monitoringLabels ?? PROMETHEUS_RELEASE_LABELS) } },
      spec: {
        namespaceSelector: { any: true },
        selector: { matchExpressions: [{ key: 'istio-prometheus-ignore', operator: 'DoesNotExist' }] },
        jobLabel: 'envoy-stats',
        podMetricsEndpoints: [{ path: '/stats/prometheus', port: 'http-envoy-prom', interval: '30s' }],
      },
    });

    new PeerAuthentication(this, 'PeerAuthentication', {
      metadata: { name: 'default', namespace: root },
      spec: { mtls: { mode: PeerAuthenticationSpecMtlsMode.STRICT } },
    });
  }
}
