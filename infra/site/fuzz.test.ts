// Property test: mutated inventories (dropped, duplicated, retyped fields; random strings; huge
// numbers; overlapping CIDRs) never make validation throw; the result is a model or errors with paths.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseSite } from './index';

const bases = ['examples/bj1.yaml', 'examples/sh1.yaml', 'examples/customer-airgap.yaml'].map((f) => parse(readFileSync(f, 'utf8')) as unknown);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** All paths to values in a JSON tree. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function getAt(root: unknown, path: (string | number)[]): unknown {
  let cur = root as Record<string | number, unknown>;
  for (const p of path) cur = cur?.[p] as Record<string | number, unknown>;
  return cur;
}

function setAt(root: unknown, path: (string | number)[], value: unknown, mode: 'set' | 'drop' | 'dup'): void {
  if (path.length === 0) return;
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown> | unknown[];
  const key = path[path.length - 1]!;
  if (parent === null || typeof parent !== 'object') return;
  if (mode === 'drop') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string, unknown>)[key];
  } else if (mode === 'dup' && Array.isArray(parent)) {
    parent.splice(key as number, 0, structuredClone(parent[key as number]));
  } else {
    (parent as Record<string | number, unknown>)[key] = value;
  }
}

const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, 1e308, -1, 0, 2 ** 32, Number.NaN, Infinity),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('10.244.0.0/16', '10.96.0.0/12', '10.10.1.0/24', '10.0.0.0/8', '0.0.0.0/0', '10.10.1.11', '999.1.1.1/8'),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string(), { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const mutation = fc.record({
  base: fc.nat({ max: bases.length - 1 }),
  steps: fc.array(
    fc.record({ pick: fc.nat(), mode: fc.constantFrom('set', 'drop', 'dup', 'set') as fc.Arbitrary<'set' | 'drop' | 'dup'>, value: weirdValue }),
    { minLength: 1, maxLength: 5 },
  ),
});

describe('validate under fuzzing', () => {
  it('never throws; returns a model or errors with paths and positions', () => {
    fc.assert(
      fc.property(mutation, ({ base, steps }) => {
        const doc = structuredClone(bases[base]) as Json;
        for (const step of steps) {
          const all = paths(doc);
          const path = all[step.pick % all.length]!;
          setAt(doc, path, step.value, step.mode);
        }
        let text: string;
        try {
          text = stringify(doc);
        } catch {
          return; // not representable as YAML; nothing to validate
        }
        const r = parseSite(text, 'fuzz.yaml');
        if (r.ok) {
          expect(r.value.metadata.name).toMatch(/^[a-z0-9-]+$/);
        } else {
          expect(r.errors.length).toBeGreaterThan(0);
          for (const e of r.errors) {
            expect(typeof e.path).toBe('string');
            expect(e.path.length).toBeGreaterThan(0);
            expect(e.line).toBeGreaterThanOrEqual(1);
            expect(e.message.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('overlapping CIDRs are always caught', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 24 }), fc.integer({ min: 0, max: 2 }), (prefix, which) => {
        const doc = structuredClone(bases[0]) as { spec: { network: { podCIDR: string; serviceCIDR: string; blockSize: number } } };
        doc.spec.network.podCIDR = '10.128.0.0/9';
        doc.spec.network.blockSize = 26;
        const nets = [`10.128.0.0/${Math.max(prefix, 9)}`, '10.0.0.0/8', `10.200.0.0/${Math.max(prefix, 13)}`];
        doc.spec.network.serviceCIDR = nets[which]!;
        const r = parseSite(stringify(doc));
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.errors.some((e) => e.path === 'spec.network.podCIDR' && /overlaps/.test(e.message))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('random text never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const r = parseSite(text);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});
