// The ToR side of every BGP session, as a BIRD 2 config per router (`network/<router>.bird.conf`),
// for the network team. Sessions: one per node, or one per route reflector when the site sets
// `routeReflectors`. eBGP in BIRD 2 needs explicit filters: from each node import only its own
// cluster's pod blocks (podCIDR, prefixes blockSize–32) and service CIDR (when advertised), export
// nothing — so one cluster can never announce another's ranges.
import { clusterAddressing, type Cluster, type Router, type Site, type SiteNode } from '../site/index';
import { cidrContains, formatCidr, parseCidr, parseIPv4 } from '../lib/net';
import { blocks, dq, header } from './common';

export interface BgpTimers {
  /** BGP hold time, seconds. @default 90 */
  readonly holdTime?: number;
  /** Keepalive, seconds. @default 30 */
  readonly keepaliveTime?: number;
  /** Wait before retrying a failed connect, seconds. @default 30 */
  readonly connectRetryTime?: number;
  /** `error wait time MIN, MAX`, seconds: back-off after a session error. @default [60, 300] (tests: [1, 5]) */
  readonly errorWaitTime?: readonly [number, number];
}

export interface BirdOptions {
  readonly timers?: BgpTimers;
  /** `syslog` for a router, `stderr` for a foreground test instance. @default 'syslog' */
  readonly log?: 'syslog' | 'stderr';
  /** Install learned routes into the kernel table (ECMP over nodes). @default true */
  readonly kernel?: boolean;
  /** Upper bound on imported prefixes per session (`import limit … action block`). @default 10000 */
  readonly importLimit?: number;
}

/** One BGP session of a router: the node (or route reflector) it peers with. */
export interface BirdNeighbor {
  /** BIRD protocol name (identifier). */
  readonly protocol: string;
  readonly description: string;
  readonly address: string;
  readonly asNumber: number;
  /** Name of the import filter of this session (its cluster's ranges). */
  readonly filter: string;
}

/** One import filter: the prefixes a cluster's nodes may announce. */
export interface BirdFilter {
  readonly name: string;
  readonly comment: string;
  /** Accepted prefixes, BIRD prefix-set syntax items, e.g. `10.244.0.0/16{26,32}`. */
  readonly prefixes: readonly string[];
}

/** The plain input of a ToR BIRD config. */
export interface BirdInput {
  readonly comment: readonly string[];
  readonly routerId: string;
  /** Local address used for the sessions. */
  readonly localAddress: string;
  readonly localAs: number;
  /** One import filter per cluster. */
  readonly filters: readonly BirdFilter[];
  readonly neighbors: readonly BirdNeighbor[];
  /** Neighbors are not on a directly connected subnet of the router (BGP `multihop`). */
  readonly multihop: boolean;
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

/** BIRD filter name for a cluster's sessions. */
export function birdFilterName(clusterName: string): string {
  return `flotilla_import_${clusterName.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** BIRD protocol name of a session with node `name`. */
export function birdProtocolName(nodeName: string): string {
  return `node_${nodeName.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/**
 * Whether the router shares a subnet with the nodes (taken from the clusters' VIP prefixes): then
 * eBGP runs directly connected, otherwise multihop.
 */
function routerIsAdjacent(site: Site, router: Router, peers: readonly SiteNode[]): boolean {
  const r = parseIPv4(router.address)!;
  return peers.every((n) => {
    const cluster = site.spec.clusters.find((c) => c.nodes.includes(n))!;
    const subnet = parseCidr(cluster.apiVIP.address)!;
    return cidrContains(subnet, r) && cidrContains(subnet, parseIPv4(n.address)!);
  });
}

export function birdInputOfRouter(site: Site, router: Router): BirdInput {
  const net = site.spec.network;
  const peers = bgpPeersOfRouter(site);
  const clusterOf = (n: SiteNode) => site.spec.clusters.find((c) => c.nodes.includes(n))!;
  const clusters = site.spec.clusters.filter((c) => peers.some((n) => clusterOf(n) === c));
  const ases = [...new Set(clusters.map((c) => clusterAddressing(site, c).asNumber))];
  return {
    comment: [
      `ToR ${router.name} (${router.address}, AS ${router.asNumber}): the router side of the BGP sessions with site ${site.metadata.name}`,
      `(AS ${ases.join(', ')}); ${net.routeReflectors.length > 0 ? `one session per route reflector (${net.routeReflectors.join(', ')})` : 'one session per node'}.`,
      "Imports from each node only its own cluster's pod blocks and service CIDR, exports nothing.",
    ],
    routerId: router.address,
    localAddress: router.address,
    localAs: router.asNumber,
    filters: clusters.map((c) => ({ name: birdFilterName(c.name), comment: `cluster ${c.name}`, prefixes: importPrefixes(site, c) })),
    neighbors: peers.map((n) => {
      const c = clusterOf(n);
      return {
        protocol: birdProtocolName(n.name),
        description: `${c.name}/${n.name}`,
        address: n.address,
        asNumber: clusterAddressing(site, c).asNumber,
        filter: birdFilterName(c.name),
      };
    }),
    multihop: !routerIsAdjacent(site, router, peers),
  };
}

/** Renders a BIRD 2 config from the plain input. */
export function renderBird(input: BirdInput, opts: BirdOptions = {}): string {
  const t = opts.timers ?? {};
  const [ewMin, ewMax] = t.errorWaitTime ?? [60, 300];
  const kernel = opts.kernel ?? true;
  const bgpTemplate = [
    'template bgp flotilla_node {',
    `  local ${input.localAddress} as ${input.localAs};`,
    ...(input.multihop ? ['  multihop;'] : []),
    `  hold time ${t.holdTime ?? 90};`,
    `  keepalive time ${t.keepaliveTime ?? 30};`,
    `  connect retry time ${t.connectRetryTime ?? 30};`,
    `  error wait time ${ewMin}, ${ewMax};`,
    '  ipv4 {',
    '    import none;',
    `    import limit ${opts.importLimit ?? 10000} action block;`,
    '    export none;',
    '  };',
    '}',
  ].join('\n');
  const sessions = input.neighbors.map((n) =>
    [
      `protocol bgp ${n.protocol} from flotilla_node {`,
      `  description ${dq(n.description)};`,
      `  neighbor ${n.address} as ${n.asNumber};`,
      `  ipv4 { import filter ${n.filter}; };`,
      '}',
    ].join('\n'),
  );
  return blocks([
    header(input.comment),
    [`router id ${input.routerId};`, `log ${opts.log === 'stderr' ? 'stderr' : 'syslog'} all;`].join('\n'),
    'protocol device {\n  scan time 10;\n}',
    // Connected routes, so multihop next hops resolve.
    input.multihop && 'protocol direct {\n  ipv4;\n}',
    kernel &&
      [
        'protocol kernel {',
        '  ipv4 {',
        '    import none;',
        '    export where source = RTS_BGP;',
        '  };',
        '  merge paths on;',
        '}',
      ].join('\n'),
    ...input.filters.map((f) =>
      [
        `# ${f.comment}: pod blocks (podCIDR, prefixes blockSize–32) and, when advertised, the service CIDR; nothing else.`,
        `filter ${f.name} {`,
        `  if net ~ [ ${f.prefixes.join(', ')} ] then accept;`,
        '  reject;',
        '}',
      ].join('\n'),
    ),
    bgpTemplate,
    ...sessions,
  ]);
}

export function renderRouterBird(site: Site, router: Router, opts: BirdOptions = {}): string {
  return renderBird(birdInputOfRouter(site, router), opts);
}
