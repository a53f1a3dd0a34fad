// The dashboard page in headless Debian Chromium (playwright-core): served by a tiny test server with
// a changing fake /api/state; it lists the members, and a member turning Unhealthy shows on the page
// without a reload. Saves test-artifacts/dashboard.png. Also: bearer-token checks.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerGuard, dashboardHtml, requireBearer, type DashboardState } from '../../cluster-mgr/dashboard/index';
import { requireTools } from '../lab/index';
import { chartPoints, CHROMIUM, duplicateEventRows, launchChromium, misalignedColumns, watchedPage } from '../e2e/browser';
const TOKEN = 'test-token-4f1c';

function fakeState(unhealthy: boolean): DashboardState {
  const gi = 1024 ** 3;
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const t = [0, 60_000, 120_000, 125_000].map((d) => t0 + d);
  return {
    federation: 'prod',
    leader: true,
    ready: true,
    clusters: [
      {
        name: 'bj1-a',
        health: unhealthy ? 'Unhealthy' : 'Healthy',
        since: '2026-01-01T00:00:00Z',
        reason: unhealthy ? 'GET /readyz: connection refused' : null,
        probeMs: 4,
        traffic: unhealthy ? { server: 'bj1-a', state: 'drain', weight: 0 } : { server: 'bj1-a', state: 'ready', weight: 256 },
        capacity: { allocatable: { cpu: 16, memory: 64 * gi, pods: 110 }, allocated: { cpu: 6.5, memory: 20 * gi, pods: 30 }, readyNodes: 3, nodes: 3 },
      },
      {
        name: 'sh1-a',
        health: 'Healthy',
        since: '2026-01-01T00:00:00Z',
        reason: null,
        probeMs: 3,
        traffic: { server: 'sh1-a', state: 'ready', weight: 256 },
        capacity: { allocatable: { cpu: 8, memory: 32 * gi, pods: 110 }, allocated: { cpu: 2, memory: 4 * gi, pods: 12 }, readyNodes: 2, nodes: 2 },
      },
    ],
    apps: [{ key: 'shop/web', desired: 10, assignments: unhealthy ? { 'bj1-a': 0, 'sh1-a': 10 } : { 'bj1-a': 6, 'sh1-a': 4 }, unschedulable: 0, running: { 'bj1-a': { replicas: 6, ready: 6 } } }],
    events: [
      ...(unhealthy ? [{ at: '2026-01-01T00:00:05Z', type: 'unhealthy', member: 'bj1-a', message: 'bj1-a is Unhealthy <script>alert(1)</script>' }] : []),
      { at: '2026-01-01T00:00:03Z', type: 'traffic-error', member: 'sh1-a', message: 'sh1-a: set failed: timeout', repeats: 4 },
      { at: '2026-01-01T00:00:00Z', type: 'started', message: 'cluster-mgr started' },
    ],
    history: {
      windowMs: 15 * 60_000,
      members: {
        'bj1-a': { t, health: ['Healthy', 'Healthy', 'Suspect', unhealthy ? 'Unhealthy' : 'Healthy'], weight: [256, 256, 256, unhealthy ? 0 : 256], replicas: [6, 6, 6, unhealthy ? 0 : 6] },
        'sh1-a': { t, health: ['Healthy', 'Healthy', 'Healthy', 'Healthy'], weight: [256, 256, 256, 256], replicas: [4, 4, 4, unhealthy ? 10 : 4] },
      },
    },
  };
}

describe('dashboard page', () => {
  let server: Server;
  let base: string;
  let unhealthy = false;
  let stateRequests = 0;
  let browser: Browser | undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(dashboardHtml());
      }
      if (url.pathname === '/api/state') {
        if (!bearerGuard(req, res, TOKEN)) return;
        stateRequests++;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(fakeState(unhealthy)));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server.close(r));
  });

  it('lists the members and shows a member turning unhealthy without a reload', async (ctx) => {
    requireTools(ctx, [CHROMIUM]);
    browser = await launchChromium();
    // Air-gapped: the page must not ask for anything but itself and /api/state.
    const { page, foreign, navigations } = await watchedPage(browser, base, 800);
    await page.goto(`${base}/#token=${TOKEN}`);
    const card = (name: string) => page.locator(`section.card[data-member="${name}"]`);
    await card('bj1-a').waitFor({ timeout: 10_000 });
    expect(await page.locator('section.card').count()).toBe(2);
    expect(await card('bj1-a').getAttribute('data-health')).toBe('Healthy');
    expect(await card('sh1-a').locator('[data-field="traffic"]').textContent()).toBe('ready · weight 256');
    expect(await page.locator('td[data-app="shop/web"][data-member="bj1-a"]').textContent()).toBe('6 (6/6 ready)');

    const before = stateRequests;
    unhealthy = true;
    await page.waitForSelector('section.card[data-member="bj1-a"][data-health="Unhealthy"]', { timeout: 5000 });
    expect(await card('bj1-a').locator('[data-field="traffic"]').textContent()).toBe('drain · weight 0');
    expect(await page.locator('td[data-app="shop/web"][data-member="sh1-a"]').textContent()).toBe('10');
    // The event text is shown as text, not parsed as HTML.
    await page.getByText('bj1-a is Unhealthy <script>alert(1)</script>').waitFor({ timeout: 2000 });
    expect(stateRequests).toBeGreaterThan(before);
    expect(navigations()).toBe(1);
    expect(foreign).toEqual([]);
    expect(await misalignedColumns(page, ['apps', 'day2'])).toEqual([]);
    expect(await duplicateEventRows(page)).toEqual([]);
    expect(await page.getByText('sh1-a: set failed: timeout ×4').count()).toBe(1);
    expect(await chartPoints(page)).toEqual({ 'bj1-a': 4, 'sh1-a': 4 });

    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/dashboard.png', fullPage: true });

    // Without the token the page reports the 401 instead of data.
    const anon = await browser.newPage();
    await anon.goto(`${base}/`);
    await anon.waitForSelector('#status.stale', { timeout: 5000 });
    expect(await anon.locator('#status').textContent()).toMatch(/HTTP 401/);
    expect(await anon.locator('section.card').count()).toBe(0);
  });

  it('embeds initial state safely when given', () => {
    const html = dashboardHtml({ federation: '</script><b>x', clusters: [] });
    expect(html).not.toContain('</script><b>');
    expect(html).toContain('\\u003c/script\\u003e');
    expect(html).not.toMatch(/<(link|img|iframe)\b|src="http|href="http/);
  });
});

describe('requireBearer', () => {
  it.each([
    [`Bearer ${TOKEN}`, true],
    [`bearer ${TOKEN}`, true],
    [`Bearer ${TOKEN}x`, false],
    ['Bearer ', false],
    [`Basic ${TOKEN}`, false],
    [undefined, false],
  ])('%s → %s', (auth, ok) => {
    expect(requireBearer({ headers: auth === undefined ? {} : { authorization: auth } }, TOKEN)).toBe(ok);
  });
  it('an empty configured token never authorises', () => {
    expect(requireBearer({ headers: { authorization: 'Bearer ' } }, '')).toBe(false);
  });
});

