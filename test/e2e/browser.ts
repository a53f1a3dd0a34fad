// Headless Debian chromium (playwright-core) for the dashboard tests, and the layout checks both
// dashboard tests make on the page: table columns line up with their headers, no event row is
// repeated, and every member card carries a chart with data points.
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Opens a page that records requests outside `base` and main-frame navigations (air-gapped, no reloads). */
export async function watchedPage(browser: Browser, base: string, height = 900): Promise<{ page: Page; foreign: string[]; navigations: () => number }> {
  const page = await browser.newPage({ viewport: { width: 1200, height } });
  const foreign: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base)) foreign.push(r.url());
  });
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  return { page, foreign, navigations: () => navigations };
}

export interface ColumnMisfit {
  readonly table: string;
  readonly column: number;
  readonly header: string;
  readonly problem: string;
}

/**
 * Per table and column: the first row's cell sits under its header (same left edge and width), both
 * align their text the same way, and the texts line up on that side (within 2 px).
 */
// Runs in the page (plain JS: this project's TypeScript has no DOM lib).
const MISALIGNED = `(ids) => {
  const out = [];
  const textRect = (cell) => { const r = document.createRange(); r.selectNodeContents(cell); return r.getBoundingClientRect(); };
  for (const id of ids) {
    const heads = [...document.querySelectorAll('#' + id + ' thead th')];
    const first = document.querySelector('#' + id + ' tbody tr');
    const cells = first ? [...first.children] : [];
    if (cells.length === 1 && cells[0].getAttribute('colspan')) continue; // the "nothing configured" row
    if (heads.length !== cells.length) out.push({ table: id, column: -1, header: '', problem: heads.length + ' headers, ' + cells.length + ' cells in the first row' });
    heads.forEach((th, i) => {
      const td = cells[i];
      if (!td) return;
      const h = th.getBoundingClientRect(), d = td.getBoundingClientRect(), header = th.textContent || '';
      if (Math.abs(h.left - d.left) > 1 || Math.abs(h.width - d.width) > 1) out.push({ table: id, column: i, header, problem: 'cell box ' + d.left + '+' + d.width + ' vs header ' + h.left + '+' + h.width });
      const ha = getComputedStyle(th).textAlign, da = getComputedStyle(td).textAlign;
      if (ha !== da) out.push({ table: id, column: i, header, problem: 'header aligned ' + ha + ', cell ' + da });
      const ht = textRect(th), dt = textRect(td);
      const edge = da === 'right' ? Math.abs(ht.right - dt.right) : Math.abs(ht.left - dt.left);
      if (edge > 2) out.push({ table: id, column: i, header, problem: 'text ' + da + ' edges ' + edge.toFixed(1) + ' px apart' });
    });
  }
  return out;
}`;

/**
 * Per table and column: the first row's cell sits under its header (same left edge and width), both
 * align their text the same way, and the texts line up on that side (within 2 px).
 */
export function misalignedColumns(page: Page, tables: readonly string[]): Promise<ColumnMisfit[]> {
  return page.evaluate(`(${MISALIGNED})(${JSON.stringify(tables)})`) as Promise<ColumnMisfit[]>;
}

/** Event rows whose whole text appears more than once. */
export async function duplicateEventRows(page: Page): Promise<string[]> {
  const rows = await page.locator('#events li').allTextContents();
  return rows.filter((r, i) => rows.indexOf(r) !== i);
}

const CHART_POINTS = `(() => {
  const out = {};
  for (const card of document.querySelectorAll('section.card[data-member]')) {
    const svg = card.querySelector('svg.chart');
    const lines = svg ? svg.querySelectorAll('polyline').length : 0;
    out[card.getAttribute('data-member')] = svg && lines === 3 ? Number(svg.getAttribute('data-points')) : null;
  }
  return out;
})()`;

/** Per member card: the number of history points its chart draws (null: no chart with its three lines). */
export function chartPoints(page: Page): Promise<Record<string, number | null>> {
  return page.evaluate(CHART_POINTS) as Promise<Record<string, number | null>>;
}
