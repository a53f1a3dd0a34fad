import { describe, expect, it } from 'vitest';
import { podRequests, type PodSpecResources } from './pod-requests';

const c = (cpu?: string, memory?: string, extra: Record<string, unknown> = {}) => ({ resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } }, ...extra });
const Mi = 1024 ** 2;

describe('podRequests (the scheduler rule)', () => {
  it.each<[string, PodSpecResources | undefined, { cpu: number; memory: number }]>([
    ['no spec', undefined, { cpu: 0, memory: 0 }],
    ['sums requests', { containers: [c('500m', '512Mi'), { resources: { requests: { cpu: 1, memory: '1Gi' } } }] }, { cpu: 1.5, memory: 1536 * Mi }],
    ['limits stand in for missing requests', { containers: [{ resources: { limits: { cpu: '2', memory: '1Gi' } } }] }, { cpu: 2, memory: 1024 * Mi }],
    ['a request wins over its limit', { containers: [{ resources: { requests: { cpu: '100m' }, limits: { cpu: '2', memory: '64Mi' } } }] }, { cpu: 0.1, memory: 64 * Mi }],
    ['malformed and absent count 0', { containers: [{ resources: { requests: { cpu: 'lots' } } }, {}] }, { cpu: 0, memory: 0 }],
    ['init container larger than the app: max rule', { containers: [c('500m', '100Mi')], initContainers: [c('2', '50Mi'), c('1', '300Mi')] }, { cpu: 2, memory: 300 * Mi }],
    ['init container smaller: the app wins', { containers: [c('1', '1Gi')], initContainers: [c('500m', '10Mi')] }, { cpu: 1, memory: 1024 * Mi }],
    ['sidecar (restartPolicy Always) adds to the app and to later inits', { containers: [c('1', '100Mi')], initContainers: [c('200m', '10Mi', { restartPolicy: 'Always' }), c('1', '100Mi')] }, { cpu: 1.2, memory: 110 * Mi }],
    ['pod overhead on top', { containers: [c('1', '100Mi')], overhead: { cpu: '250m', memory: '64Mi' } }, { cpu: 1.25, memory: 164 * Mi }],
    ['init limits stand in too', { containers: [c('100m')], initContainers: [{ resources: { limits: { cpu: '3' } } }] }, { cpu: 3, memory: 0 }],
  ])('%s', (_, spec, want) => {
    const got = podRequests(spec);
    expect(got.cpu).toBeCloseTo(want.cpu, 9);
    expect(got.memory).toBe(want.memory);
  });

  it('uses the injected parser', () => {
    const seen: unknown[] = [];
    podRequests({ containers: [{ resources: { requests: { cpu: '1', memory: '1Mi' } } }] }, (q) => (seen.push(q), 1));
    expect(seen).toEqual(['1', '1Mi']);
  });
});
