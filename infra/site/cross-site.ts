// Checks across the sites of one federation: no two clusters anywhere may share a pod or service
// range (cross-site traffic and the mesh route by them). Pure; issues are located in `site`'s file.
import { cidrsOverlap, formatCidr, parseCidr } from '../lib/net';
import { siteAddressing } from './addressing';
import type { Issue } from './checks';
import type { Site } from './schema';

export interface OtherSite {
  readonly file: string;
  readonly site: Site;
}

const FIELDS = ['podCIDR', 'serviceCIDR'] as const;

/** Every range of `site` that overlaps a range of one of `others` (each reported once, at its first clash). */
export function checkAcrossSites(site: Site, others: readonly OtherSite[]): Issue[] {
  const issues: Issue[] = [];
  const theirs = others.flatMap((o) =>
    siteAddressing(o.site).flatMap((a) => FIELDS.map((field) => ({ o, cluster: a.cluster, field, cidr: parseCidr(a[field])! }))),
  );
  siteAddressing(site).forEach((a, ci) => {
    for (const field of FIELDS) {
      const cidr = parseCidr(a[field])!;
      const clash = theirs.find((t) => cidrsOverlap(t.cidr, cidr));
      if (clash === undefined) continue;
      const inherited = a.inherited[field];
      issues.push({
        path: inherited ? ['spec', 'network', field] : ['spec', 'clusters', ci, 'network', field],
        message:
          `cluster ${JSON.stringify(a.cluster)} ${field} ${JSON.stringify(formatCidr(cidr))}${inherited ? ` (from spec.network.${field})` : ''} ` +
          `overlaps site ${JSON.stringify(clash.o.site.metadata.name)} (${clash.o.file}) cluster ${JSON.stringify(clash.cluster)} ${clash.field} ` +
          `${JSON.stringify(formatCidr(clash.cidr))}: sites of one federation route to each other by these ranges; give this cluster a range no other site uses`,
      });
    }
  });
  return issues;
}
