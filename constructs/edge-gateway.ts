// EdgeGateway: keepalived on the edge nodes (a hostNetwork DaemonSet holding the edge VIPs, one
// rendered keepalived.conf per node in a ConfigMap), and for the VIPs' TCP services (ports other
// than 80/443, e.g. a MySQL proxy on 3306) an Istio Gateway server and a VirtualService TCP route per
// port. The Helm values that pin the Istio ingress gateway to the edge nodes and open those ports on
// its Service are the chart catalog's (infra/catalog/values.ts ingressGatewayValues).
import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { isDnsName } from '../infra/lib/dns';
import { HTTP_VIP_PORTS } from '../infra/site/schema';
import { apiObject, checkLabel, containerResources, hardenPod, labels, podLabels, PropError, selectByLabels } from './common';
import { Gateway, VirtualService } from './imports/networking.istio.io';

const NAME = 'EdgeGateway';

export interface EdgeNode {
  readonly name: string;
  readonly address: string;
}
export interface EdgeVipSpec {
  readonly name: string;
  /** VIP with prefix, e.g. 10.10.1.100/24. */
  readonly address: string;
  readonly ports: readonly number[];
  /**
   * Where the TCP ports (all but 80/443) go: `service` is `<name>.<namespace>` or a full name.
   * @default - service `<vip name>.default`, the same port
   */
  readonly backend?: { readonly service: string; readonly port?: number };
}

/** One TCP service behind an edge VIP: the gateway listens on `port` and forwards to `host:targetPort`. */
export interface TcpRoute {
  readonly vip: string;
  readonly port: number;
  /** Fully qualified backend Service host. */
  readonly host: string;
  readonly targetPort: number;
}

/** `svc.ns` → `svc.ns.svc.cluster.local`; a longer name is taken as it is. */
const serviceHost = (s: string) => (s.split('.').length === 2 ? `${s}.svc.cluster.local` : s);

/** Gateway server / Service port name of a VIP's TCP port (the same name on both). */
export const tcpPortName = (vip: string, port: number) => `tcp-${vip}-${port}`;

/** The TCP routes of the VIPs: every port other than 80/443, once per port (the first VIP that declares it). */
export function tcpRoutes(vips: readonly EdgeVipSpec[]): TcpRoute[] {
  const out = new Map<number, TcpRoute>();
  for (const v of vips) {
    for (const port of v.ports) {
      if (HTTP_VIP_PORTS.includes(port) || out.has(port)) continue;
      out.set(port, { vip: v.name, port, host: serviceHost(v.backend?.service ?? `${v.name}.default`), targetPort: v.backend?.port ?? port });
    }
  }
  return [...out.values()].sort((a, b) => a.port - b.port);
}

export interface EdgeGatewayProps {
  /** Nodes that carry the edge role; keepalived runs on each. */
  readonly nodes: readonly EdgeNode[];
  /** keepalived.conf per edge node name (rendered by infra/render `renderEdgeKeepalived`). */
  readonly keepalivedConfigs: Readonly<Record<string, string>>;
  /** Edge VIPs; ports beyond 80/443 are added to the ingress gateway. */
  readonly vips: readonly EdgeVipSpec[];
  /**
   * Namespace of the keepalived DaemonSet and the ingress gateway.
   * @default - 'istio-ingress'
   */
  readonly namespace?: string;
  /**
   * keepalived image.
   * @default - KEEPALIVED_IMAGE
   */
  readonly image?: string;
}

/** keepalived + curl (the track script); built from constructs/images/keepalived/Dockerfile. */
export const KEEPALIVED_IMAGE = 'ghcr.io/flotilla-dev/keepalived:2.2.7-1';
/** Label the ingress gateway pods carry (the Istio `gateway` chart's default selector). */
export const INGRESS_GATEWAY_SELECTOR = { istio: 'ingressgateway' } as const;
/** The Istio ingress gateway's readiness endpoint port, exposed on the node for keepalived's track script. */
export const INGRESS_STATUS_PORT = 15021;
/** Node-local Service in front of the gateway's status port (the keepalived track target). */
export const LOCAL_STATUS_SERVICE = 'istio-ingressgateway-local';

export class EdgeGateway extends Construct {
  constructor(scope: Construct, id: string, props: EdgeGatewayProps) {
    super(scope, id);
    const ns = props.namespace ?? 'istio-ingress';
    checkLabel(NAME, 'namespace', ns);
    if (props.nodes.length === 0) throw new PropError(NAME, 'nodes', [], 'at least one edge node');
    for (const n of props.nodes) {
      if (!props.keepalivedConfigs[n.name]) throw new PropError(NAME, `keepalivedConfigs["${n.name}"]`, undefined, 'a keepalived.conf for every edge node');
    }
    for (const k of Object.keys(props.keepalivedConfigs)) {
      if (!props.nodes.some((n) => n.name === k)) throw new PropError(NAME, 'keepalivedConfigs', k, `only edge node names (${props.nodes.map((n) => n.name).join(', ')})`);
    }
    for (const [i, v] of props.vips.entries()) {
      if (v.ports.length === 0) throw new PropError(NAME, `vips[${i}].ports`, v.ports, 'at least one TCP port');
      for (const p of v.ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new PropError(NAME, `vips[${i}].ports`, p, 'ports 1–65535');
      if (v.backend && !isDnsName(v.backend.service)) throw new PropError(NAME, `vips[${i}].backend.service`, v.backend.service, 'a Service name "<name>.<namespace>" or a full DNS name');
      const bp = v.backend?.port;
      if (bp !== undefined && (!Number.isInteger(bp) || bp < 1 || bp > 65535)) throw new PropError(NAME, `vips[${i}].backend.port`, bp, 'a port 1–65535');
    }
    const routes = tcpRoutes(props.vips);
    for (const [i, v] of props.vips.entries()) {
      for (const own of tcpRoutes([v])) {
        const r = routes.find((x) => x.port === own.port)!;
        if (r.host !== own.host || r.targetPort !== own.targetPort) {
          throw new PropError(NAME, `vips[${i}].ports`, own.port, `a port not already routed to ${r.host}:${r.targetPort} by VIP ${r.vip} (one gateway listener per port)`);
        }
      }
    }
    const lbl = labels('keepalived', `${id.toLowerCase()}-keepalived`);
    const nodes = props.nodes.map((n) => n.name);

    apiObject(this, 'Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'istio-injection': 'disabled' } } });
    const config = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: 'edge-keepalived', namespace: ns, labels: lbl },
      data: Object.fromEntries(nodes.sort().map((n) => [`${n}.conf`, props.keepalivedConfigs[n]!])),
    });
    // keepalived's track script asks this Service; `internalTrafficPolicy: Local` means only the
    // ingress gateway pod on the same node answers, so a node gives up its VIPs when its own
    // gateway is not ready.
    const status = new kplus.Service(this, 'LocalStatus', {
      metadata: { name: LOCAL_STATUS_SERVICE, namespace: ns, labels: lbl },
      ports: [{ name: 'status-port', port: INGRESS_STATUS_PORT, targetPort: INGRESS_STATUS_PORT, protocol: kplus.Protocol.TCP }],
    });
    for (const [k, v] of Object.entries(INGRESS_GATEWAY_SELECTOR)) status.selectLabel(k, v);
    // cdk8s-plus-27's Service has no internalTrafficPolicy.
    ApiObject.of(status).addJsonPatch(JsonPatch.add('/spec/internalTrafficPolicy', 'Local'));

    const ds = new kplus.DaemonSet(this, 'Resource', {
      metadata: { name: 'edge-keepalived', namespace: ns, labels: lbl },
      ...podLabels(lbl),
      hostNetwork: true,
      dns: { policy: kplus.DnsPolicy.CLUSTER_FIRST_WITH_HOST_NET },
      automountServiceAccountToken: false,
      // VRRP needs raw sockets and address changes on the host interface, nothing more: root with
      // only NET_ADMIN, NET_BROADCAST and NET_RAW (added by hardenPod below).
      securityContext: { ensureNonRoot: false },
      containers: [
        {
          name: 'keepalived',
          image: props.image ?? KEEPALIVED_IMAGE,
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          // One file per node; $(NODE_NAME) is expanded by the kubelet. Pid files go where the
          // rendered config puts them (`instance` + `use_pid_dir` → /run/keepalived/<instance>/).
          command: ['keepalived'],
          args: ['--dont-fork', '--log-console', '--vrrp', '--use-file=/etc/keepalived/$(NODE_NAME).conf'],
          envVariables: { NODE_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.NODE_NAME) },
          resources: containerResources('50m', '32Mi', '200m', '64Mi'),
          securityContext: { ensureNonRoot: false, user: 0, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
          volumeMounts: [
            { path: '/etc/keepalived', readOnly: true, volume: kplus.Volume.fromConfigMap(this, 'ConfigVolume', config, { name: 'config' }) },
            { path: '/run/keepalived', volume: kplus.Volume.fromEmptyDir(this, 'RunVolume', 'run', { medium: kplus.EmptyDirMedium.MEMORY }) },
            { path: '/tmp', volume: kplus.Volume.fromEmptyDir(this, 'TmpVolume', 'tmp', { medium: kplus.EmptyDirMedium.MEMORY }) },
          ],
        },
      ],
    });
    selectByLabels(ds, lbl);
    hardenPod(ds, { keepalived: ['NET_ADMIN', 'NET_BROADCAST', 'NET_RAW'] });
    ds.scheduling.attract(kplus.Node.labeled(kplus.NodeLabelQuery.in('kubernetes.io/hostname', nodes)));
    ds.scheduling.tolerate(kplus.Node.tainted(kplus.NodeTaintQuery.any()));
    // Not modelled by cdk8s-plus-27's DaemonSet: the priority class, and the update strategy (kept
    // explicit: one node at a time gives up its VIPs). IntOrString because plus serializes the patched
    // spec through its typed k8s model.
    ApiObject.of(ds).addJsonPatch(
      JsonPatch.add('/spec/template/spec/priorityClassName', 'system-node-critical'),
      JsonPatch.add('/spec/updateStrategy', { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1) } }),
    );

    // TCP services: the gateway Service already has the port (ingressGatewayValues); without a
    // Gateway server Envoy opens no listener on it, and without a route it has nowhere to send.
    if (routes.length > 0) {
      new Gateway(this, 'TcpGateway', {
        metadata: { name: TCP_GATEWAY, namespace: ns },
        spec: {
          selector: { ...INGRESS_GATEWAY_SELECTOR },
          servers: routes.map((r) => ({ port: { number: r.port, name: tcpPortName(r.vip, r.port), protocol: 'TCP' }, hosts: ['*'] })),
        },
      });
      for (const vip of [...new Set(routes.map((r) => r.vip))]) {
        new VirtualService(this, `TcpRoute-${vip}`, {
          metadata: { name: `${TCP_GATEWAY}-${vip}`, namespace: ns },
          spec: {
            hosts: ['*'],
            gateways: [TCP_GATEWAY],
            tcp: routes
              .filter((r) => r.vip === vip)
              .map((r) => ({ match: [{ port: r.port }], route: [{ destination: { host: r.host, port: { number: r.targetPort } } }] })),
          },
        });
      }
    }
  }
}

/** Name of the Gateway of the edge VIPs' TCP services (and prefix of their VirtualServices). */
export const TCP_GATEWAY = 'edge-tcp';
