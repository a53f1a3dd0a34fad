// The dashboard of the REAL daemon (`cluster-mgr run` child process, sim members, front HAProxy) in
// headless Debian chromium: it lists the members, and a faulted member turns Unhealthy (and drained)
// on the page without a reload. Also: bearer-token mode of the real server on a non-loopback bind.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { requireTools, startDaemon, waitFor } from '../lab/index';
import { listeningUrl } from '../cluster-mgr/harness';
import { chartPoints, CHROMIUM, duplicateEventRows, launchChromium, misalignedColumns, watchedPage } from './browser';
import { useStack } from './use-stack';

const TOOLS = [CHROMIUM, 'haproxy'];

describe('dashboard of the real daemon', () => {
  let browser: Browser | undefined;
  const stack = useStack(TOOLS, { health: { interval: '250ms', timeout: '200ms', failureThreshold: 3, successThreshold: 2, failbackAfter: '2s' } }, async () => browser?.close());

  it('lists the members; a faulted member turns unhealthy on the page without a reload', async (ctx) => {
    requireTools(ctx, TOOLS);
    const s = stack()!;
    browser = await launchChromium();
    const { page, foreign, navigations } = await watchedPage(browser, s.apiUrl);
    await page.goto(`${s.apiUrl}/`);
    const card = (name: string) => page.locator(`section.card[data-member="${name}"]`);
    await card('sh1-a').waitFor({ timeout: 10_000 });
    expect(await page.locator('section.card').count()).toBe(2);
    // A slow probe on a loaded machine shows a member Suspect for a moment: wait for Healthy.
    await page.waitForSelector('section.card[data-member="sh1-a"][data-health="Healthy"]', { timeout: 15_000 });
    await page.waitForSelector('section.card[data-member="sh1-b"][data-health="Healthy"]', { timeout: 15_000 });
    expect(await card('sh1-a').locator('[data-field="traffic"]').textContent()).toBe('ready · weight 256');

    // Fault sh1-a the way docs/federation-demo.md says: POST to its fault URL.
    const fault = s.sim.members.find((m) => m.name === 'sh1-a')!.fault;
    const r = await fetch(fault, { method: 'POST', body: JSON.stringify({ mode: 'down' }) });
    expect(r.status).toBe(200);
    try {
      await page.waitForSelector('section.card[data-member="sh1-a"][data-health="Unhealthy"]', { timeout: 5000 });
      await waitFor(async () => (await card('sh1-a').locator('[data-field="traffic"]').textContent()) === 'drain · weight 0', { what: 'drain shown on the card', timeoutMs: 3000 });
      await page.getByText('sh1-a: traffic drained').first().waitFor({ timeout: 3000 });
      expect(navigations()).toBe(1);
      expect(foreign).toEqual([]);
      // Columns under their headers, no repeated event rows, a chart with points per member (daemon history).
      await page.locator('#apps tbody tr').first().waitFor({ timeout: 3000 });
      expect(await misalignedColumns(page, ['apps', 'day2'])).toEqual([]);
      expect(await duplicateEventRows(page)).toEqual([]);
      const points = await chartPoints(page);
      expect(Object.keys(points).sort()).toEqual(['sh1-a', 'sh1-b']);
      for (const n of Object.values(points)) expect(n).toBeGreaterThanOrEqual(2);
      const state = (await (await fetch(`${s.apiUrl}/api/state`)).json()) as { history: { members: Record<string, { health: string[] }> } };
      expect(state.history.members['sh1-a']!.health).toContain('Unhealthy');
      mkdirSync('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/dashboard-e2e.png', fullPage: true });
    } finally {
      await fetch(fault, { method: 'POST', body: JSON.stringify({ mode: 'none' }) });
    }
    await page.waitForSelector('section.card[data-member="sh1-a"][data-health="Healthy"]', { timeout: 15_000 });
  }, 60_000);

  it('on a non-loopback address it needs a token; /api/state and /metrics require it, the page embeds nothing', async (ctx) => {
    requireTools(ctx, TOOLS);
    const s = stack()!;
    const config = join(s.dir, 'federation-e2e.yaml');
    // Without a token: refused with exit 2.
    const noToken = spawn(process.execPath, ['bin/cluster-mgr.mjs', 'run', '--config', config, '--listen', '0.0.0.0:0'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CLUSTER_MGR_TOKEN: '' } });
    let err = '';
    noToken.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((res) => noToken.once('exit', res));
    expect(code).toBe(2);
    expect(err).toMatch(/--token-file FILE or CLUSTER_MGR_TOKEN/);

    const token = 'e2e-token-0123456789abcdef';
    // A second daemon on the same members, standing by traffic-wise (no traffic block needed to test the server).
    const cm = startDaemon({ name: 'cluster-mgr-token', command: process.execPath, args: [join(process.cwd(), 'bin/cluster-mgr.mjs'), 'run', '--config', config, '--listen', '0.0.0.0:0'], env: { ...process.env, CLUSTER_MGR_TOKEN: token } });
    try {
      // Port 0 and the address the daemon logs: a port picked beforehand could be taken by another
      // test's (token-less, loopback) cluster-mgr in between, and the 401s below would meet that one.
      const base = await listeningUrl(cm, 20_000);
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(cm.logs()).toMatch(/"url":"http:\/\/0\.0\.0\.0:\d+"[^\n]*"msg":"listening"/);
      await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok, { what: 'token daemon up', timeoutMs: 20_000 });
      expect((await fetch(`${base}/api/state`)).status).toBe(401);
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      const ok = await fetch(`${base}/api/state`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { clusters: unknown[] }).clusters).toHaveLength(2);
      const html = await (await fetch(`${base}/`)).text();
      expect(html).toContain('<html');
      expect(html).not.toContain('sh1-a');
    } finally {
      await cm.stop(10_000);
    }
  }, 60_000);
});
