// infra/day2: the evaluations shared by `flotilla check` and cluster-mgr's scheduled checks (tables),
// plus the local probes against real files and a loopback RDAP server.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateBackup, evaluateCertificate, evaluateDomain, evaluateEtcdSnapshot, globToRegExp, rdapBaseFor, rdapExpiration, DAY_MS } from './evaluate';
import { newestFile, probeBackupDir, probeDomain, probeEtcdSnapshot } from './probe';

const now = new Date('2026-11-21T12:00:00Z');
const H = 3_600_000;
const at = (msAgo: number) => new Date(now.getTime() - msAgo);

describe('expiry with thresholds', () => {
  it.each([
    // days left, warnBefore, failBefore, severity, message
    [10, 30, 7, 'warn', /under 30 days/],
    [10, 14, 2, 'warn', /under 14 days/],
    [10, 9, 2, 'pass', /valid for 10\.0 days/],
    [1.5, 14, 2, 'fail', /under 2 days: renew it now/],
    [0.5, 1.5, 1, 'fail', /under 1 day: /],
    [1.2, 1.5, 1, 'warn', /under 36\.0 h/],
    [-2, 30, 7, 'fail', /EXPIRED/],
  ] as const)('certificate with %s days left, warn %s, fail %s → %s', (days, warn, fail, sev, msg) => {
    const r = evaluateCertificate('reg:443', new Date(now.getTime() + days * DAY_MS), now, '', { warnBeforeMs: warn * DAY_MS, failBeforeMs: fail * DAY_MS });
    expect(r.severity).toBe(sev);
    expect(r.message).toMatch(msg);
    expect(r.seconds).toBe(Math.round((days * DAY_MS) / 1000));
  });

  it('domain registration uses the same rule with registrar advice', () => {
    expect(evaluateDomain('example.com', new Date(now.getTime() + 20 * DAY_MS), now)).toMatchObject({ id: 'domain.expiry', target: 'example.com', severity: 'warn', message: expect.stringMatching(/domain registration expires in 20\.0 days.*registrar/) });
    expect(evaluateDomain('example.com', new Date(now.getTime() + 200 * DAY_MS), now).severity).toBe('pass');
    expect(evaluateDomain('example.com', new Date(now.getTime() - DAY_MS), now).severity).toBe('fail');
  });
});

describe('freshness', () => {
  it.each([
    // age h, max h, warnAfter h, severity
    [1, 26, undefined, 'pass'],
    [25, 26, undefined, 'pass'],
    [25, 26, 24, 'warn'],
    [27, 26, 24, 'fail'],
  ] as const)('backup %s h old, max %s h, warn after %s h → %s', (age, max, warn, sev) => {
    const r = evaluateBackup('/b', at(age * H), max * H, now, warn === undefined ? undefined : warn * H);
    expect(r.severity).toBe(sev);
    expect(r.seconds).toBe(age * 3600);
  });

  it.each([
    ['no snapshot', undefined, 'fail', /no etcd snapshot found/],
    ['an empty one', { name: 's.db', mtime: at(H), size: 0 }, 'fail', /empty \(0 bytes\)/],
    ['a stale one', { name: 's.db', mtime: at(30 * H), size: 10 }, 'fail', /30\.0 h old .* older than the 24\.0 h allowed/],
    ['an old-ish one', { name: 's.db', mtime: at(13 * H), size: 10 }, 'warn', /older than 12\.0 h/],
    ['a fresh one', { name: 's.db', mtime: at(H), size: 10 }, 'pass', /s\.db 1\.0 h old, 10 bytes/],
  ] as const)('etcd snapshot: %s → %s', (_n, f, sev, msg) => {
    const r = evaluateEtcdSnapshot('etcd', f, 24 * H, now, 12 * H);
    expect(r).toMatchObject({ id: 'etcd.snapshot', severity: sev, message: expect.stringMatching(msg) });
  });
});

describe('RDAP parsing', () => {
  it('finds the expiration event', () => {
    expect(rdapExpiration({ events: [{ eventAction: 'registration', eventDate: '2001-01-01T00:00:00Z' }, { eventAction: 'expiration', eventDate: '2027-03-01T00:00:00Z' }] })?.toISOString()).toBe('2027-03-01T00:00:00.000Z');
    expect(rdapExpiration({ events: [{ eventAction: 'registration', eventDate: '2001-01-01T00:00:00Z' }] })).toBeUndefined();
    expect(rdapExpiration({ events: [{ eventAction: 'expiration', eventDate: 'soon' }] })).toBeUndefined();
    expect(rdapExpiration(null)).toBeUndefined();
  });
  it('picks the longest matching bootstrap suffix', () => {
    const boot = { services: [[['com', 'net'], ['https://rdap.verisign.com/com/v1/']], [['co.uk'], ['http://x/', 'https://rdap.nominet.uk/uk/']], [['uk'], ['https://uk.example/']]] };
    expect(rdapBaseFor(boot, 'Example.COM')).toBe('https://rdap.verisign.com/com/v1/');
    expect(rdapBaseFor(boot, 'shop.example.co.uk')).toBe('https://rdap.nominet.uk/uk/');
    expect(rdapBaseFor(boot, 'example.org.uk')).toBe('https://uk.example/');
    expect(rdapBaseFor(boot, 'example.dev')).toBeUndefined();
    expect(rdapBaseFor({}, 'example.com')).toBeUndefined();
  });
  it('globs', () => {
    expect(globToRegExp('*.db').test('snap-1.db')).toBe(true);
    expect(globToRegExp('*.db').test('snap-1.db.part')).toBe(false);
    expect(globToRegExp('snap-?.db').test('snap-12.db')).toBe(false);
  });
});

describe('local probes (real files)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'day2-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const touch = (rel: string, msAgo: number, body = 'x') => {
    const p = join(dir, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, body);
    const t = (Date.now() - msAgo) / 1000;
    utimesSync(p, t, t);
  };

  it('newest file within three levels; deeper ones are ignored like find -maxdepth 3', async () => {
    touch('b/old.tar', 10 * H);
    touch('b/x/y/new.tar', 2 * H);
    touch('b/x/y/z/deeper.tar', 0);
    const f = await newestFile(join(dir, 'b'));
    expect(f?.name).toBe(join(dir, 'b/x/y/new.tar'));
    const live = new Date();
    expect((await probeBackupDir('b', join(dir, 'b'), 3 * H, live)).severity).toBe('pass');
    expect((await probeBackupDir('b', join(dir, 'b'), H, live)).severity).toBe('fail');
    expect(await probeBackupDir('b', join(dir, 'missing'), H, live)).toMatchObject({ severity: 'fail', message: expect.stringMatching(/cannot read .*missing \(ENOENT\)/) });
  });

  it('etcd snapshots: only matching names count', async () => {
    touch('etcd/snap-1.db', 30 * H);
    touch('etcd/snap-2.db.part', 0);
    const live = new Date();
    expect(await probeEtcdSnapshot('e', join(dir, 'etcd'), 24 * H, live)).toMatchObject({ severity: 'fail', message: expect.stringMatching(/snap-1\.db is 30\.0 h old/) });
    touch('etcd/snap-3.db', 0, '');
    expect(await probeEtcdSnapshot('e', join(dir, 'etcd'), 24 * H, live)).toMatchObject({ severity: 'fail', message: expect.stringMatching(/snap-3\.db is empty/) });
    expect((await probeEtcdSnapshot('e', join(dir, 'etcd'), 24 * H, live, { match: 'snap-1.*' })).severity).toBe('fail');
  });
});

describe('probeDomain against a loopback RDAP server', () => {
  let server: Server;
  let base: string;
  const expires = new Date(Date.now() + 10 * DAY_MS).toISOString();
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/rdap/domain/shop.example') {
        res.setHeader('content-type', 'application/rdap+json');
        res.end(JSON.stringify({ objectClassName: 'domain', ldhName: 'shop.example', events: [{ eventAction: 'expiration', eventDate: expires }] }));
      } else if (req.url === '/dns.json') {
        res.end(JSON.stringify({ services: [[['example'], [`http://127.0.0.1:${(server.address() as AddressInfo).port}/rdap/`]]] }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reads the expiration (direct and through a bootstrap file)', async () => {
    expect(await probeDomain('shop.example', new Date(), { rdap: `${base}/rdap/` })).toMatchObject({ severity: 'warn', message: expect.stringMatching(/expires in (9\.9|10\.0) days/) });
    expect(await probeDomain('shop.example', new Date(), { bootstrap: `${base}/dns.json` })).toMatchObject({ severity: 'warn' });
    expect(await probeDomain('shop.example', new Date(), { rdap: `${base}/rdap`, thresholds: { warnBeforeMs: 5 * DAY_MS, failBeforeMs: DAY_MS } })).toMatchObject({ severity: 'pass' });
  });

  it('an unknown domain fails; an unreachable server is a skip saying "not reachable"', async () => {
    expect(await probeDomain('gone.example', new Date(), { rdap: `${base}/rdap` })).toMatchObject({ severity: 'fail', message: expect.stringMatching(/no registration for gone\.example/) });
    const closed = await new Promise<number>((r) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const r = await probeDomain('shop.example', new Date(), { rdap: `http://127.0.0.1:${closed}/rdap`, timeoutMs: 2000 });
    expect(r).toMatchObject({ severity: 'skip', message: expect.stringMatching(/^not reachable: RDAP server .* \(ECONNREFUSED\)/) });
    const viaBootstrap = await probeDomain('shop.example', new Date(), { bootstrap: `http://127.0.0.1:${closed}/dns.json`, timeoutMs: 2000 });
    expect(viaBootstrap).toMatchObject({ severity: 'skip', message: expect.stringMatching(/^not reachable: RDAP bootstrap/) });
  });
});
