// Day-2 check evaluations (pure): certificate and domain expiry, backup and etcd snapshot
// freshness, registry sync lag. Shared by `flotilla check` (one shot, scripts/) and cluster-mgr's
// scheduled checks (cluster-mgr/daemon/day2.ts). A leaf module: it imports nothing from the rest of
// the repository, so both sides may depend on it. Probing lives next door (./probe.ts) and is thin.

/** `skip`: the check could not be made (e.g. an RDAP server that is not reachable from here). */
export type Severity = 'pass' | 'warn' | 'fail' | 'skip';
export interface CheckResult {
  readonly id: string;
  readonly target: string;
  readonly severity: Severity;
  readonly message: string;
  /**
   * The measured quantity in seconds, when there is one: time left until expiry (negative when
   * expired) or age of the newest backup / snapshot / successful sync.
   */
  readonly seconds?: number;
}

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const fmtDays = (ms: number) => `${(ms / DAY_MS).toFixed(1)} days`;
const fmtHours = (ms: number) => `${(ms / HOUR_MS).toFixed(1)} h`;
/** A threshold as written: whole days as `7 days`, otherwise hours. */
const fmtSpan = (ms: number) => (ms % DAY_MS === 0 ? `${ms / DAY_MS} day${ms === DAY_MS ? '' : 's'}` : fmtHours(ms));

export interface ExpiryThresholds {
  /** Warn when less than this is left. @default 30 days */
  readonly warnBeforeMs?: number;
  /** Fail when less than this is left. @default 7 days */
  readonly failBeforeMs?: number;
}

function expiry(id: string, what: string, target: string, notAfter: Date, now: Date, t: ExpiryThresholds, fix: { fail: string; warn: string }): CheckResult {
  const warnMs = t.warnBeforeMs ?? 30 * DAY_MS;
  const failMs = t.failBeforeMs ?? 7 * DAY_MS;
  const left = notAfter.getTime() - now.getTime();
  const seconds = Math.round(left / 1000);
  if (left <= 0) return { id, target, severity: 'fail', message: `${what} EXPIRED on ${notAfter.toISOString()}: ${fix.fail}`, seconds };
  if (left < failMs) return { id, target, severity: 'fail', message: `${what} expires in ${fmtDays(left)} (${notAfter.toISOString()}), under ${fmtSpan(failMs)}: ${fix.fail}`, seconds };
  if (left < warnMs) return { id, target, severity: 'warn', message: `${what} expires in ${fmtDays(left)} (${notAfter.toISOString()}), under ${fmtSpan(warnMs)}: ${fix.warn}`, seconds };
  return { id, target, severity: 'pass', message: `${what} valid for ${fmtDays(left)}`, seconds };
}

/** warn < 30 days, fail < 7 days (or expired) unless thresholds say otherwise. */
export function evaluateCertificate(target: string, notAfter: Date, now: Date, subject = '', thresholds: ExpiryThresholds = {}): CheckResult {
  return expiry('tls.expiry', `certificate${subject ? ` (${subject})` : ''}`, target, notAfter, now, thresholds, { fail: 'renew it now', warn: 'plan the renewal' });
}

/** Domain registration expiry (from RDAP); same thresholds as certificates by default. */
export function evaluateDomain(domain: string, expiresAt: Date, now: Date, thresholds: ExpiryThresholds = {}): CheckResult {
  return expiry('domain.expiry', 'domain registration', domain, expiresAt, now, thresholds, { fail: 'renew it with the registrar now', warn: 'plan the renewal with the registrar' });
}

/** Newest backup file's time against the allowed age (and an optional earlier warning age). */
export function evaluateBackup(target: string, newest: Date | undefined, maxAgeMs: number, now: Date, warnAfterMs?: number): CheckResult {
  if (!newest) return { id: 'backup.freshness', target, severity: 'fail', message: 'no backup file found: check the backup job and the path' };
  const age = now.getTime() - newest.getTime();
  const seconds = Math.round(age / 1000);
  if (age > maxAgeMs) return { id: 'backup.freshness', target, severity: 'fail', message: `newest backup is ${fmtHours(age)} old (${newest.toISOString()}), older than the ${fmtHours(maxAgeMs)} allowed: check the backup job`, seconds };
  if (warnAfterMs !== undefined && age > warnAfterMs) return { id: 'backup.freshness', target, severity: 'warn', message: `newest backup is ${fmtHours(age)} old (${newest.toISOString()}), older than ${fmtHours(warnAfterMs)}: check the backup job`, seconds };
  return { id: 'backup.freshness', target, severity: 'pass', message: `newest backup ${fmtHours(age)} old`, seconds };
}

export interface SnapshotFile {
  readonly name: string;
  readonly mtime: Date;
  readonly size: number;
}

/** The newest etcd snapshot (`etcdctl snapshot save` output): present, not empty, young enough. */
export function evaluateEtcdSnapshot(target: string, newest: SnapshotFile | undefined, maxAgeMs: number, now: Date, warnAfterMs?: number): CheckResult {
  const id = 'etcd.snapshot';
  if (!newest) return { id, target, severity: 'fail', message: 'no etcd snapshot found: check the snapshot job (etcdctl snapshot save) and the path' };
  const age = now.getTime() - newest.mtime.getTime();
  const seconds = Math.round(age / 1000);
  if (newest.size === 0) return { id, target, severity: 'fail', message: `newest snapshot ${newest.name} is empty (0 bytes): the snapshot job failed mid-write; take a new one`, seconds };
  if (age > maxAgeMs) return { id, target, severity: 'fail', message: `newest snapshot ${newest.name} is ${fmtHours(age)} old (${newest.mtime.toISOString()}), older than the ${fmtHours(maxAgeMs)} allowed: check the snapshot job`, seconds };
  if (warnAfterMs !== undefined && age > warnAfterMs) return { id, target, severity: 'warn', message: `newest snapshot ${newest.name} is ${fmtHours(age)} old, older than ${fmtHours(warnAfterMs)}: check the snapshot job`, seconds };
  return { id, target, severity: 'pass', message: `newest snapshot ${newest.name} ${fmtHours(age)} old, ${newest.size} bytes`, seconds };
}

// --- Registry sync status (written by `flotilla registry sync`, read by both checks).

export interface SyncStatus {
  readonly source: string;
  readonly target: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly ok: boolean;
  /** Last finish time of a run without errors (kept from earlier runs when this one failed). */
  readonly lastSuccessAt?: string;
  readonly repositories: number;
  readonly tags: number;
  readonly manifestsCopied: number;
  readonly tagsUpToDate: number;
  readonly blobsCopied: number;
  readonly blobsMounted: number;
  readonly blobsSkipped: number;
  readonly errors: string[];
}

export type SyncStatusFile = { readonly sources: Record<string, SyncStatus> };

export function evaluateSync(mirrorHost: string, status: SyncStatusFile | undefined, maxLagMs: number, now: Date): CheckResult {
  const target = `registry sync from ${mirrorHost}`;
  const s = status?.sources[mirrorHost];
  if (!s) return { id: 'registry.sync', target, severity: 'fail', message: 'no sync status recorded: run flotilla registry sync (or check the site sync job)' };
  if (!s.lastSuccessAt) return { id: 'registry.sync', target, severity: 'fail', message: `never synced successfully; last run ${s.finishedAt}: ${s.errors[0] ?? 'errors'}` };
  const lag = now.getTime() - Date.parse(s.lastSuccessAt);
  const seconds = Math.round(lag / 1000);
  const m = (ms: number) => `${Math.round(ms / 60_000)} min`;
  if (lag > maxLagMs) return { id: 'registry.sync', target, severity: 'fail', message: `last successful sync ${m(lag)} ago (${s.lastSuccessAt}), more than the ${m(maxLagMs)} allowed`, seconds };
  if (!s.ok) return { id: 'registry.sync', target, severity: 'warn', message: `last run had ${s.errors.length} error(s): ${s.errors[0]}`, seconds };
  return { id: 'registry.sync', target, severity: 'pass', message: `synced ${m(lag)} ago`, seconds };
}

// --- RDAP (RFC 9083 responses, RFC 9224 bootstrap).

/** The `expiration` event of an RDAP domain object, if it has one. */
export function rdapExpiration(doc: unknown): Date | undefined {
  const events = (doc as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) return undefined;
  for (const e of events as { eventAction?: unknown; eventDate?: unknown }[]) {
    if (e?.eventAction === 'expiration' && typeof e.eventDate === 'string') {
      const t = Date.parse(e.eventDate);
      if (Number.isFinite(t)) return new Date(t);
    }
  }
  return undefined;
}

/** The RDAP base URL for a domain from the IANA bootstrap file (`dns.json`): the longest matching suffix. */
export function rdapBaseFor(bootstrap: unknown, domain: string): string | undefined {
  const services = (bootstrap as { services?: unknown } | null)?.services;
  if (!Array.isArray(services)) return undefined;
  const name = domain.toLowerCase().replace(/\.$/, '');
  let best: { len: number; url: string } | undefined;
  for (const s of services as unknown[]) {
    if (!Array.isArray(s) || !Array.isArray(s[0]) || !Array.isArray(s[1])) continue;
    const url = (s[1] as unknown[]).find((u): u is string => typeof u === 'string' && u.startsWith('https://')) ?? (s[1] as unknown[]).find((u): u is string => typeof u === 'string');
    if (!url) continue;
    for (const suffix of s[0] as unknown[]) {
      if (typeof suffix !== 'string') continue;
      const sfx = suffix.toLowerCase();
      if ((name === sfx || name.endsWith(`.${sfx}`)) && (!best || sfx.length > best.len)) best = { len: sfx.length, url };
    }
  }
  return best?.url;
}

/** Turns a shell-style file pattern (`*.db`, `snap-?.db`) into an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}
