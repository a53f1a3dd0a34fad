// Pure parts of the FederatedApp CR source: validation of a CR as read from the API, merging with
// configured apps, the host cluster choice, and the `spec.appSources` config field.
import { describe, expect, it } from 'vitest';
import { parseFederation, type App, type Federation } from '../../cluster-mgr/config/index';
import pino from 'pino';
import { appFromCr, createCrApps, crHost, mergeApps } from '../../cluster-mgr/daemon/cr-apps';

const members = ['a', 'b'];
const template = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'r/web:1' }] } } },
};
// As the API server returns it: server-set metadata and status must not trip the strict schema.
const cr = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'flotilla.dev/v1alpha1',
  kind: 'FederatedApp',
  metadata: { name: 'web', namespace: 'shop', uid: 'u1', resourceVersion: '7', generation: 2, managedFields: [], ...meta },
  spec,
  status: { conditions: [] },
});

describe('appFromCr', () => {
  it('accepts a CR and fills the same defaults as a file app', () => {
    const r = appFromCr(cr({ replicas: 3, template }), members);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.app).toMatchObject({ name: 'web', namespace: 'shop', replicas: 3, placement: { spread: 'capacity', perCluster: {} }, propagate: [] });
  });

  it('accepts what the FederatedApplication construct authors (autoscale, perCluster, propagate)', () => {
    const spec = {
      replicas: 10,
      template,
      placement: { clusterSelector: { env: 'prod' }, spread: 'capacity', perCluster: { a: { min: 2, max: 8 } } },
      autoscale: { query: 'sum(x)', targetPerReplica: 50, min: 2, max: 40, interval: '30s' },
      propagate: [{ kind: 'ConfigMap', name: 'web-config' }],
    };
    expect(appFromCr(cr(spec), members).ok).toBe(true);
  });

  it.each([
    ['replicas is a string', { replicas: 'six', template }, 'spec.replicas'],
    ['unknown spec field', { replicas: 1, template, extra: 1 }, 'spec'],
    ['no containers', { replicas: 1, template: { ...template, spec: { ...template.spec, template: { spec: { containers: [] } } } } }, 'spec.template.spec.template.spec.containers'],
    ['unknown member in perCluster', { replicas: 1, template, placement: { perCluster: { zz: { min: 1 } } } }, 'spec.placement.perCluster.zz: unknown member "zz"'],
    ['min > max', { replicas: 1, template, placement: { perCluster: { a: { min: 3, max: 1 } } } }, 'spec.placement.perCluster.a.min: min 3 is greater than max 1'],
    ['selector does not match pod labels', { replicas: 1, template: { ...template, spec: { ...template.spec, selector: { matchLabels: { app: 'other' } } } } }, 'spec.template.spec.selector.matchLabels.app'],
    ['missing spec', undefined, 'spec'],
  ])('rejects: %s', (_what, spec, needle) => {
    const r = appFromCr(cr(spec as Record<string, unknown>), members);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.join('\n')).toContain(needle);
  });

  it('rejects a name that is not a DNS label', () => {
    const r = appFromCr(cr({ replicas: 1, template }, { name: 'Web.App' }), members);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join()).toContain('metadata.name');
  });
});

describe('mergeApps', () => {
  const app = (namespace: string, name: string, replicas = 1) => ({ namespace, name, replicas }) as unknown as App;
  it.each([
    ['no clash', [app('a', 'x')], [app('a', 'y')], ['a/x', 'a/y'], []],
    ['file wins a clash', [app('a', 'x', 5)], [app('a', 'x', 1), app('b', 'x')], ['a/x', 'b/x'], ['a/x']],
    ['same name, other namespace is no clash', [app('a', 'x')], [app('b', 'x')], ['a/x', 'b/x'], []],
    ['no configured apps', [], [app('a', 'x')], ['a/x'], []],
  ])('%s', (_what, configured, crs, keys, shadowed) => {
    const r = mergeApps(configured, crs);
    expect(r.apps.map((a) => `${a.namespace}/${a.name}`)).toEqual(keys);
    expect(r.shadowed).toEqual(shadowed);
    if (shadowed.length) expect(r.apps[0]!.replicas).toBe(5);
  });
});

const fedText = (extra: string) => `apiVersion: flotilla.dev/v1alpha1
kind: Federation
metadata: { name: t }
spec:
  members:
    - { name: a, kubeconfig: ./a.yaml }
    - { name: b, kubeconfig: ./b.yaml, context: ctx-b }
${extra}`;

describe('spec.appSources', () => {
  it.each([
    ['', undefined],
    ['  appSources: { crs: {} }', undefined],
    ['  appSources: { crs: { namespace: apps, member: b } }', undefined],
    ['  appSources: { crs: { member: zz } }', 'spec.appSources.crs.member: unknown member "zz"'],
    ['  appSources: { crs: { namespace: Bad_NS } }', 'spec.appSources.crs.namespace'],
    ['  appSources: { crds: {} }', 'spec.appSources'],
    ['  appSources: { crs: { watch: true } }', 'spec.appSources.crs'],
  ])('%s', (extra, error) => {
    const r = parseFederation(fedText(extra), 'f.yaml');
    if (!error) {
      expect(r.ok, JSON.stringify(r)).toBe(true);
      return;
    }
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n')).toContain(error);
  });

  const fed = (extra: string): Federation => {
    const r = parseFederation(fedText(extra), '/etc/cm/federation.yaml');
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.value;
  };
  it.each([
    ['default: the first member', '  appSources: { crs: {} }', { name: 'a', kubeconfig: '/etc/cm/a.yaml' }],
    ['crs.member, with its context', '  appSources: { crs: { member: b } }', { name: 'b', kubeconfig: '/etc/cm/b.yaml', context: 'ctx-b' }],
    ['the leader-election member', '  appSources: { crs: {} }\n  leaderElection: { member: b }', { name: 'b', kubeconfig: '/etc/cm/b.yaml', context: 'ctx-b' }],
    ['the leader-election kubeconfig', '  appSources: { crs: {} }\n  leaderElection: { kubeconfig: ./host.yaml }', { name: 'cr-host', kubeconfig: '/etc/cm/host.yaml' }],
    ['crs.kubeconfig wins', '  appSources: { crs: { kubeconfig: ./crs.yaml, member: b } }\n  leaderElection: { kubeconfig: ./host.yaml }', { name: 'cr-host', kubeconfig: '/etc/cm/crs.yaml' }],
  ])('host: %s', (_what, extra, want) => {
    expect(crHost(fed(extra), '/etc/cm/federation.yaml')).toEqual(want);
  });
});

describe('createCrApps', () => {
  const fed = (extra: string): Federation => {
    const r = parseFederation(fedText(extra), '/nonexistent/federation.yaml');
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.value;
  };
  const opts = (f: Federation) => ({ federation: f, configFile: '/nonexistent/federation.yaml', configured: [], memberApis: new Map(), log: pino({ level: 'silent' }), timeoutMs: 1000 });
  it('is off without spec.appSources.crs', () => {
    expect(createCrApps(opts(fed('')))).toBeUndefined();
  });
  it('fails startup with the field and path when the host kubeconfig cannot be read', () => {
    expect(() => createCrApps(opts(fed('  appSources: { crs: { kubeconfig: ./missing.yaml } }')))).toThrow(/spec\.appSources\.crs: cannot use the host cluster's kubeconfig \/nonexistent\/missing\.yaml/);
  });
});
