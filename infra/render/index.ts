// Host and network config renderers (pure functions): inventory model → file contents.
// Owned by the Site-synthesis work; the signatures below are the contract other modules use.
import type { Cluster, Site, SiteNode } from '../site/index';

export interface RenderedFile {
  /** Path relative to `OUT/<site>/`, e.g. `hosts/bj1-a-m1/keepalived.conf`, `network/tor-a.bird.conf`. */
  readonly path: string;
  readonly content: string;
}

/**
 * Every host and network file of a site: API-VIP keepalived + HAProxy static pods on masters,
 * containerd hosts.toml per node, the ToR side of every BGP session per router, the global front
 * haproxy.cfg. Deterministic: same site, same files in the same order.
 */
export function renderHostFiles(_site: Site): RenderedFile[] {
  throw new Error('renderHostFiles: not implemented yet');
}

/** keepalived.conf for one edge node's keepalived (run by the EdgeGateway DaemonSet). */
export function renderEdgeKeepalived(_site: Site, _cluster: Cluster, _node: SiteNode): string {
  throw new Error('renderEdgeKeepalived: not implemented yet');
}
