// Day-2 checks end to end: a real `cluster-mgr run` child (simulated member) with spec.day2 running
// every second against a real HTTPS endpoint on loopback whose certificate (openssl) expires in 3
// days. We see the metric, the /api/state row, the dashboard row (Chromium) and the alert at a
// webhook receiver; after the certificate is renewed (90 days) the alert is delivered as resolved.
// SIGTERM drains and exits 0.
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterMgr, writeFederation } from './harness';
import { startSim, type Sim } from '../../cluster-mgr/sim/index';
import { makeDir, missingTools, requireTools, runOk, waitFor, type Daemon } from '../lab/index';
import { startReceiver, type Receiver } from '../traffic/receiver';

const CHROMIUM = '/usr/bin/chromium';

interface Day2Row {
  check: string;
  kind: string;
  target: string | null;
  status: string;
  message: string;
  lastRun: string | null;
  nextRun: string | null;
}
interface Hook {
  status: 'firing' | 'resolved';
  alertname: string;
  severity: string;
  labels: Record<string, string>;
  description?: string;
}

describe('spec.day2 in cluster-mgr run (real daemon, real TLS endpoint, every second)', () => {
  const dir = makeDir('day2-e2e');
  let sim: Sim | undefined;
  let tls: Server | undefined;
  let hook: Receiver | undefined;
  let cm: Daemon | undefined;
  let url = '';
  let target = '';
  let renewed: { key: Buffer; cert: Buffer } | undefined;

  const cert = async (days: number) => {
    const key = join(dir, `k${days}.pem`);
    const crt = join(dir, `c${days}.pem`);
    await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-days', String(days), '-subj', `/CN=registry-${days}d.lab.example.com`]);
    return { key: readFileSync(key), cert: readFileSync(crt) };
  };

  beforeAll(async () => {
    if (missingTools(['openssl']).length > 0) return;
    const soon = await cert(3);
    renewed = await cert(90);
    tls = createServer(soon, (s) => s.end());
    await new Promise<void>((r) => tls!.listen(0, '127.0.0.1', r));
    target = `127.0.0.1:${(tls.address() as { port: number }).port}`;
    hook = await startReceiver();
    sim = await startSim({ names: ['d2-a'], outDir: dir, bookmarkIntervalMs: 1000 });
    // A fresh backup in a folder given relative to the Federation file.
    mkdirSync(join(dir, 'backups', 'daily'), { recursive: true });
    writeFileSync(join(dir, 'backups', 'daily', 'db.tar'), 'x');
    const t = Date.now() / 1000 - 3600;
    utimesSync(join(dir, 'backups', 'daily', 'db.tar'), t, t);
    const configFile = writeFederation(join(dir, 'federation-day2.yaml'), ['d2-a'], {
      alerting: { webhooks: [{ url: hook.url }] },
      day2: {
        checks: [
          { name: 'registry-tls', kind: 'certExpiry', schedule: '* * * * * *', endpoints: [target], timeout: '2s' },
          { name: 'db-backup', kind: 'backupFreshness', schedule: '* * * * * *', path: './backups', maxAge: '26h' },
        ],
      },
    });
    ({ proc: cm, url } = await startClusterMgr(configFile, { name: 'cluster-mgr-day2' }));
  }, 60_000);

  afterAll(async () => {
    await cm?.stop(10_000);
    await sim?.stop();
    await hook?.close();
    if (tls) await new Promise((r) => tls!.close(r));
  }, 30_000);

  const rows = async () => ((await (await fetch(`${url}/api/state`)).json()) as { day2: Day2Row[] }).day2;
  const metrics = async () => (await fetch(`${url}/metrics`)).text();
  const hooks = () => (hook?.bodies ?? []) as Hook[];
  const statusLine = (status: string) => `cluster_mgr_day2_check_status{check="registry-tls",kind="certExpiry",target="${target}",status="${status}"} 1`;

  it('an expiring certificate: metric, /api/state row and a FederationDay2CheckFailed alert; renewed → resolved', async (ctx) => {
    requireTools(ctx, ['openssl']);
    const row = await waitFor(async () => (await rows()).find((r) => r.check === 'registry-tls' && r.target === target && r.status === 'fail'), { what: 'the failing day-2 row in /api/state', timeoutMs: 10_000 });
    expect(row).toMatchObject({ kind: 'certExpiry', message: expect.stringMatching(/^certificate \(CN=registry-3d\.lab\.example\.com\) expires in [23]\.\d days .* under 7 days: renew it now$/) });
    expect(Date.parse(row.nextRun!) - Date.parse(row.lastRun!)).toBeLessThanOrEqual(2000);
    // The Federation-relative backup folder was found and is fresh. Its job runs on its own schedule
    // (the same second, but not ordered with the certificate check), so wait for its first run.
    const backup = await waitFor(async () => (await rows()).find((r) => r.check === 'db-backup' && r.lastRun !== null), { what: 'the first db-backup run', timeoutMs: 5000 });
    expect(backup).toMatchObject({ target: './backups', status: 'ok', message: expect.stringMatching(/newest backup 1\.0 h old/) });

    await waitFor(async () => (await metrics()).includes(statusLine('fail')), { what: 'the day-2 status metric', timeoutMs: 5000 });
    const text = await metrics();
    const left = Number(new RegExp(`cluster_mgr_day2_check_value_seconds\\{check="registry-tls",kind="certExpiry",target="${target.replace(/\./g, '\\.')}"\\} (\\S+)`).exec(text)?.[1]);
    expect(left).toBeGreaterThan(2 * 86400);
    expect(left).toBeLessThanOrEqual(3 * 86400);

    const fired = await waitFor(() => hooks().find((h) => h.status === 'firing' && h.alertname === 'FederationDay2CheckFailed'), { what: 'the alert at the webhook receiver', timeoutMs: 10_000 });
    expect(fired).toMatchObject({ severity: 'critical', labels: { check: 'registry-tls', kind: 'certExpiry', target }, description: expect.stringMatching(/under 7 days/) });

    // Let a few more runs happen (every second): the alert is not re-sent while it fires.
    const runsNow = Number(/cluster_mgr_day2_check_runs_total\{check="registry-tls",kind="certExpiry"\} (\d+)/.exec(await metrics())?.[1]);
    await waitFor(async () => Number(/cluster_mgr_day2_check_runs_total\{check="registry-tls",kind="certExpiry"\} (\d+)/.exec(await metrics())?.[1]) >= runsNow + 2, { what: 'two more runs', timeoutMs: 10_000 });
    expect(hooks().filter((h) => h.status === 'firing' && h.alertname === 'FederationDay2CheckFailed')).toHaveLength(1);

    // Renew the certificate: the next run passes and the alert resolves.
    tls!.setSecureContext(renewed!);
    await waitFor(() => hooks().some((h) => h.status === 'resolved' && h.alertname === 'FederationDay2CheckFailed' && h.labels.target === target), { what: 'the resolved alert', timeoutMs: 10_000 });
    expect((await rows()).find((r) => r.check === 'registry-tls')).toMatchObject({ status: 'ok', message: expect.stringMatching(/valid for (89|90)\.\d days/) });
    expect(await metrics()).toContain(statusLine('ok'));
    expect(hooks().some((h) => h.alertname === 'FederationDay2CheckWarning')).toBe(false);
  }, 60_000);

  it('the dashboard shows the day-2 rows', async (ctx) => {
    requireTools(ctx, ['openssl', CHROMIUM]);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    try {
      // The certificate is the renewed one (the test above renewed it; set again so this test stands alone).
      tls!.setSecureContext(renewed!);
      await waitFor(async () => (await rows()).find((r) => r.check === 'registry-tls' && r.status === 'ok'), { what: 'the registry-tls row ok in /api/state', timeoutMs: 10_000 });
      const page = await browser.newPage();
      await page.goto(`${url}/`);
      const tr = page.locator(`#day2 tr[data-check="registry-tls"][data-target="${target}"][data-status="ok"]`);
      await tr.waitFor({ timeout: 10_000 });
      expect(await page.locator('#day2 tr[data-check="db-backup"] [data-field="status"]').textContent()).toBe('ok');
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('SIGTERM stops the scheduled checks, drains and exits 0', async (ctx) => {
    requireTools(ctx, ['openssl']);
    cm!.signal('SIGTERM');
    const { code } = await cm!.exited;
    expect(code, cm!.logs().slice(-2000)).toBe(0);
    expect(cm!.logs()).toMatch(/"msg":"stopped"/);
  }, 30_000);
});
