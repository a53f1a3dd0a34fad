// Day-2 probes for cluster-mgr's scheduled checks: one check config → CheckResults, through the
// probes `flotilla check` uses too (infra/day2). Paths are relative to the Federation file.
import { evaluateSync, probeBackupDir, probeCertificate, probeDomain, probeEtcdSnapshot, readSyncStatus, type CheckResult } from '../../infra/day2/index';
import { parseDuration } from '../../infra/lib/units';
import type { Day2Check } from '../config/schema';

export type Day2Probe = (check: Day2Check, now: Date, signal: AbortSignal) => Promise<CheckResult[]>;

const ms = (d: string): number => parseDuration(d)!;

/** The real probes; `resolvePath` turns a configured path into an absolute one (Federation-relative). */
export function day2Probe(resolvePath: (p: string) => string = (p) => p): Day2Probe {
  return async (c, now, signal) => {
    const timeoutMs = ms(c.timeout);
    switch (c.kind) {
      case 'certExpiry':
        return Promise.all(
          c.endpoints.map((e) => {
            const i = e.lastIndexOf(':');
            return probeCertificate(e.slice(0, i), Number(e.slice(i + 1)), now, timeoutMs, c.servername, { warnBeforeMs: ms(c.warnBefore), failBeforeMs: ms(c.failBefore) }, signal);
          }),
        );
      case 'domainExpiry':
        return [
          await probeDomain(c.domain, now, {
            ...(c.rdap ? { rdap: c.rdap } : {}),
            ...(c.bootstrap ? { bootstrap: c.bootstrap } : {}),
            timeoutMs,
            thresholds: { warnBeforeMs: ms(c.warnBefore), failBeforeMs: ms(c.failBefore) },
            signal,
          }),
        ];
      case 'backupFreshness':
        return [await probeBackupDir(c.path, resolvePath(c.path), ms(c.maxAge), now, c.warnAfter ? ms(c.warnAfter) : undefined)];
      case 'etcdSnapshot':
        return [await probeEtcdSnapshot(c.path, resolvePath(c.path), ms(c.maxAge), now, { match: c.match, ...(c.warnAfter ? { warnAfterMs: ms(c.warnAfter) } : {}) })];
      case 'registrySync': {
        const status = await readSyncStatus(resolvePath(c.statusFile));
        return c.mirrors.map((m) => evaluateSync(m, status, ms(c.maxLag), now));
      }
    }
  };
}
