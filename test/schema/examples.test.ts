// Every object of every example validates against its schema: kubernetes-models for core kinds,
// the CRD openAPIV3Schema (ajv) for custom kinds. An unknown kind is a failure. The validator
// itself is checked to reject bad objects.
import { readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSite } from '../../infra/site/index';
import { synthesizeSite } from '../../infra/synth/index';
import type { K8sObject } from '../../infra/synth/types';
import { sharedPath } from '../lab/shared';
import { ManifestValidator } from './validator';

const examples = readdirSync('examples').filter((f) => f.endsWith('.yaml')).sort();
let validator: ManifestValidator;
beforeAll(() => {
  validator = new ManifestValidator();
});

describe('the validator', () => {
  it('knows the CRDs it needs', () => {
    for (const k of [
      'operator.tigera.io/v1/Installation',
      'crd.projectcalico.org/v1/BGPPeer',
      'cert-manager.io/v1/ClusterIssuer',
      'networking.istio.io/v1/DestinationRule',
      'elasticsearch.k8s.elastic.co/v1/Elasticsearch',
      'beat.k8s.elastic.co/v1beta1/Beat',
      'monitoring.coreos.com/v1/PrometheusRule',
      'monitoring.coreos.com/v1alpha1/AlertmanagerConfig',
      'flotilla.dev/v1alpha1/FederatedApp',
    ]) {
      expect(validator.customKinds).toContain(k);
    }
  });
  it.each([
    ['an unknown kind', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }, 'unknown', /unknown kind example\.com\/v1\/Widget/],
    ['a misspelt CRD field', { apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPPeer', metadata: { name: 'p' }, spec: { peerIp: '10.0.0.1' } }, 'crd', /additional properties \(peerIp\)/],
    ['a CRD field of the wrong type', { apiVersion: 'crd.projectcalico.org/v1', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: 'x' } }, 'crd', /asNumber must be integer/],
    ['a CRD enum violation', { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'd' }, spec: { mtls: { mode: 'ON' } } }, 'crd', /must be equal to one of the allowed values/],
    ['a FederatedApp without template', { apiVersion: 'flotilla.dev/v1alpha1', kind: 'FederatedApp', metadata: { name: 'a' }, spec: { replicas: 1 } }, 'crd', /must have required property 'template'/],
    ['a core object of the wrong shape', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 'two', selector: {}, template: {} } }, 'core', /replicas/],
    ['a core object with an unknown field', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, datas: {} }, 'core', /datas: unknown field of V1ConfigMap/],
    ['a nested unknown core field', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'c', image: 'x', resource: {} }] } } } }, 'core', /spec\.template\.spec\.containers\[0\]\.resource: unknown field of V1Container/],
    ['a core object missing a required field', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ name: 'x' }] } }, 'core', /port/],
    ['a FederatedApp with a non-positive target', { apiVersion: 'flotilla.dev/v1alpha1', kind: 'FederatedApp', metadata: { name: 'a' }, spec: { replicas: 1, template: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: {}, spec: {} }, autoscale: { query: 'q', targetPerReplica: 0, min: 1, max: 2 } } }, 'crd', /must be > 0/],
  ])('rejects %s', (_n, obj, via, msg) => {
    const r = validator.validate(obj);
    expect(r.ok).toBe(false);
    expect(r.via).toBe(via);
    expect(r.errors.join('\n')).toMatch(msg);
  });
});

describe.each(examples)('examples/%s', (file) => {
  it.each([false, true])('every object validates (airGapped=%s)', async (airGapped) => {
    const r = await loadSite(`examples/${file}`);
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    const synth = synthesizeSite(r.value, { airGapped });
    const objects: Array<[string, K8sObject]> = synth.clusters.flatMap((c) => c.components.flatMap((m) => m.objects.map((o) => [`${c.cluster}/${m.component}`, o] as [string, K8sObject])));
    expect(objects.length).toBeGreaterThan(20);
    const failures = objects
      .map(([where, o]) => ({ where: `${where} ${o.apiVersion}/${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`, r: validator.validate(o) }))
      .filter((x) => !x.r.ok)
      .map((x) => `${x.where}: ${x.r.errors.join('; ')}`);
    expect(failures).toEqual([]);
  });
});

describe('FederatedApp CRD', () => {
  it('every apps entry of the Federation contract example is a valid FederatedApp spec', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const fed = parse(await readFile(sharedPath('contract', 'federation.example.yaml'), 'utf8')) as { spec: { apps: Array<Record<string, unknown>> } };
    expect(fed.spec.apps.length).toBeGreaterThan(0);
    for (const { name, namespace, ...spec } of fed.spec.apps) {
      const r = validator.validate({ apiVersion: 'flotilla.dev/v1alpha1', kind: 'FederatedApp', metadata: { name, namespace }, spec });
      expect(r.errors).toEqual([]);
    }
  });
});

describe('optional construct features not used by the examples', () => {
  it('validate too (ACME DNS-01 webhook issuer and own TSIG Secret, FederatedApplication)', async () => {
    const { CertManagerIssuers, Dns01Solver, FederatedApplication, SiteIssuer } = await import('../../constructs/index');
    const { objectsOf } = await import('../synth/helpers');
    const objs = [
      ...objectsOf(
        (s) =>
          new CertManagerIssuers(s, 'i', {
            domain: 'sh1.example.com',
            issuer: SiteIssuer.acme({ email: 'ops@example.com', dns01: Dns01Solver.webhook({ groupName: 'acme.example.com', solverName: 'corpdns', config: { zone: 'sh1.example.com' } }) }),
          }),
      ),
      ...objectsOf(
        (s) =>
          new CertManagerIssuers(s, 'j', {
            domain: 'sh1.example.com',
            issuerName: 'own-tsig',
            issuer: SiteIssuer.acme({ email: 'ops@example.com', dns01: Dns01Solver.rfc2136({ nameserver: '10.10.0.53:53', tsigKeyName: 'k', tsigAlgorithm: 'HMACSHA512', tsigSecret: { name: 'tsig', key: 'secret' } }), http01: false }),
          }),
      ),
      ...objectsOf(
        (s) =>
          new FederatedApplication(s, 'web', {
            name: 'web',
            namespace: 'shop',
            replicas: 4,
            template: { apiVersion: 'apps/v1' as never, kind: 'Deployment' as never, metadata: { name: 'web' }, spec: { selector: {}, template: {} } },
            placement: { spread: 'duplicate' as never },
          }),
      ),
    ];
    expect(objs.length).toBeGreaterThan(2);
    for (const o of objs) expect(validator.validate(o).errors, `${o.kind}/${o.metadata.name}`).toEqual([]);
  });
});
