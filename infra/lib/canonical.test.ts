import { describe, expect, it } from 'vitest';
import { canonical, canonicalJson } from './canonical';

describe('canonical', () => {
  it('canonical JSON is independent of key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 3 } })).toBe(canonicalJson({ a: { c: 3, d: [2, { y: 2, z: 1 }] }, b: 1 }));
    expect(canonicalJson({ b: 1, a: 2 }).indexOf('"a"')).toBeLessThan(canonicalJson({ b: 1, a: 2 }).indexOf('"b"'));
    expect(canonicalJson({ a: 1 }).endsWith('}\n')).toBe(true);
  });
  it('puts apiVersion, kind, metadata first at the top of a manifest, and does not mutate', () => {
    const obj = { spec: { b: 1, a: 2 }, metadata: { name: 'x' }, kind: 'K', apiVersion: 'v1' };
    expect(Object.keys(canonical(obj, true) as object)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(Object.keys((canonical(obj, true) as { spec: object }).spec)).toEqual(['a', 'b']);
    expect(Object.keys(obj)).toEqual(['spec', 'metadata', 'kind', 'apiVersion']);
  });
});
