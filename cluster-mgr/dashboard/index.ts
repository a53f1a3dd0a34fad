// The cluster-mgr dashboard: one self-contained, read-only HTML page (inline CSS and JS, no external
// assets — it must work in air-gapped sites). It polls `api/state` every second and renders member
// cards (health, traffic state and weight, capacity, and a chart of health, traffic weight and replicas
// over the last 15 minutes from the daemon's own history), the replica distribution per app, the day-2
// checks (spec.day2: one row per check and target) and the event timeline (an event repeated in a row
// is one row with a count). All data is inserted with textContent (no HTML injection from member or
// app names). Numeric columns are right-aligned in their header and their cells alike.
//
// Auth: when cluster-mgr listens on a non-loopback address the server requires a bearer token on
// `/api/state` (see ./auth). The page itself carries no data then; open it as `/#token=TOKEN` — the
// fragment never leaves the browser, and the script sends it as `Authorization: Bearer`.
export { requireBearer, bearerGuard, isLoopback } from './auth';

/** The `/api/state` fields the page reads (extra fields are ignored; missing ones shown as "–"). */
export interface DashboardState {
  readonly federation?: string;
  readonly leader?: boolean;
  readonly ready?: boolean;
  readonly clusters?: readonly {
    readonly name: string;
    readonly health?: string;
    readonly since?: string;
    readonly reason?: string | null;
    readonly probeMs?: number | null;
    readonly traffic?: { readonly server?: string; readonly state?: string; readonly weight?: number; readonly fullWeight?: number };
    readonly capacity?: { readonly allocatable?: Record<string, number>; readonly allocated?: Record<string, number>; readonly readyNodes?: number; readonly nodes?: number } | null;
    readonly returning?: boolean;
  }[];
  readonly apps?: readonly {
    readonly key: string;
    readonly desired?: number;
    readonly assignments?: Record<string, number>;
    readonly unschedulable?: number;
    readonly unschedulableReason?: string | null;
    readonly running?: Record<string, { replicas: number; ready: number }>;
    readonly error?: string | null;
  }[];
  readonly day2?: readonly {
    readonly check: string;
    readonly kind: string;
    readonly schedule: string;
    readonly target: string | null;
    readonly status: string;
    readonly message: string;
    readonly lastRun: string | null;
    readonly nextRun: string | null;
  }[];
  readonly events?: readonly { readonly at: string; readonly type: string; readonly member?: string; readonly app?: string; readonly message: string; readonly repeats?: number }[];
  /** The daemon's ring buffer per member (daemon/history.ts): column arrays, oldest first. */
  readonly history?: {
    readonly windowMs: number;
    readonly members: Record<string, { readonly t: readonly number[]; readonly health: readonly string[]; readonly weight: readonly number[]; readonly replicas: readonly number[] }>;
  };
}

const CSS = `
:root{--bg:#0f1419;--card:#1a2129;--fg:#e6e9ec;--mut:#8b96a1;--ok:#2ea043;--warn:#d29922;--bad:#e5534b;--info:#539bf5;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg)}
header{display:flex;gap:1rem;align-items:baseline;padding:.8rem 1.2rem;border-bottom:1px solid #2d333b}
header h1{font-size:1.1rem;margin:0}header .mut{color:var(--mut);font-size:.85rem}
main{padding:1rem 1.2rem;display:grid;gap:1.2rem}
h2{font-size:.95rem;margin:0 0 .5rem;color:var(--mut);text-transform:uppercase;letter-spacing:.05em}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:.8rem}
.card{background:var(--card);border-radius:8px;padding:.8rem;border-left:5px solid var(--mut)}
.card h3{margin:0 0 .4rem;font-size:1rem;display:flex;justify-content:space-between;gap:.5rem}
.card.Healthy{border-color:var(--ok)}.card.Suspect,.card.Recovering{border-color:var(--warn)}.card.Unhealthy,.card.AuthFailed{border-color:var(--bad)}
.badge{font-size:.75rem;padding:.1rem .45rem;border-radius:10px;background:#2d333b}
.badge.Healthy{background:var(--ok)}.badge.Suspect,.badge.Recovering{background:var(--warn);color:#111}.badge.Unhealthy,.badge.AuthFailed{background:var(--bad)}
.kv{display:grid;grid-template-columns:auto 1fr;gap:.15rem .6rem;font-size:.85rem}.kv dt{color:var(--mut)}.kv dd{margin:0}
.bar{height:6px;background:#2d333b;border-radius:3px;overflow:hidden;margin-top:2px}.bar i{display:block;height:100%;background:var(--info)}
table{border-collapse:collapse;width:100%;font-size:.85rem;background:var(--card);border-radius:8px;overflow:hidden}
th,td{padding:.35rem .6rem;text-align:left;border-bottom:1px solid #2d333b}th{color:var(--mut);font-weight:500}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
svg.chart{display:block;width:100%;height:66px;margin-top:.5rem;background:#12181e;border-radius:4px}
svg.chart polyline{fill:none;stroke-width:1.5;vector-effect:non-scaling-stroke}
svg.chart .health{stroke:var(--ok)}svg.chart .weight{stroke:var(--info)}svg.chart .replicas{stroke:var(--warn)}
.legend{display:flex;gap:.6rem;font-size:.7rem;color:var(--mut)}.legend i{display:inline-block;width:.6rem;height:2px;vertical-align:middle;margin-right:.2rem}
.rep{color:var(--mut);font-size:.75rem}.bad{color:var(--bad)}.mut{color:var(--mut)}
ol.events{list-style:none;margin:0;padding:0;font-size:.85rem;background:var(--card);border-radius:8px;max-height:22rem;overflow:auto}
ol.events li{padding:.3rem .6rem;border-bottom:1px solid #2d333b;display:grid;grid-template-columns:7.5rem 13rem 1fr;gap:.6rem}
#status.stale{color:var(--bad)}
.st{font-size:.75rem;padding:.1rem .45rem;border-radius:10px;background:#2d333b}
.st.ok{background:var(--ok)}.st.warn{background:var(--warn);color:#111}.st.fail{background:var(--bad)}
`;

// Client script: plain ES2017, no template literals (keeps this file's own template simple).
const JS = `
(function(){
  var token = new URLSearchParams(location.hash.slice(1)).get('token');
  var $ = function(id){ return document.getElementById(id); };
  function el(tag, attrs, children){
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) { if (k === 'text') e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]); }
    (children || []).forEach(function(c){ if (c) e.appendChild(c); });
    return e;
  }
  function dash(v){ return v === undefined || v === null || v === '' ? '\\u2013' : String(v); }
  function fmtRes(k, v){
    if (typeof v !== 'number') return '\\u2013';
    if (k === 'memory') return v >= 1073741824 ? (v / 1073741824).toFixed(1) + ' GiB' : (v / 1048576).toFixed(0) + ' MiB';
    return Math.round(v * 100) / 100 + '';
  }
  function capRows(cap){
    if (!cap || !cap.allocatable) return [el('dt', {text:'capacity'}), el('dd', {text:'\\u2013', 'class':'mut'})];
    var out = [];
    ['cpu','memory','pods'].forEach(function(k){
      var a = cap.allocatable[k], u = (cap.allocated || {})[k];
      if (typeof a !== 'number') return;
      var pct = a > 0 && typeof u === 'number' ? Math.min(100, Math.round(100 * u / a)) : 0;
      var bar = el('div', {'class':'bar'}, [el('i', {style:'width:' + pct + '%'})]);
      out.push(el('dt', {text:k}), el('dd', {'data-res':k}, [document.createTextNode(fmtRes(k, u) + ' / ' + fmtRes(k, a) + ' (' + pct + '%)'), bar]));
    });
    return out;
  }
  var SVG = 'http://www.w3.org/2000/svg';
  var HEALTH_LEVEL = { Healthy: 1, AuthFailed: 0.5, Recovering: 0.66, Suspect: 0.33, Unhealthy: 0 };
  // Three stacked step lines over the history: health (level), traffic weight (of full), replicas
  // (of the most seen). The x axis spans the history held (at least 10 s, at most the window).
  function chart(name, h, windowMs, fullWeight){
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'chart'); svg.setAttribute('data-member', name);
    svg.setAttribute('viewBox', '0 0 300 66'); svg.setAttribute('preserveAspectRatio', 'none');
    var n = h && h.t ? h.t.length : 0;
    svg.setAttribute('data-points', String(n));
    if (n === 0) return svg;
    var end = h.t[n - 1], span = Math.min(windowMs, Math.max(10000, end - h.t[0])), start = end - span;
    var maxRep = Math.max.apply(null, [1].concat(h.replicas));
    function line(cls, band, ys){
      var top = band * 22 + 3, height = 16, pts = [], prev = '';
      for (var i = 0; i < n; i++) {
        var x = (Math.max(0, (h.t[i] - start) / span) * 300).toFixed(1), y = (top + height - ys[i] * height).toFixed(1);
        if (i > 0) pts.push(x + ',' + prev); // a step: the last value holds until the next sample
        pts.push(x + ',' + y);
        prev = y;
      }
      pts.push('300,' + prev);
      var pl = document.createElementNS(SVG, 'polyline');
      pl.setAttribute('class', cls); pl.setAttribute('data-series', cls); pl.setAttribute('points', pts.join(' '));
      svg.appendChild(pl);
    }
    line('health', 0, h.health.map(function(s){ return HEALTH_LEVEL[s] === undefined ? 0 : HEALTH_LEVEL[s]; }));
    line('weight', 1, h.weight.map(function(w){ return Math.min(1, w / (fullWeight || 256)); }));
    line('replicas', 2, h.replicas.map(function(r){ return r / maxRep; }));
    var title = document.createElementNS(SVG, 'title');
    title.textContent = name + ', last ' + ago(span) + ': now ' + h.health[n - 1] + ', weight ' + h.weight[n - 1] + ', ' + h.replicas[n - 1] + ' replicas (max ' + maxRep + ')';
    svg.appendChild(title);
    svg.setAttribute('data-span', ago(span));
    return svg;
  }
  function ago(ms){ return ms >= 120000 ? Math.round(ms / 60000) + ' min' : Math.round(ms / 1000) + ' s'; }
  function legend(svg){
    var items = [['health','var(--ok)'],['weight','var(--info)'],['replicas','var(--warn)']].map(function(p){
      return el('span', null, [el('i', {style:'background:' + p[1]}), document.createTextNode(p[0])]);
    });
    items.push(el('span', {text: svg.getAttribute('data-span') ? 'last ' + svg.getAttribute('data-span') : 'no history yet'}));
    return el('div', {'class':'legend'}, items);
  }
  function renderMembers(clusters, history){
    var box = $('members'); box.textContent = '';
    var hist = (history && history.members) || {}, windowMs = (history && history.windowMs) || 900000;
    clusters.forEach(function(c){
      var h = c.health || 'Unknown', t = c.traffic || {};
      var rows = [
        el('dt', {text:'traffic'}), el('dd', {'data-field':'traffic', text: dash(t.state) + ' \\u00b7 weight ' + dash(t.weight)}),
        el('dt', {text:'since'}), el('dd', {text: c.since ? new Date(c.since).toLocaleTimeString() : '\\u2013'}),
        el('dt', {text:'probe'}), el('dd', {text: typeof c.probeMs === 'number' ? c.probeMs + ' ms' : '\\u2013'})
      ];
      if (c.reason) rows.push(el('dt', {text:'reason'}), el('dd', {'class':'bad', text: c.reason}));
      if (c.capacity && typeof c.capacity.readyNodes === 'number') rows.push(el('dt', {text:'nodes'}), el('dd', {text: c.capacity.readyNodes + ' / ' + c.capacity.nodes + ' ready'}));
      rows = rows.concat(capRows(c.capacity));
      if (c.returning) rows.push(el('dt', {text:'failback'}), el('dd', {text:'replicas returning'}));
      var svg = chart(c.name, hist[c.name], windowMs, t.fullWeight);
      box.appendChild(el('section', {'class':'card ' + h, 'data-member': c.name, 'data-health': h}, [
        el('h3', null, [el('span', {text: c.name}), el('span', {'class':'badge ' + h, 'data-field':'health', text: h})]),
        el('dl', {'class':'kv'}, rows),
        svg,
        legend(svg)
      ]));
    });
  }
  function renderApps(apps, names){
    var head = el('tr', null, [el('th', {text:'app'}), el('th', {'class':'num', text:'desired'})].concat(names.map(function(n){ return el('th', {'class':'num', text:n}); })).concat([el('th', {'class':'num', text:'unschedulable'})]));
    var body = apps.map(function(a){
      var cells = [el('td', {text:a.key}), el('td', {'class':'num', text: dash(a.desired)})];
      names.forEach(function(n){
        var want = (a.assignments || {})[n], run = (a.running || {})[n];
        var txt = dash(want) + (run ? ' (' + run.ready + '/' + run.replicas + ' ready)' : '');
        cells.push(el('td', {'class':'num', 'data-app': a.key, 'data-member': n, text: txt}));
      });
      cells.push(el('td', {'class': a.unschedulable ? 'num bad' : 'num', title: a.unschedulableReason || '', text: dash(a.unschedulable)}));
      var tr = el('tr', null, cells);
      if (a.error) tr.title = a.error;
      return tr;
    });
    var t = $('apps'); t.textContent = '';
    t.appendChild(el('thead', null, [head])); t.appendChild(el('tbody', null, body));
  }
  function renderDay2(rows){
    var t = $('day2'); t.textContent = '';
    var head = el('tr', null, ['check','kind','target','status','result','last run','next run'].map(function(h){ return el('th', {text:h}); }));
    var body = rows.map(function(r){
      return el('tr', {'data-check': r.check, 'data-target': r.target === null ? '' : r.target, 'data-status': r.status}, [
        el('td', {text: r.check}), el('td', {'class':'mut', text: r.kind + ' \u00b7 ' + r.schedule}), el('td', {text: dash(r.target)}),
        el('td', null, [el('span', {'class':'st ' + r.status, 'data-field':'status', text: r.status})]),
        el('td', {text: r.message}),
        el('td', {text: r.lastRun ? new Date(r.lastRun).toLocaleTimeString() : '\u2013'}),
        el('td', {text: r.nextRun ? new Date(r.nextRun).toLocaleTimeString() : '\u2013'})
      ]);
    });
    if (rows.length === 0) body.push(el('tr', null, [el('td', {'class':'mut', colspan:'7', text:'no day-2 checks configured (spec.day2)'})]));
    t.appendChild(el('thead', null, [head])); t.appendChild(el('tbody', null, body));
  }
  function renderEvents(events){
    var ol = $('events'); ol.textContent = '';
    events.slice(0, 100).forEach(function(e){
      ol.appendChild(el('li', null, [
        el('span', {'class':'mut', text: new Date(e.at).toLocaleTimeString()}),
        el('span', {text: e.type + (e.member ? ' \\u00b7 ' + e.member : '') + (e.app ? ' \\u00b7 ' + e.app : '')}),
        el('span', null, [document.createTextNode(e.message), e.repeats > 1 ? el('span', {'class':'rep', text: ' \u00d7' + e.repeats}) : null])
      ]));
    });
    if (events.length === 0) ol.appendChild(el('li', {'class':'mut', text:'no events yet'}));
  }
  var lastOk = 0;
  function render(s){
    lastOk = Date.now();
    $('fed').textContent = s.federation ? 'federation ' + s.federation : '';
    $('role').textContent = (s.leader ? 'leader' : 'follower') + (s.ready === false ? ' \\u00b7 not ready' : '');
    var clusters = s.clusters || [];
    renderMembers(clusters, s.history);
    renderApps(s.apps || [], clusters.map(function(c){ return c.name; }));
    renderDay2(s.day2 || []);
    renderEvents(s.events || []);
    $('status').className = ''; $('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  }
  function poll(){
    var headers = token ? { Authorization: 'Bearer ' + token } : {};
    fetch('api/state', { headers: headers, cache: 'no-store' })
      .then(function(r){ if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(render)
      .catch(function(err){ $('status').className = 'stale'; $('status').textContent = 'stale: ' + err.message + (lastOk ? ' (last update ' + new Date(lastOk).toLocaleTimeString() + ')' : ''); })
      .then(function(){ setTimeout(poll, 1000); });
  }
  var initial = document.getElementById('initial-state');
  if (initial && initial.textContent) { try { render(JSON.parse(initial.textContent)); } catch (e) { /* poll will fill in */ } }
  poll();
})();
`;

/** JSON safe to place inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * The dashboard page. Pass `state` to render it before the first poll (only when the request is
 * authorised — the server must not embed state for unauthenticated requests).
 */
export function dashboardHtml(state?: DashboardState | Record<string, unknown>): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>cluster-mgr</title>
<style>${CSS}</style></head>
<body>
<header><h1>cluster-mgr</h1><span class="mut" id="fed"></span><span class="mut" id="role"></span><span class="mut" id="status">loading…</span></header>
<main>
<section><h2>Members</h2><div class="cards" id="members"></div></section>
<section><h2>Replicas per app</h2><table id="apps"></table></section>
<section><h2>Day-2 checks</h2><table id="day2"></table></section>
<section><h2>Events</h2><ol class="events" id="events"></ol></section>
</main>
${state ? `<script type="application/json" id="initial-state">${scriptJson(state)}</script>\n` : ''}<script>${JS}</script>
</body></html>
`;
}

export default dashboardHtml;
