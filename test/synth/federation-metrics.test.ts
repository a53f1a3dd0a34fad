// The site inventory's cluster-mgr autoscaling source (spec.federation.autoscaling.metrics) reaches
// the synthesized Federation config, which cluster-mgr's own loader accepts; bad values are named.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseFederation } from '../../cluster-mgr/config/index';
import { formatError } from '../../infra/site/document';
import { loadSite, parseSite } from '../../infra/site/index';
import { federationConfigYaml } from '../../infra/synth/index';

const IN_CLUSTER = 'http://kube-prometheus-stack-prometheus.monitoring.svc:9090';

/** The synthesized Federation, through cluster-mgr's loader (schema + cross-field checks). */
function synthesized(text: string) {
  const site = parseSite(text, 'site.yaml');
  if (!site.ok) throw new Error(site.errors.map(formatError).join('\n'));
  const fed = parseFederation(federationConfigYaml(site.value), 'federation.yaml');
  if (!fed.ok) throw new Error(fed.errors.map(formatError).join('\n'));
  return fed.value;
}

const sh1 = readFileSync('examples/sh1.yaml', 'utf8');
const EXAMPLE_LINE = /^ {4}autoscaling: .*$/m;

describe('spec.federation.autoscaling.metrics → the synthesized Federation', () => {
  it('examples/sh1.yaml: members mode, every member with a URL (sh1-a, where cluster-mgr runs, in-cluster)', async () => {
    expect(sh1).toMatch(EXAMPLE_LINE);
    const loaded = await loadSite('examples/sh1.yaml');
    expect(loaded.ok).toBe(true);
    const fed = synthesized(sh1);
    expect(fed.spec.autoscaling?.metrics).toEqual({ source: 'members', urls: { 'sh1-a': IN_CLUSTER, 'sh1-b': 'http://prometheus.sh1-b.sh1.example.com:9090' }, timeout: '2s' });
    expect(fed.spec.prometheus).toBeUndefined();
  });

  it('unset: one URL, the first cluster\'s in-cluster Prometheus (what the config always had)', () => {
    expect(synthesized(sh1.replace(EXAMPLE_LINE, '')).spec.autoscaling?.metrics).toEqual({ source: 'url', url: IN_CLUSTER, timeout: '5s' });
  });

  it('a Thanos query URL', () => {
    const fed = synthesized(sh1.replace(EXAMPLE_LINE, '    autoscaling: { metrics: { source: url, url: "http://thanos-query.monitoring.svc:9090" } }'));
    expect(fed.spec.autoscaling?.metrics).toEqual({ source: 'url', url: 'http://thanos-query.monitoring.svc:9090', timeout: '5s' });
  });

  it.each([
    ['a cluster without a URL', '    autoscaling: { metrics: { source: members } }', /spec\.federation\.autoscaling\.metrics\.urls: cluster "sh1-b" has no Prometheus URL: .*cluster-mgr runs in "sh1-a" — add urls\.sh1-b: <its Prometheus as cluster-mgr reaches it>, or use source "url"/],
    ['an unknown cluster', '    autoscaling: { metrics: { source: members, urls: { sh1-b: "http://b:9090", sh1-c: "http://c:9090" } } }', /spec\.federation\.autoscaling\.metrics\.urls\.sh1-c: unknown cluster "sh1-c": known clusters: sh1-a, sh1-b/],
    ['not an http URL', '    autoscaling: { metrics: { source: url, url: "prometheus:9090" } }', /spec\.federation\.autoscaling\.metrics\.url: "prometheus:9090" is not an http\(s\) URL: expected a Prometheus or Thanos query base URL/],
    ['an unknown source', '    autoscaling: { metrics: { source: thanos } }', /spec\.federation\.autoscaling\.metrics\.source: unknown metrics source "thanos": expected "url" .* or "members"/],
  ])('%s is rejected naming the field, the value and the fix', (_n, line, want) => {
    const r = parseSite(sh1.replace(EXAMPLE_LINE, line), 'site.yaml');
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors.map(formatError);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^site\.yaml:\d+:\d+ /);
    expect(errors[0]).toMatch(want);
  });
});
