// The ToR side of every BGP session, as a BIRD 2 config per router (`network/<router>.bird.conf`),
// for the network team. Sessions: one per node, or one per route reflector when the site sets
// `routeReflectors`. eBGP in BIRD 2 needs explicit filters: from each node import only its own
// cluster's pod blocks (podCIDR, prefixes blockSize–32) and service CIDR (when advertised), export
// nothing — so one cluster can never announce another's ranges.
import type { Router } from '../site/index';
import { resolved, type SiteSource } from '../site/resolve';
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
  /** Accepted prefixes, BIRD prefix-set syntax items, e.g. `10.244.0.0/16{26,32}`. */
  readonly prefixes: readonly string[];
  readonly name: string;
  readonly comment: string;
}

/** The plain input of a ToR BIRD config. */
export interface BirdInput {
  readonly comment: readonly string[];
  /** One import filter per cluster. */
  readonly filters: readonly BirdFilter[];
  readonly localAs: number;
  /** Neighbors are not on a directly connected subnet of the router (BGP `multihop`). */
  readonly multihop: boolean;
  readonly routerId: string;
  readonly neighbors: readonly BirdNeighbor[];
  /** Local address used for the sessions. */
  readonly localAddress: string;
}

export { bgpPeersOfRouter, importPrefixes } from '../site/resolve';

/** BIRD filter name for a cluster's sessions. */
export function birdFilterName(clusterName: string): string {
  return `flotilla_import_${clusterName.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** BIRD protocol name of a session with node `name`. */
export function birdProtocolName(nodeName: string): string {
  return `node_${nodeName.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

export function birdInputOfRouter(site: SiteSource, router: Router): BirdInput {
  const r = resolved(site);
  const rr = r.router(router.name);
  const reflectors = r.site.spec.network.routeReflectors;
  const ases = [...new Set(rr.clusters.map((c) => c.addressing.asNumber))];
  return {
    comment: [
      `ToR ${router.name} (${router.address}, AS ${router.asNumber}): the router side of the BGP sessions with site ${r.name}`,
      `(AS ${ases.join(', ')}); ${reflectors.length > 0 ? `one session per route reflector (${reflectors.join(', ')})` : 'one session per node'}.`,
      "Imports from each node only its own cluster's pod blocks and service CIDR, exports nothing.",
    ],
    routerId: router.address,
    localAddress: router.address,
    localAs: router.asNumber,
    filters: rr.clusters.map((c) => ({ name: birdFilterName(c.cluster.name), comment: `cluster ${c.cluster.name}`, prefixes: c.importPrefixes })),
    neighbors: rr.peers.map(({ node, cluster: c }) => ({
      protocol: birdProtocolName(node.name),
      description: `${c.cluster.name}/${node.name}`,
      address: node.address,
      asNumber: c.addressing.asNumber,
      filter: birdFilterName(c.cluster.name),
    })),
    multihop: !rr.adjacent,
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

export function renderRouterBird(site: SiteSource, router: Router, opts: BirdOptions = {}): string {
  return renderBird(birdInputOfRouter(site, router), opts);
}
