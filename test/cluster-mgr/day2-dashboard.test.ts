// The dashboard's day-2 table, rendered by the page's own inline script in a minimal fake DOM (the
// Chromium test in day2.sim.test.ts covers the real browser where /usr/bin/chromium exists).
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { dashboardHtml, type DashboardState } from '../../cluster-mgr/dashboard/index';

class El {
  children: El[] = [];
  attrs: Record<string, string> = {};
  className = '';
  title = '';
  private text = '';
  constructor(readonly tag: string) {}
  get textContent(): string {
    return this.text + this.children.map((c) => c.textContent).join('');
  }
  set textContent(v: string) {
    this.text = v;
    this.children = [];
  }
  setAttribute(k: string, v: string) {
    this.attrs[k] = v;
  }
  getAttribute(k: string) {
    return this.attrs[k];
  }
  appendChild(c: El) {
    this.children.push(c);
    return c;
  }
  all(pred: (e: El) => boolean): El[] {
    return [...(pred(this) ? [this] : []), ...this.children.flatMap((c) => c.all(pred))];
  }
}

function render(state: DashboardState): Map<string, El> {
  const html = dashboardHtml(state);
  const initial = /<script type="application\/json" id="initial-state">([\s\S]*?)<\/script>/.exec(html)![1]!;
  const js = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].at(-1)![1]!;
  const ids = new Map<string, El>();
  for (const id of ['fed', 'role', 'status', 'members', 'apps', 'day2', 'events']) ids.set(id, new El(id === 'apps' || id === 'day2' ? 'table' : 'div'));
  const initialEl = new El('script');
  initialEl.textContent = initial;
  const document = {
    getElementById: (id: string) => (id === 'initial-state' ? initialEl : ids.get(id)),
    createElement: (tag: string) => new El(tag),
    createTextNode: (t: string) => Object.assign(new El('#text'), { textContent: t }),
  };
  runInNewContext(js, { document, location: { hash: '' }, URLSearchParams, fetch: () => new Promise(() => undefined), setTimeout, Date, Math, JSON, String });
  return ids;
}

describe('dashboard: day-2 checks table', () => {
  it('one row per check and target with its status; names are text', () => {
    const ids = render({
      federation: 'lab',
      clusters: [],
      apps: [],
      events: [],
      day2: [
        { check: 'registry-tls', kind: 'certExpiry', schedule: '*/5 * * * *', target: '10.0.0.5:443', status: 'fail', message: 'certificate expires in 2.9 days <b>x</b>', lastRun: '2026-01-01T00:00:00Z', nextRun: '2026-01-01T00:05:00Z' },
        { check: 'etcd', kind: 'etcdSnapshot', schedule: '0 * * * *', target: null, status: 'pending', message: 'not run yet', lastRun: null, nextRun: null },
      ],
    });
    const rows = ids.get('day2')!.all((e) => e.tag === 'tr' && e.attrs['data-check'] !== undefined);
    expect(rows.map((r) => [r.attrs['data-check'], r.attrs['data-target'], r.attrs['data-status']])).toEqual([
      ['registry-tls', '10.0.0.5:443', 'fail'],
      ['etcd', '', 'pending'],
    ]);
    expect(rows[0]!.all((e) => e.attrs['data-field'] === 'status')[0]!.textContent).toBe('fail');
    expect(rows[0]!.textContent).toContain('certificate expires in 2.9 days <b>x</b>');
    expect(rows[0]!.textContent).toContain('certExpiry · */5 * * * *');
  });

  it('says so when no check is configured', () => {
    const ids = render({ federation: 'lab', clusters: [], apps: [], events: [] });
    expect(ids.get('day2')!.textContent).toContain('no day-2 checks configured (spec.day2)');
  });
});
