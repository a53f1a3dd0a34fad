// The federation's metric source (spec.autoscaling.metrics): the pure sum over members' answers
// (who is asked, what counts as failed, when a sum is partial), the decision on a partial sum (a lower
// bound: up, never down, always alerted), and the config's validation messages.
import { describe, expect, it } from 'vitest';
import { formatError, parseFederation } from '../../cluster-mgr/config/index';
import { AlertName } from '../../cluster-mgr/contracts/alerts';
import { decideReplicas, sumMemberOutcomes, type AutoscaleSpec, type QueryOutcome, type SourceStatus } from '../../cluster-mgr/core/autoscale';

const spec: AutoscaleSpec = { namespace: 'shop', app: 'web', targetPerReplica: 50, min: 2, max: 40 };
const v = (value: number | undefined): QueryOutcome => ({ ok: true, value });
const err = (error: string): QueryOutcome => ({ ok: false, error });
type Answer = Parameters<typeof sumMemberOutcomes>[0][number];
const on = (member: string, outcome: QueryOutcome): Answer => ({ member, serving: true, outcome });
const off = (member: string): Answer => ({ member, serving: false });

describe('sumMemberOutcomes (metric source "members")', () => {
  const table: { name: string; answers: Answer[]; want: QueryOutcome; states: SourceStatus['state'][] }[] = [
    { name: 'every member answers → the sum', answers: [on('a', v(120)), on('b', v(200)), on('c', v(0))], want: v(320), states: ['up', 'up', 'up'] },
    { name: 'an empty vector counts 0 (no replicas there)', answers: [on('a', v(120)), on('b', v(undefined))], want: v(120), states: ['up', 'up'] },
    { name: 'no samples anywhere → empty result', answers: [on('a', v(undefined)), on('b', v(undefined))], want: v(undefined), states: ['up', 'up'] },
    { name: 'a member not serving is not asked; the others are the whole sum', answers: [on('a', v(120)), off('b')], want: v(120), states: ['up', 'skipped'] },
    {
      name: 'one serving member fails → partial sum naming it',
      answers: [on('a', v(120)), on('b', err('prometheus http://b:9090 unreachable: fetch failed')), on('c', v(80))],
      want: { ok: true, value: 200, partial: 'answered: a, c; failed: b: prometheus http://b:9090 unreachable: fetch failed' },
      states: ['up', 'down', 'up'],
    },
    {
      name: 'NaN or Infinity from a member counts as failed',
      answers: [on('a', v(NaN)), on('b', v(100)), on('c', v(Infinity))],
      want: { ok: true, value: 100, partial: 'answered: b; failed: a: returned NaN; c: returned Infinity' },
      states: ['down', 'up', 'down'],
    },
    {
      name: 'partial, with a member not asked',
      answers: [on('a', v(50)), on('b', err('timeout')), off('c')],
      want: { ok: true, value: 50, partial: 'answered: a; failed: b: timeout; not serving, not asked: c' },
      states: ['up', 'down', 'skipped'],
    },
    { name: 'every serving member fails → failed query', answers: [on('a', err('x')), on('b', err('y')), off('c')], want: err("every serving member's Prometheus failed: a: x; b: y; not serving, not asked: c"), states: ['down', 'down', 'skipped'] },
    { name: 'no member serving → failed query', answers: [off('a'), off('b')], want: err('no serving member to query; not serving, not asked: a, b'), states: ['skipped', 'skipped'] },
  ];
  it.each(table)('$name', ({ answers, want, states }) => {
    const r = sumMemberOutcomes(answers);
    expect(r.outcome).toEqual(want);
    expect(r.sources.map((s) => s.state)).toEqual(states);
    expect(r.sources.map((s) => s.source)).toEqual(answers.map((a) => a.member));
  });
});

describe('decideReplicas on a partial sum (a lower bound)', () => {
  const partial = (value: number | undefined): QueryOutcome => ({ ok: true, value, partial: 'answered: a; failed: b: timeout' });
  const table: { name: string; current: number; outcome: QueryOutcome; want: number; why: RegExp }[] = [
    { name: 'the partial sum alone calls for more → scale up', current: 4, outcome: partial(500), want: 10, why: /lower bound: scaling up/ },
    { name: 'the partial sum calls for fewer → kept (never down)', current: 8, outcome: partial(100), want: 8, why: /never scaling down/ },
    { name: 'within tolerance → kept', current: 6, outcome: partial(310), want: 6, why: /never scaling down/ },
    { name: 'clamped at max', current: 10, outcome: partial(10_000), want: 40, why: /scaling up/ },
    { name: 'no samples from the members that answered → kept, as an empty result', current: 5, outcome: partial(undefined), want: 5, why: /no samples \(answered: a; failed: b: timeout\)/ },
  ];
  it.each(table)('$name', ({ current, outcome, want, why }) => {
    const d = decideReplicas({ spec, current, outcome, now: 1_000, state: { recommendations: [], failing: false } });
    expect(d.replicas).toBe(want);
    expect(d.reason).toMatch(why);
    // Never silent: every partial or failed evaluation fires the app's query-failing alert.
    expect(d.fire?.name).toBe(AlertName.AutoscaleQueryFailing);
    expect(d.fire?.labels).toEqual({ namespace: 'shop', app: 'web' });
    expect(d.fire?.description).toMatch(/failed: b: timeout/);
    expect(d.state.failing).toBe(true);
    expect(d.resolve).toBeUndefined();
  });

  it('the alert says "scaling up only" for a partial sum and resolves once every member answers', () => {
    const d1 = decideReplicas({ spec, current: 4, outcome: partial(100), now: 0 });
    expect(d1.fire?.summary).toMatch(/failing on some members; scaling up only, never down/);
    const d2 = decideReplicas({ spec, current: d1.replicas, outcome: v(100), now: 1_000, state: d1.state });
    expect(d2.resolve?.name).toBe(AlertName.AutoscaleQueryFailing);
    expect(d2.fire).toBeUndefined();
    expect(d2.replicas).toBe(2); // the whole sum may scale down (no higher recommendation in the window)
  });

  it('a scale-up on a partial sum holds a later scale-down for the stabilisation window', () => {
    const d1 = decideReplicas({ spec, current: 4, outcome: partial(500), now: 0 });
    expect(d1.replicas).toBe(10);
    const d2 = decideReplicas({ spec, current: d1.replicas, outcome: v(100), now: 60_000, state: d1.state });
    expect(d2.replicas).toBe(10);
  });
});

describe('spec.autoscaling.metrics validation', () => {
  const doc = (spec: string) => `apiVersion: flotilla.dev/v1alpha1
kind: Federation
metadata: { name: f }
spec:
  members:
    - { name: a, kubeconfig: a.yaml }
    - { name: b, kubeconfig: b.yaml }
${spec}`;
  const errors = (spec: string) => {
    const r = parseFederation(doc(spec), 'f.yaml');
    return r.ok ? [] : r.errors.map(formatError);
  };

  it('accepts one URL, members with a URL each, and the older prometheus.url', () => {
    expect(errors('  autoscaling: { metrics: { source: url, url: "http://thanos-query.monitoring.svc:9090" } }')).toEqual([]);
    expect(errors('  autoscaling: { metrics: { source: members, urls: { a: "http://10.0.0.1:9090", b: "http://10.0.0.2:9090" }, timeout: 1s } }')).toEqual([]);
    expect(errors('  prometheus: { url: "http://127.0.0.1:9090" }')).toEqual([]);
    const r = parseFederation(doc('  autoscaling: { metrics: { source: members, urls: { a: "http://a:9090", b: "http://b:9090" } } }'), 'f.yaml');
    expect(r.ok && r.value.spec.autoscaling?.metrics).toEqual({ source: 'members', urls: { a: 'http://a:9090', b: 'http://b:9090' }, timeout: '2s' });
  });

  it.each([
    ['a member without a URL', '  autoscaling: { metrics: { source: members, urls: { a: "http://a:9090" } } }', /spec\.autoscaling\.metrics\.urls: member "b" has no Prometheus URL: .* add urls\.b: <its Prometheus URL>, or use source "url"/],
    ['an unknown member', '  autoscaling: { metrics: { source: members, urls: { a: "http://a:9090", b: "http://b:9090", c: "http://c:9090" } } }', /spec\.autoscaling\.metrics\.urls\.c: unknown member "c": known members: a, b/],
    ['not a URL', '  autoscaling: { metrics: { source: url, url: "prometheus:9090/x y" } }', /spec\.autoscaling\.metrics\.url: "prometheus:9090\/x y" is not an http\(s\) URL: expected a Prometheus or Thanos query base URL, e\.g\. "http:\/\/prometheus\.monitoring\.svc:9090"/],
    ['an unknown source', '  autoscaling: { metrics: { source: thanos, url: "http://t:9090" } }', /spec\.autoscaling\.metrics\.source: unknown metrics source "thanos": expected "url" \(one Prometheus or Thanos query URL\) or "members"/],
    ['both forms', '  prometheus: { url: "http://p:9090" }\n  autoscaling: { metrics: { source: url, url: "http://t:9090" } }', /spec\.prometheus: give either spec\.prometheus\.url \(the older form\) or spec\.autoscaling\.metrics, not both/],
    ['a zero timeout', '  autoscaling: { metrics: { source: url, url: "http://t:9090", timeout: 0s } }', /spec\.autoscaling\.metrics\.timeout: timeout "0s" must be longer than 0/],
  ])('%s', (_name, spec, want) => {
    const e = errors(spec);
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(/^f\.yaml:\d+:\d+ /);
    expect(e[0]).toMatch(want);
  });
});
