// The Site model's public face: load + validate an inventory into a resolved, defaulted model.
import { dirname, isAbsolute, resolve } from 'node:path';
import { checkSite } from './checks';
import { checkAcrossSites, type OtherSite } from './cross-site';
import { loadYamlFile, loadYamlText, type LoadResult, type PositionedError } from './document';
import { SiteSchema, type Role, type Site } from './schema';

export * from './schema';
export * from './addressing';
export { formatError, type LoadResult, type PositionedError } from './document';
export { formatPath, type Issue } from './checks';

/** Validates inventory text; `file` is used in error positions. */
export function parseSite(text: string, file = '<inventory>'): LoadResult<Site> {
  return loadYamlText(SiteSchema, text, file, { checks: checkSite, what: 'Site' });
}

/** Reads and validates an inventory file. */
export function loadSite(file: string): Promise<LoadResult<Site>> {
  return loadYamlFile(SiteSchema, file, { checks: checkSite, what: 'Site' });
}

/**
 * Loads the sites of one federation: each must validate on its own, and no cluster may share a pod
 * or service range with a cluster of another site (reported in the later file, naming the earlier).
 */
export async function loadSites(files: readonly string[]): Promise<LoadResult<Site[]>> {
  // Each file is read and parsed once, in order: cross-site checks compare it with the earlier
  // sites when those all validated (otherwise their own errors come first and suffice).
  const errors: PositionedError[] = [];
  const sites: Site[] = [];
  for (const file of files) {
    const earlier: OtherSite[] = errors.length === 0 ? sites.map((site, j) => ({ file: files[j]!, site })) : [];
    const checks = (site: Site) => [...checkSite(site), ...checkAcrossSites(site, earlier)];
    const r = await loadYamlFile(SiteSchema, file, { checks, what: 'Site' });
    if (r.ok) sites.push(r.value);
    else errors.push(...r.errors);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: sites };
}

/** Resolves a path from the inventory (kubeconfig, keys) relative to the inventory's folder. */
export function resolveFrom(inventoryFile: string, p: string): string {
  if (p.startsWith('~/')) return resolve(process.env.HOME ?? '/root', p.slice(2));
  return isAbsolute(p) ? p : resolve(dirname(inventoryFile), p);
}

/** One-line summary, e.g. `site bj1 (prod): 1 cluster, 7 nodes (3 master, 2 edge, 2 worker), 2 edge VIPs`. */
export function summarizeSite(site: Site): string {
  const nodes = site.spec.clusters.flatMap((c) => c.nodes);
  const count = (r: Role) => nodes.filter((n) => n.roles.includes(r)).length;
  const vips = site.spec.clusters.reduce((n, c) => n + c.edge.vips.length, 0);
  const cl = site.spec.clusters.length;
  return `site ${site.metadata.name} (${site.spec.environment}): ${cl} cluster${cl === 1 ? '' : 's'}, ${nodes.length} nodes (${count('master')} master, ${count('edge')} edge, ${count('worker')} worker), ${vips} edge VIP${vips === 1 ? '' : 's'}, storage ${site.spec.storage.default}, issuer ${site.spec.certificates.issuer}`;
}
export * from './resolve';
