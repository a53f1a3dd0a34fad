// `flotilla check` against loopback TLS servers whose certificates (made with openssl) expire in 3,
// 20 and 90 days; plus the pure evaluations of expiry, backup age and sync lag.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateBackup, evaluateCertificate, evaluateSync, parseBackupSpec } from '../../scripts/delivery/check';
import { parseDuration } from '../../infra/lib/units';
import { makeDir, requireTools, runOk } from '../lab/index';
import { flotilla, writeInventory } from './fixtures';

const DAY = 86_400_000;
const now = new Date('2026-11-21T12:00:00Z');

describe('check evaluations (pure)', () => {
  it.each([
    [-1, 'fail', /EXPIRED/],
    [3, 'fail', /under 7 days/],
    [6.9, 'fail', /under 7 days/],
    [7.1, 'warn', /under 30 days/],
    [29, 'warn', /under 30 days/],
    [31, 'pass', /valid for 31\.0 days/],
  ] as const)('certificate expiring in %s days → %s', (days, sev, msg) => {
    const r = evaluateCertificate('reg:443', new Date(now.getTime() + days * DAY), now);
    expect(r.severity).toBe(sev);
    expect(r.message).toMatch(msg);
    expect(r.target).toBe('reg:443');
  });

  it('backup age against its maximum', () => {
    expect(evaluateBackup('m1:/b', new Date(now.getTime() - 25 * 3_600_000), 26 * 3_600_000, now).severity).toBe('pass');
    expect(evaluateBackup('m1:/b', new Date(now.getTime() - 27 * 3_600_000), 26 * 3_600_000, now)).toMatchObject({ severity: 'fail', message: expect.stringMatching(/27\.0 h old/) });
    expect(evaluateBackup('m1:/b', undefined, 1000, now).severity).toBe('fail');
    expect(parseBackupSpec('m1:/var/backups:26h', parseDuration)).toEqual({ node: 'm1', path: '/var/backups', maxAgeMs: 26 * 3_600_000 });
    expect(parseBackupSpec('m1:relative:1h', parseDuration)).toMatch(/NODE:\/PATH:MAXAGE/);
  });

  it('registry sync lag from the status file', () => {
    const base = { source: 's', target: 't', startedAt: '', repositories: 1, tags: 1, manifestsCopied: 0, tagsUpToDate: 1, blobsCopied: 0, blobsMounted: 0, blobsSkipped: 0 };
    const ok = { ...base, finishedAt: new Date(now.getTime() - 30 * 60_000).toISOString(), ok: true, errors: [], lastSuccessAt: new Date(now.getTime() - 30 * 60_000).toISOString() };
    expect(evaluateSync('r', { sources: { r: ok } }, 2 * 3_600_000, now).severity).toBe('pass');
    expect(evaluateSync('r', { sources: { r: ok } }, 10 * 60_000, now)).toMatchObject({ severity: 'fail', message: expect.stringMatching(/30 min ago/) });
    expect(evaluateSync('r', { sources: { r: { ...ok, ok: false, errors: ['boom'] } } }, 2 * 3_600_000, now).severity).toBe('warn');
    expect(evaluateSync('r', undefined, 1, now).severity).toBe('fail');
  });
});

describe('flotilla check against loopback TLS servers', () => {
  const servers: Server[] = [];
  const dir = makeDir('delivery-check');
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(days: number): Promise<number> {
    const key = join(dir, `k${days}.pem`);
    const cert = join(dir, `c${days}.pem`);
    await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', String(days), '-subj', `/CN=endpoint-${days}d.lab.example.com`]);
    const srv = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (s) => s.end());
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return (srv.address() as { port: number }).port;
  }

  it('a certificate expiring in 3 days is a FAIL naming the endpoint (exit 3); 20 days warns, 90 passes', async (ctx) => {
    requireTools(ctx, ['openssl']);
    const p3 = await serve(3);
    const p20 = await serve(20);
    const p90 = await serve(90);
    const inv = writeInventory(dir);
    const bad = await flotilla(['check', inv, '--endpoint', `127.0.0.1:${p3}`, '--endpoint', `127.0.0.1:${p90}`]);
    expect(bad.code, bad.stdout + bad.stderr).toBe(3);
    expect(bad.stdout).toMatch(new RegExp(`^FAIL\\s+tls\\.expiry\\s+127\\.0\\.0\\.1:${p3}: certificate \\(CN=endpoint-3d\\.lab\\.example\\.com\\) expires in [23]\\.\\d days`, 'm'));
    expect(bad.stdout).toMatch(new RegExp(`^PASS\\s+tls\\.expiry\\s+127\\.0\\.0\\.1:${p90}`, 'm'));
    const warnOnly = await flotilla(['check', inv, '--endpoint', `127.0.0.1:${p20}`, '--format', 'json']);
    expect(warnOnly.code).toBe(0);
    expect(JSON.parse(warnOnly.stdout).results).toEqual([expect.objectContaining({ target: `127.0.0.1:${p20}`, severity: 'warn' })]);
    const bogus = await flotilla(['check', inv, '--endpoint', 'nope']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain('--endpoint');
  });
});
