import { describe, expect, it } from 'vitest';
import { podRequests } from './pod-requests';

describe('podRequests', () => {
  it.each([
    ['no containers', undefined, { cpu: 0, memory: 0 }],
    ['sums requests', [{ resources: { requests: { cpu: '500m', memory: '512Mi' } } }, { resources: { requests: { cpu: 1, memory: '1Gi' } } }], { cpu: 1.5, memory: 1536 * 1024 ** 2 }],
    ['limits stand in for missing requests', [{ resources: { limits: { cpu: '2', memory: '1Gi' } } }], { cpu: 2, memory: 1024 ** 3 }],
    ['a request wins over its limit', [{ resources: { requests: { cpu: '100m' }, limits: { cpu: '2', memory: '64Mi' } } }], { cpu: 0.1, memory: 64 * 1024 ** 2 }],
    ['malformed and absent count 0', [{ resources: { requests: { cpu: 'lots' } } }, {}], { cpu: 0, memory: 0 }],
  ] as const)('%s', (_, containers, want) => {
    const got = podRequests(containers);
    expect(got.cpu).toBeCloseTo(want.cpu, 9);
    expect(got.memory).toBe(want.memory);
  });

  it('uses the injected parser', () => {
    const seen: unknown[] = [];
    podRequests([{ resources: { requests: { cpu: '1', memory: '1Mi' } } }], (q) => (seen.push(q), 1));
    expect(seen).toEqual(['1', '1Mi']);
  });
});
