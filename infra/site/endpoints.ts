// Site service host names (pure): on a one-cluster site `https://<svc>.<domain>`, on a multi-cluster
// site `https://<svc>-<cluster>.<domain>` — the Pulumi stack outputs and the in-cluster routes
// (e.g. Grafana's VirtualService) use the same names.
import type { Site } from './schema';

export function clusterServiceHost(site: Site, cluster: string, svc: string): string {
  const d = site.spec.domain;
  return site.spec.clusters.length > 1 ? `${svc}-${cluster}.${d}` : `${svc}.${d}`;
}

export const clusterServiceUrl = (site: Site, cluster: string, svc: string): string => `https://${clusterServiceHost(site, cluster, svc)}`;
