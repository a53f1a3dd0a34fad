// `flotilla check` (day 2): TLS certificate expiry of the site's endpoints, backup freshness on hosts,
// registry sync lag. The evaluations and the TLS probe live in infra/day2 (shared with cluster-mgr's
// scheduled checks); what stays here is what needs the inventory or SSH.
import { evaluateBackup, type CheckResult } from '../../infra/day2/index';
import type { Site } from '../../infra/site/index';
import { shq } from '../../infra/lib/shell';
import type { SshPool } from './ssh';

export { evaluateBackup, evaluateCertificate, evaluateSync, probeCertificate, type CheckResult, type Severity } from '../../infra/day2/index';

/** The TLS endpoints of a site: the registry, every cluster's API VIP, https probes. */
export function siteEndpoints(site: Site): { host: string; port: number; servername?: string }[] {
  const out: { host: string; port: number; servername?: string }[] = [{ host: site.spec.registry.host, port: 443 }];
  for (const c of site.spec.clusters) out.push({ host: c.apiVIP.address.split('/')[0]!, port: 6443 });
  for (const p of site.spec.monitoring.probes) {
    const u = new URL(p.url);
    if (u.protocol === 'https:') out.push({ host: u.hostname, port: Number(u.port || 443) });
  }
  const seen = new Set<string>();
  return out.filter((e) => (seen.has(`${e.host}:${e.port}`) ? false : (seen.add(`${e.host}:${e.port}`), true)));
}

export interface BackupSpec {
  readonly node: string;
  readonly path: string;
  readonly maxAgeMs: number;
}

/** `NODE:PATH:MAXAGE`, e.g. `gitlab-1:/var/opt/gitlab/backups:26h`. */
export function parseBackupSpec(s: string, parseDuration: (d: string) => number | undefined): BackupSpec | string {
  const m = /^([^:]+):(\/[^:]*):([^:]+)$/.exec(s);
  const ms = m ? parseDuration(m[3]!) : undefined;
  if (!m || ms === undefined) return `--backup ${JSON.stringify(s)} is not NODE:/PATH:MAXAGE: expected e.g. bj1-a-m1:/var/backups/etcd:26h`;
  return { node: m[1]!, path: m[2]!, maxAgeMs: ms };
}

export async function probeBackup(pool: SshPool, address: string, b: BackupSpec, now: Date): Promise<CheckResult> {
  const target = `${b.node}:${b.path}`;
  try {
    const r = await pool.exec(address, `find ${shq(b.path)} -maxdepth 3 -type f -printf '%T@\\n' 2>/dev/null | sort -n | tail -1`);
    const t = Number.parseFloat(r.stdout.trim());
    return evaluateBackup(target, Number.isFinite(t) ? new Date(t * 1000) : undefined, b.maxAgeMs, now);
  } catch (err) {
    return { id: 'backup.freshness', target, severity: 'fail', message: (err as Error).message };
  }
}
