// CalicoNetwork: the tigera-operator Installation (IP pool), the `default` BGPConfiguration, one
// BGPPeer per ToR router, and route-reflector peering when route reflectors are chosen.
import { Construct } from 'constructs';
import { BgpConfiguration, BgpPeer } from './imports/crd.projectcalico.org';
import { apiObject, checkLabel, PropError } from './common';
import { parseCidr, parseIPv4 } from '../infra/lib/net';

const NAME = 'CalicoNetwork';
export const ENCAPSULATIONS = ['None', 'IPIP', 'VXLAN', 'IPIPCrossSubnet', 'VXLANCrossSubnet'] as const;
export type Encapsulation = (typeof ENCAPSULATIONS)[number];

/** Node label that marks a route reflector; the route-reflector BGPPeer selects on it. */
export const ROUTE_REFLECTOR_LABEL = 'route-reflector';
/** Node annotation Calico reads for a route reflector's cluster id. */
export const ROUTE_REFLECTOR_CLUSTER_ID_ANNOTATION = 'projectcalico.org/RouteReflectorClusterID';

/** How the nodes exchange routes among themselves. */
export class BgpMode {
  /** Every node peers with every other node (Calico's node-to-node mesh; fine up to ~100 nodes). */
  static fullMesh(): BgpMode {
    return new BgpMode([], '');
  }
  /**
   * The named nodes act as route reflectors (mesh off); every other node peers with them.
   * @param clusterId route-reflector cluster id, an IPv4-formatted id shared by the reflectors
   */
  static routeReflectors(nodes: readonly string[], clusterId = '244.0.0.1'): BgpMode {
    if (nodes.length === 0) throw new PropError(NAME, 'bgpMode', nodes, 'at least one route-reflector node name (or BgpMode.fullMesh())');
    for (const n of nodes) checkLabel(NAME, 'bgpMode.routeReflectors[]', n);
    if (parseIPv4(clusterId) === undefined) {
      throw new PropError(NAME, 'bgpMode.clusterId', clusterId, 'an IPv4-formatted cluster id such as "244.0.0.1"');
    }
    return new BgpMode([...nodes], clusterId);
  }
  private constructor(
    readonly reflectorNodes: readonly string[],
    readonly clusterId: string,
  ) {}
  get meshEnabled(): boolean {
    return this.reflectorNodes.length === 0;
  }
}

export interface BgpRouter {
  /** Router name (DNS label); names the BGPPeer. */
  readonly name: string;
  readonly address: string;
  readonly asNumber: number;
}

export interface CalicoNetworkProps {
  /** The cluster side AS number. */
  readonly asNumber: number;
  /** The IP pool CIDR. */
  readonly podCIDR: string;
  /** The Kubernetes service CIDR. */
  readonly serviceCIDR: string;
  /**
   * IPAM block size (prefix length).
   * @default - 26
   */
  readonly blockSize?: number;
  /**
   * Pod traffic encapsulation.
   * @default - 'None' (nodes are L2-adjacent or routes come from BGP)
   */
  readonly encapsulation?: Encapsulation;
  /**
   * SNAT pod traffic leaving the pool.
   * @default - true when encapsulated, false otherwise
   */
  readonly natOutgoing?: boolean;
  /**
   * Advertise the service CIDR to BGP peers.
   * @default - true
   */
  readonly advertiseServiceCIDR?: boolean;
  /**
   * ToR routers; one BGPPeer each (with route reflectors, only the reflectors peer with them).
   * @default - no routers
   */
  readonly routers?: readonly BgpRouter[];
  /**
   * Node-to-node route exchange.
   * @default - BgpMode.fullMesh()
   */
  readonly bgpMode?: BgpMode;
  /**
   * Image registry the operator pulls Calico images from (air-gapped sites).
   * @default - upstream registries
   */
  readonly registry?: string;
}

function checkCidr(prop: string, v: string): number {
  const c = parseCidr(v);
  if (!c) throw new PropError(NAME, prop, v, 'an IPv4 CIDR such as "10.244.0.0/16"');
  return c.prefix;
}

export class CalicoNetwork extends Construct {
  readonly natOutgoing: boolean;
  readonly bgpMode: BgpMode;

  constructor(scope: Construct, id: string, props: CalicoNetworkProps) {
    super(scope, id);
    const blockSize = props.blockSize ?? 26;
    const encapsulation = props.encapsulation ?? 'None';
    const routers = props.routers ?? [];
    this.bgpMode = props.bgpMode ?? BgpMode.fullMesh();
    if (!Number.isInteger(props.asNumber) || props.asNumber < 1 || props.asNumber > 4294967294) {
      throw new PropError(NAME, 'asNumber', props.asNumber, 'an AS number 1–4294967294');
    }
    const poolPrefix = checkCidr('podCIDR', props.podCIDR);
    checkCidr('serviceCIDR', props.serviceCIDR);
    if (!Number.isInteger(blockSize) || blockSize < 20 || blockSize > 32) throw new PropError(NAME, 'blockSize', blockSize, 'an integer 20–32');
    if (blockSize < poolPrefix) throw new PropError(NAME, 'blockSize', blockSize, `at least the podCIDR prefix length /${poolPrefix}`);
    if (!ENCAPSULATIONS.includes(encapsulation)) throw new PropError(NAME, 'encapsulation', encapsulation, `one of ${ENCAPSULATIONS.join(', ')}`);
    const seen = new Set<string>();
    for (const [i, r] of routers.entries()) {
      checkLabel(NAME, `routers[${i}].name`, r.name);
      if (parseIPv4(r.address) === undefined) throw new PropError(NAME, `routers[${i}].address`, r.address, 'an IPv4 address');
      if (seen.has(r.name)) throw new PropError(NAME, `routers[${i}].name`, r.name, 'a router name used once');
      seen.add(r.name);
    }
    this.natOutgoing = props.natOutgoing ?? encapsulation !== 'None';

    apiObject(this, 'Resource', {
      apiVersion: 'operator.tigera.io/v1',
      kind: 'Installation',
      metadata: { name: 'default' },
      spec: {
        variant: 'Calico',
        ...(props.registry ? { registry: `${props.registry}/` } : {}),
        serviceCIDRs: [props.serviceCIDR],
        calicoNetwork: {
          bgp: 'Enabled',
          ipPools: [
            {
              name: 'default-ipv4-ippool',
              cidr: props.podCIDR,
              blockSize,
              encapsulation,
              natOutgoing: this.natOutgoing ? 'Enabled' : 'Disabled',
              nodeSelector: 'all()',
            },
          ],
        },
      },
    });

    new BgpConfiguration(this, 'BgpConfiguration', {
      metadata: { name: 'default' },
      spec: {
        asNumber: props.asNumber,
        nodeToNodeMeshEnabled: this.bgpMode.meshEnabled,
        logSeverityScreen: 'Info',
        ...((props.advertiseServiceCIDR ?? true) ? { serviceClusterIPs: [{ cidr: props.serviceCIDR }] } : {}),
      },
    });

    const reflectors = !this.bgpMode.meshEnabled;
    for (const r of routers) {
      new BgpPeer(this, `Peer-${r.name}`, {
        metadata: { name: `tor-${r.name}` },
        spec: {
          peerIp: r.address,
          asNumber: r.asNumber,
          ...(reflectors ? { nodeSelector: `${ROUTE_REFLECTOR_LABEL} == 'true'` } : {}),
        },
      });
    }

    if (reflectors) {
      new BgpPeer(this, 'PeerWithRouteReflectors', {
        metadata: { name: 'peer-with-route-reflectors' },
        spec: { nodeSelector: 'all()', peerSelector: `${ROUTE_REFLECTOR_LABEL} == 'true'` },
      });
      // Route reflectors are marked on their Node objects; applied as a merge of labels/annotations.
      for (const node of this.bgpMode.reflectorNodes) {
        apiObject(this, `RouteReflector-${node}`, {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name: node,
            labels: { [ROUTE_REFLECTOR_LABEL]: 'true' },
            annotations: { [ROUTE_REFLECTOR_CLUSTER_ID_ANNOTATION]: this.bgpMode.clusterId },
          },
        });
      }
    }
  }
}
