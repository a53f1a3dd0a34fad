// Day-2 probes: the thin I/O in front of ./evaluate.ts. Each returns a CheckResult and never throws
// (an expected failure is a value). Used by `flotilla check` and cluster-mgr's scheduled checks.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import {
  evaluateBackup,
  evaluateCertificate,
  evaluateDomain,
  evaluateEtcdSnapshot,
  globToRegExp,
  rdapBaseFor,
  rdapExpiration,
  type CheckResult,
  type ExpiryThresholds,
  type SnapshotFile,
  type SyncStatusFile,
} from './evaluate';

/** Connects, reads the peer certificate (without trusting it: this is an expiry check). */
export function probeCertificate(host: string, port: number, now: Date, timeoutMs = 5000, servername?: string, thresholds: ExpiryThresholds = {}, signal?: AbortSignal): Promise<CheckResult> {
  const target = `${host}:${port}`;
  return new Promise((resolve) => {
    const sock = tlsConnect({ host, port, servername: servername ?? (/^[\d.]+$/.test(host) ? undefined : host), rejectUnauthorized: false, timeout: timeoutMs });
    const onAbort = () => done({ id: 'tls.expiry', target, severity: 'skip', message: 'check cancelled (shutting down)' });
    const done = (r: CheckResult) => {
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(r);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.once('secureConnect', () => {
      const cert = sock.getPeerCertificate();
      if (!cert?.valid_to) return done({ id: 'tls.expiry', target, severity: 'fail', message: 'no certificate presented' });
      done(evaluateCertificate(target, new Date(cert.valid_to), now, cert.subject?.CN ? `CN=${cert.subject.CN}` : '', thresholds));
    });
    sock.once('timeout', () => done({ id: 'tls.expiry', target, severity: 'fail', message: `no TLS handshake within ${timeoutMs} ms` }));
    sock.once('error', (err) => done({ id: 'tls.expiry', target, severity: 'fail', message: `unreachable: ${err.message}` }));
  });
}

/** Reads the registry sync status file; undefined when it is missing or not one. */
export async function readSyncStatus(file: string): Promise<SyncStatusFile | undefined> {
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as SyncStatusFile;
    return doc && typeof doc.sources === 'object' ? doc : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The newest regular file under `dir` (at most `maxDepth` levels, like `find -maxdepth 3 -type f`),
 * optionally only names matching `match`. Rejects when `dir` itself cannot be read.
 */
export async function newestFile(dir: string, o: { maxDepth?: number; match?: RegExp } = {}): Promise<SnapshotFile | undefined> {
  const maxDepth = o.maxDepth ?? 3;
  let best: SnapshotFile | undefined;
  const walk = async (d: string, depth: number, top: boolean): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      if (top) throw err;
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory() && depth < maxDepth) await walk(p, depth + 1, false);
      else if (e.isFile() && (!o.match || o.match.test(e.name))) {
        const st = await stat(p).catch(() => undefined);
        if (st && (!best || st.mtimeMs > best.mtime.getTime())) best = { name: p, mtime: st.mtime, size: st.size };
      }
    }
  };
  await walk(dir, 1, true);
  return best;
}

const fsError = (err: unknown) => ((err as NodeJS.ErrnoException).code ? `${(err as NodeJS.ErrnoException).code}` : (err as Error).message);

/** Backup freshness of a folder visible on this host (e.g. a mounted backup target). */
export async function probeBackupDir(target: string, dir: string, maxAgeMs: number, now: Date, warnAfterMs?: number): Promise<CheckResult> {
  try {
    const f = await newestFile(dir);
    return evaluateBackup(target, f?.mtime, maxAgeMs, now, warnAfterMs);
  } catch (err) {
    return { id: 'backup.freshness', target, severity: 'fail', message: `cannot read ${dir} (${fsError(err)}): check the path and that the backup target is mounted` };
  }
}

/** etcd snapshot freshness: the newest file matching `match` (default `*.db`) in `dir`. */
export async function probeEtcdSnapshot(target: string, dir: string, maxAgeMs: number, now: Date, o: { match?: string; warnAfterMs?: number } = {}): Promise<CheckResult> {
  try {
    const f = await newestFile(dir, { maxDepth: 1, match: globToRegExp(o.match ?? '*.db') });
    return evaluateEtcdSnapshot(target, f, maxAgeMs, now, o.warnAfterMs);
  } catch (err) {
    return { id: 'etcd.snapshot', target, severity: 'fail', message: `cannot read ${dir} (${fsError(err)}): check the path and that the snapshot target is mounted` };
  }
}

export const IANA_RDAP_BOOTSTRAP = 'https://data.iana.org/rdap/dns.json';

export interface DomainProbeOptions {
  /** RDAP base URL (…/ + `domain/NAME`). @default - looked up in the IANA bootstrap file */
  readonly rdap?: string;
  /** @default IANA_RDAP_BOOTSTRAP */
  readonly bootstrap?: string;
  readonly timeoutMs?: number;
  readonly thresholds?: ExpiryThresholds;
  readonly signal?: AbortSignal;
}

/**
 * Domain registration expiry over RDAP. When the RDAP (or bootstrap) server cannot be reached — the
 * usual case in an air-gapped site — the result is `skip` with "not reachable", never a failure.
 */
export async function probeDomain(domain: string, now: Date, o: DomainProbeOptions = {}): Promise<CheckResult> {
  const id = 'domain.expiry';
  const timeoutMs = o.timeoutMs ?? 10_000;
  const get = async (url: string): Promise<{ ok: true; status: number; body: unknown } | { ok: false; why: string }> => {
    try {
      const res = await fetch(url, { headers: { accept: 'application/rdap+json, application/json' }, signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(o.signal ? [o.signal] : [])]) });
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { ok: true, status: res.status, body };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      return { ok: false, why: e.cause?.code ?? e.cause?.message ?? (e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : e.message) };
    }
  };
  const skip = (message: string): CheckResult => ({ id, target: domain, severity: 'skip', message });
  let base = o.rdap;
  if (!base) {
    const bootstrap = o.bootstrap ?? IANA_RDAP_BOOTSTRAP;
    const b = await get(bootstrap);
    if (!b.ok) return skip(`not reachable: RDAP bootstrap ${bootstrap} (${b.why}); set rdap: to an RDAP server reachable from here, or drop the check in an air-gapped site`);
    if (b.status !== 200) return skip(`not reachable: RDAP bootstrap ${bootstrap} answered HTTP ${b.status}`);
    base = rdapBaseFor(b.body, domain);
    if (!base) return skip(`no RDAP service for ${domain} in ${bootstrap}: set rdap: to the registry's RDAP server`);
  }
  const url = `${base.replace(/\/+$/, '')}/domain/${encodeURIComponent(domain.replace(/\.$/, ''))}`;
  const r = await get(url);
  if (!r.ok) return skip(`not reachable: RDAP server ${url} (${r.why})`);
  if (r.status === 404) return { id, target: domain, severity: 'fail', message: `RDAP server ${base} has no registration for ${domain}: check the domain name (it may have lapsed)` };
  if (r.status !== 200) return skip(`not reachable: RDAP server ${url} answered HTTP ${r.status}`);
  const exp = rdapExpiration(r.body);
  if (!exp) return skip(`RDAP record of ${domain} has no expiration event`);
  return evaluateDomain(domain, exp, now, o.thresholds);
}
