// The simulator serves FederatedApps "as if the CRD were installed": its copy of the CRD's structural
// schema (cluster-mgr/sim/crd-schema.ts, used for pruning) must be the CRD file's.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { federatedAppSchema, prune } from '../../cluster-mgr/sim/crd-schema';
import { CRD_FILE } from './targets';

describe('sim FederatedApp schema', () => {
  it('is read from constructs/crds/flotilla.dev_federatedapps.yaml (fields the CRD lists are kept, others pruned)', () => {
    const crd = parse(readFileSync(CRD_FILE, 'utf8')) as { spec: { versions: { name: string; schema: { openAPIV3Schema: unknown } }[] } };
    expect(federatedAppSchema()).toEqual(crd.spec.versions.find((v) => v.name === 'v1alpha1')!.schema.openAPIV3Schema);
    const app = { spec: { replicas: 1, placement: { clusters: ['a'], bogus: 1 }, autoscale: { query: 'q', targetPerReplica: 1, min: 1, max: 2, tolerance: 0.1, nope: true } } };
    prune(app, federatedAppSchema());
    expect(app.spec.placement).toEqual({ clusters: ['a'] });
    expect(app.spec.autoscale).toEqual({ query: 'q', targetPerReplica: 1, min: 1, max: 2, tolerance: 0.1 });
  });

  it('prunes like a structural schema: properties, additionalProperties, items, preserve-unknown-fields', () => {
    const schema = {
      type: 'object',
      properties: {
        a: { type: 'object', properties: { x: { type: 'string' } } },
        m: { type: 'object', additionalProperties: { type: 'object', properties: { y: { type: 'integer' } } } },
        l: { type: 'array', items: { type: 'object', properties: { z: { type: 'string' } } } },
        keep: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    };
    const v = { a: { x: '1', no: 1 }, m: { k: { y: 1, no: 2 } }, l: [{ z: 'z', no: 3 }], keep: { any: { thing: 1 } }, no: 4 };
    prune(v, schema);
    expect(v).toEqual({ a: { x: '1' }, m: { k: { y: 1 } }, l: [{ z: 'z' }], keep: { any: { thing: 1 } } });
  });
});
