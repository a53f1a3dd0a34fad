// Every host of a site that gets host files over SSH, in install order: the cluster nodes (inventory
// order), then the front hosts (`spec.front.hosts`), then the ops host (`spec.federation.opsHost`).
// The Pulumi host layer, `flotilla install` and `flotilla preflight` all walk this one list.
import type { Role, Site } from './schema';

/** What a host is: a cluster node, a front LB host, or the ops host running cluster-mgr under systemd. */
export type SiteHostKind = 'node' | 'front' | 'ops';

export interface SiteHost {
  readonly name: string;
  readonly address: string;
  readonly kind: SiteHostKind;
  /** The node's roles; `['front']` / `['ops']` for the site-level hosts. */
  readonly roles: readonly (Role | 'front' | 'ops')[];
  /** The node's cluster; '' for site-level hosts (front, ops). */
  readonly cluster: string;
}

export function siteHosts(site: Site): SiteHost[] {
  const ops = site.spec.federation.opsHost;
  return [
    ...site.spec.clusters.flatMap((c) => c.nodes.map((n): SiteHost => ({ name: n.name, address: n.address, kind: 'node', roles: n.roles, cluster: c.name }))),
    ...(site.spec.front?.hosts ?? []).map((h): SiteHost => ({ name: h.name, address: h.address, kind: 'front', roles: ['front'], cluster: '' })),
    ...(ops ? [{ name: ops.name, address: ops.address, kind: 'ops' as const, roles: ['ops' as const], cluster: '' }] : []),
  ];
}
