// Resolve once, render many (DESIGN "How it should feel inside"): the validated inventory resolved
// into the facts every consumer needs — per-cluster addressing, VIP holders and their VRRP
// priorities, route reflectors, each ToR router's BGP peers and whether it is adjacent to them,
// registry and trust settings. Synthesis calls resolveSite once and passes the result to the
// renderers, the constructs' builders and the chart catalog; none of them re-derives these facts.
import { cidrContains, formatCidr, parseCidr, parseIPv4 } from '../lib/net';
import { clusterAddressing, type ClusterAddressing } from './addressing';
import type { Cluster, Router, Site, SiteNode } from './schema';

/**
 * VRRP priority of the holder at `index` (0 = preferred) among `count`: descending by node order,
 * 200, 190, 180 … (smaller steps for large groups), always within 1–254.
 */
export function vrrpPriority(index: number, count: number): number {
  if (count > 191) throw new Error(`${count} VRRP holders are too many: keepalived priorities allow at most 191 per VIP`);
  if (index < 0 || index >= count) throw new Error(`holder index ${index} is outside 0–${count - 1}`);
  const step = count <= 1 ? 0 : Math.max(1, Math.min(10, Math.floor(190 / (count - 1))));
  return 200 - index * step;
}

/** The weight that drops a failing holder below every healthy one (so another takes the VIP). */
export function failoverWeight(count: number): number {
  if (count <= 1) return -10;
  return -(vrrpPriority(0, count) - vrrpPriority(count - 1, count) + (vrrpPriority(0, count) - vrrpPriority(1, count)));
}

/** The holders of a cluster's VIPs of one kind (API VIP: masters; edge VIPs: edge nodes). */
export interface VipHolders {
  readonly role: 'master' | 'edge';
  /** Holders in priority order (inventory node order). */
  readonly holders: readonly SiteNode[];
  /** Weight of a failing health check: drops a holder below every healthy one. */
  readonly failoverWeight: number;
}

/** Index of `node` among the holders; throws a message naming the role when it is not one. */
export function holderIndex(v: VipHolders, node: SiteNode, cluster: string): number {
  const i = v.holders.findIndex((n) => n.name === node.name);
  if (i < 0) {
    throw new Error(
      `node ${JSON.stringify(node.name)} is not ${v.role === 'edge' ? 'an' : 'a'} ${v.role} node of cluster ${JSON.stringify(cluster)}: give it the ${v.role} role or render for one of ${v.holders.map((n) => n.name).join(', ') || '(none)'}`,
    );
  }
  return i;
}

/** VRRP priority of `node` among the holders (throws when it is not one). */
export function holderPriority(v: VipHolders, node: SiteNode, cluster: string): number {
  return vrrpPriority(holderIndex(v, node, cluster), v.holders.length);
}

export interface ResolvedCluster {
  readonly cluster: Cluster;
  /** Position in the inventory (0-based). */
  readonly index: number;
  readonly addressing: ClusterAddressing;
  readonly apiVip: VipHolders;
  readonly edgeVip: VipHolders;
  /** The site's route reflectors that are nodes of this cluster; empty = Calico full mesh. */
  readonly routeReflectors: readonly string[];
  /** Calico route-reflector cluster id of this cluster (`244.0.0.<index + 1>`). */
  readonly routeReflectorClusterId: string;
  /** Prefix-set items a ToR accepts from this cluster's nodes: its pod blocks and service CIDR. */
  readonly importPrefixes: readonly string[];
  /** Runs the site's single services (site registry, federation control plane): the first cluster. */
  readonly runsSiteServices: boolean;
}

export interface BgpPeer {
  readonly node: SiteNode;
  readonly cluster: ResolvedCluster;
}

export interface ResolvedRouter {
  readonly router: Router;
  /** The nodes this router has sessions with: every node, or only the route reflectors. */
  readonly peers: readonly BgpPeer[];
  /** Clusters with at least one session, in inventory order. */
  readonly clusters: readonly ResolvedCluster[];
  /** The router shares a subnet (the clusters' VIP prefixes) with every peer: no BGP multihop. */
  readonly adjacent: boolean;
}

export interface ResolvedRegistry {
  readonly host: string;
  /** `https://<host>`. */
  readonly url: string;
  readonly mirrors: Site['spec']['registry']['mirrors'];
  /** The site's certificates come from its own private CA (nodes need its ca.crt to trust the registry). */
  readonly privateCa: boolean;
  /**
   * PEM of the CA nodes trust for the site registry (`spec.certificates.caCert`: the private site CA,
   * or a private ACME chain's root); undefined = the nodes' system trust store.
   */
  readonly caCert?: string;
}

export interface ResolvedSite {
  /** The validated inventory (read only). */
  readonly site: Site;
  readonly name: string;
  readonly clusters: readonly ResolvedCluster[];
  readonly routers: readonly ResolvedRouter[];
  readonly registry: ResolvedRegistry;
  /** The resolved cluster of that name (throws when the site has none). */
  cluster(name: string): ResolvedCluster;
  /** The resolved router of that name (throws when the site has none). */
  router(name: string): ResolvedRouter;
}

/** What consumers accept: an inventory (resolved on the spot) or its resolution. */
export type SiteSource = Site | ResolvedSite;

export function isResolved(s: SiteSource): s is ResolvedSite {
  return 'site' in s && 'clusters' in s && typeof (s as ResolvedSite).cluster === 'function';
}

/** The resolution of a site input (a ResolvedSite is returned as it is). */
export function resolved(s: SiteSource): ResolvedSite {
  return isResolved(s) ? s : resolveSite(s);
}

/** The nodes a router peers with: all nodes of the site, or only the route reflectors. */
export function bgpPeersOfRouter(site: Site): SiteNode[] {
  const nodes = site.spec.clusters.flatMap((c) => c.nodes);
  const rr = site.spec.network.routeReflectors;
  if (rr.length === 0) return nodes;
  return rr.map((name) => {
    const n = nodes.find((x) => x.name === name);
    if (!n) throw new Error(`routeReflectors names ${JSON.stringify(name)}, which is not a node of site ${site.metadata.name}: use a node name`);
    return n;
  });
}

/** The prefix-set items a ToR accepts from one cluster's nodes: exactly its pod blocks and service CIDR. */
export function importPrefixes(site: Site, cluster: Cluster): string[] {
  const net = site.spec.network;
  const a = clusterAddressing(site, cluster);
  const pod = parseCidr(a.podCIDR)!;
  const out = [`${formatCidr(pod)}{${Math.max(net.blockSize, pod.prefix)},32}`];
  if (net.advertiseServiceCIDR) {
    const svc = parseCidr(a.serviceCIDR)!;
    out.push(`${formatCidr(svc)}{${svc.prefix},32}`);
  }
  return out;
}

function vipHolders(cluster: Cluster, role: 'master' | 'edge'): VipHolders {
  const holders = cluster.nodes.filter((n) => n.roles.includes(role));
  return { role, holders, failoverWeight: failoverWeight(holders.length) };
}

function resolveCluster(site: Site, cluster: Cluster, index: number): ResolvedCluster {
  return {
    cluster,
    index,
    addressing: clusterAddressing(site, cluster),
    apiVip: vipHolders(cluster, 'master'),
    edgeVip: vipHolders(cluster, 'edge'),
    routeReflectors: site.spec.network.routeReflectors.filter((r) => cluster.nodes.some((x) => x.name === r)),
    routeReflectorClusterId: `244.0.0.${index + 1}`,
    importPrefixes: importPrefixes(site, cluster),
    runsSiteServices: index === 0,
  };
}

function resolveRouter(router: Router, peerNodes: readonly SiteNode[], clusters: readonly ResolvedCluster[]): ResolvedRouter {
  const peers = peerNodes.map((node) => ({ node, cluster: clusters.find((c) => c.cluster.nodes.includes(node))! }));
  const r = parseIPv4(router.address)!;
  const adjacent = peers.every((p) => {
    const subnet = parseCidr(p.cluster.cluster.apiVIP.address)!;
    return cidrContains(subnet, r) && cidrContains(subnet, parseIPv4(p.node.address)!);
  });
  return { router, peers, clusters: clusters.filter((c) => peers.some((p) => p.cluster === c)), adjacent };
}

/** Resolves a validated site into the facts its consumers need. Pure; never mutates `site`. */
export function resolveSite(site: Site): ResolvedSite {
  const clusters = site.spec.clusters.map((c, i) => resolveCluster(site, c, i));
  const routers = site.spec.network.routers.length === 0 ? [] : (() => {
    const peers = bgpPeersOfRouter(site);
    return site.spec.network.routers.map((r) => resolveRouter(r, peers, clusters));
  })();
  const reg = site.spec.registry;
  const find = <T>(list: readonly T[], name: string, nameOf: (t: T) => string, what: string): T => {
    const found = list.find((x) => nameOf(x) === name);
    if (!found) throw new Error(`site ${site.metadata.name} has no ${what} ${JSON.stringify(name)}: use one of ${list.map(nameOf).join(', ') || '(none)'}`);
    return found;
  };
  return {
    site,
    name: site.metadata.name,
    clusters,
    routers,
    registry: { host: reg.host, url: `https://${reg.host}`, mirrors: reg.mirrors, privateCa: site.spec.certificates.issuer === 'ca', ...(site.spec.certificates.caCert !== undefined ? { caCert: site.spec.certificates.caCert } : {}) },
    cluster: (name) => find(clusters, name, (c) => c.cluster.name, 'cluster'),
    router: (name) => find(routers, name, (r) => r.router.name, 'router'),
  };
}
