// `flotilla check` (day 2): TLS certificate expiry of the site's endpoints, backup freshness on hosts,
// registry sync lag. Evaluations are pure; probing is thin.
import { connect as tlsConnect } from 'node:tls';
import type { Site } from '../../infra/site/index';
import { shq, type SshPool } from './ssh';
import type { SyncStatusFile } from './sync';

export type Severity = 'pass' | 'warn' | 'fail';
export interface CheckResult {
  readonly id: string;
  readonly target: string;
  readonly severity: Severity;
  readonly message: string;
}

const DAY = 86_400_000;
const fmtDays = (ms: number) => `${(ms / DAY).toFixed(1)} days`;

/** warn < 30 days, fail < 7 days (or expired). */
export function evaluateCertificate(target: string, notAfter: Date, now: Date, subject = ''): CheckResult {
  const left = notAfter.getTime() - now.getTime();
  const who = subject ? ` (${subject})` : '';
  if (left <= 0) return { id: 'tls.expiry', target, severity: 'fail', message: `certificate${who} EXPIRED on ${notAfter.toISOString()}: renew it now` };
  if (left < 7 * DAY) return { id: 'tls.expiry', target, severity: 'fail', message: `certificate${who} expires in ${fmtDays(left)} (${notAfter.toISOString()}), under 7 days: renew it now` };
  if (left < 30 * DAY) return { id: 'tls.expiry', target, severity: 'warn', message: `certificate${who} expires in ${fmtDays(left)} (${notAfter.toISOString()}), under 30 days: plan the renewal` };
  return { id: 'tls.expiry', target, severity: 'pass', message: `certificate${who} valid for ${fmtDays(left)}` };
}

export function evaluateBackup(target: string, newest: Date | undefined, maxAgeMs: number, now: Date): CheckResult {
  if (!newest) return { id: 'backup.freshness', target, severity: 'fail', message: 'no backup file found: check the backup job and the path' };
  const age = now.getTime() - newest.getTime();
  const h = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;
  if (age > maxAgeMs) return { id: 'backup.freshness', target, severity: 'fail', message: `newest backup is ${h(age)} old (${newest.toISOString()}), older than the ${h(maxAgeMs)} allowed: check the backup job` };
  return { id: 'backup.freshness', target, severity: 'pass', message: `newest backup ${h(age)} old` };
}

export function evaluateSync(mirrorHost: string, status: SyncStatusFile | undefined, maxLagMs: number, now: Date): CheckResult {
  const target = `registry sync from ${mirrorHost}`;
  const s = status?.sources[mirrorHost];
  if (!s) return { id: 'registry.sync', target, severity: 'fail', message: 'no sync status recorded: run flotilla registry sync (or check the site sync job)' };
  if (!s.lastSuccessAt) return { id: 'registry.sync', target, severity: 'fail', message: `never synced successfully; last run ${s.finishedAt}: ${s.errors[0] ?? 'errors'}` };
  const lag = now.getTime() - Date.parse(s.lastSuccessAt);
  const m = (ms: number) => `${Math.round(ms / 60_000)} min`;
  if (lag > maxLagMs) return { id: 'registry.sync', target, severity: 'fail', message: `last successful sync ${m(lag)} ago (${s.lastSuccessAt}), more than the ${m(maxLagMs)} allowed` };
  if (!s.ok) return { id: 'registry.sync', target, severity: 'warn', message: `last run had ${s.errors.length} error(s): ${s.errors[0]}` };
  return { id: 'registry.sync', target, severity: 'pass', message: `synced ${m(lag)} ago` };
}

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

/** Connects, reads the peer certificate (without trusting it: this is an expiry check). */
export function probeCertificate(host: string, port: number, now: Date, timeoutMs = 5000, servername?: string): Promise<CheckResult> {
  const target = `${host}:${port}`;
  return new Promise((resolve) => {
    const sock = tlsConnect({ host, port, servername: servername ?? (/^[\d.]+$/.test(host) ? undefined : host), rejectUnauthorized: false, timeout: timeoutMs });
    const done = (r: CheckResult) => {
      sock.destroy();
      resolve(r);
    };
    sock.once('secureConnect', () => {
      const cert = sock.getPeerCertificate();
      if (!cert?.valid_to) return done({ id: 'tls.expiry', target, severity: 'fail', message: 'no certificate presented' });
      done(evaluateCertificate(target, new Date(cert.valid_to), now, cert.subject?.CN ? `CN=${cert.subject.CN}` : ''));
    });
    sock.once('timeout', () => done({ id: 'tls.expiry', target, severity: 'fail', message: `no TLS handshake within ${timeoutMs} ms` }));
    sock.once('error', (err) => done({ id: 'tls.expiry', target, severity: 'fail', message: `unreachable: ${err.message}` }));
  });
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
