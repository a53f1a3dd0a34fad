// Per-cluster addressing, resolved once: every cluster's pod and service CIDR and its BGP AS.
// A cluster's own `network` wins; otherwise it inherits the site's `spec.network` values. Checks,
// renderers and constructs read this instead of the raw inventory.
import type { Cluster, Site } from './schema';

export interface ClusterAddressing {
  readonly cluster: string;
  readonly podCIDR: string;
  readonly serviceCIDR: string;
  readonly asNumber: number;
  /** Which values came from the site default (named in validation messages). */
  readonly inherited: { readonly podCIDR: boolean; readonly serviceCIDR: boolean; readonly asNumber: boolean };
}

export function clusterAddressing(site: Site, cluster: Cluster): ClusterAddressing {
  const own = cluster.network ?? {};
  const net = site.spec.network;
  return {
    cluster: cluster.name,
    podCIDR: own.podCIDR ?? net.podCIDR,
    serviceCIDR: own.serviceCIDR ?? net.serviceCIDR,
    asNumber: own.asNumber ?? net.asNumber,
    inherited: { podCIDR: own.podCIDR === undefined, serviceCIDR: own.serviceCIDR === undefined, asNumber: own.asNumber === undefined },
  };
}

/** Addressing of every cluster of the site, in inventory order. */
export function siteAddressing(site: Site): ClusterAddressing[] {
  return site.spec.clusters.map((c) => clusterAddressing(site, c));
}
