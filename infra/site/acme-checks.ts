// ACME checks of a Site inventory: every certificate name the site requests from an ACME issuer
// must be solvable, and a wildcard only over DNS-01 (ACME refuses HTTP-01 for wildcards). The
// solver that would serve a name is chosen the way cert-manager chooses (infra/lib/acme.ts), over
// the same solver list the CertManagerIssuers construct emits.
import { selectSolver, siteSolvers } from '../lib/acme';
import type { Issue, Path } from './checks';
import type { Site } from './schema';

const show = (v: unknown): string => JSON.stringify(v);

/** The names of the site's wildcard certificate (CertManagerIssuers' `Wildcard`). */
export const siteCertificateNames = (domain: string): string[] => [domain, `*.${domain}`];

export function checkAcme(site: Site): Issue[] {
  const c = site.spec.certificates;
  if (c.issuer !== 'acme') return [];
  const issues: Issue[] = [];
  const add = (path: Path, message: string) => issues.push({ path, message });
  const base: Path = ['spec', 'certificates'];
  const d = c.dns01;
  const domain = site.spec.domain;

  if (d && [d.rfc2136, d.webhook].filter(Boolean).length !== 1) {
    add([...base, 'dns01'], `dns01 has ${d.rfc2136 && d.webhook ? 'both rfc2136 and webhook' : 'neither rfc2136 nor webhook'}: give exactly one (rfc2136 for the site DNS with a TSIG key, or webhook)`);
  }
  const zones = d?.zones ?? [domain];
  const solvers = siteSolvers({ dns01: d !== undefined, dnsZones: zones, http01: d?.http01 ?? true });
  for (const name of siteCertificateNames(domain)) {
    const i = selectSolver(name, solvers);
    const type = i === undefined ? undefined : solvers[i]!.type;
    if (type === 'dns01' || (type === 'http01' && !name.startsWith('*.'))) continue;
    if (!d) {
      add(
        [...base, 'issuer'],
        `issuer "acme" would request the site certificate ${show(name)} over HTTP-01, which ACME refuses for wildcard names: add spec.certificates.dns01 with rfc2136 (the site DNS, TSIG key in flotilla:tsigKey) or webhook, or use issuer "ca"`,
      );
      continue;
    }
    const zonesPath: Path = d.zones ? [...base, 'dns01', 'zones'] : [...base, 'dns01'];
    add(
      zonesPath,
      `${show(name)} is outside the DNS-01 zones ${show(zones)}, so it would use ${type === 'http01' ? 'HTTP-01, which ACME refuses for wildcard names' : 'no solver at all'}: add ${show(domain)} (or a parent zone) to spec.certificates.dns01.zones`,
    );
  }
  return issues;
}
