import { describe, expect, it } from 'vitest';
import { describeStuck, shareReady, waitVerdict, type DeploymentReadiness } from './readiness';

const d = (patch: Partial<DeploymentReadiness> = {}): DeploymentReadiness => ({ replicas: 3, generation: 2, observedGeneration: 2, updatedReplicas: 3, availableReplicas: 3, ...patch });

describe('shareReady', () => {
  it.each<[string, DeploymentReadiness | undefined, number, boolean]>([
    ['all caught up', d(), 3, true],
    ['controller has not seen the new spec (observedGeneration < generation)', d({ observedGeneration: 1 }), 3, false],
    ['old-template pods only (updatedReplicas short)', d({ updatedReplicas: 1 }), 3, false],
    ['not available yet', d({ availableReplicas: 2 }), 3, false],
    ['the Deployment asks for another count', d({ replicas: 2 }), 3, false],
    ['more than the share available', d({ replicas: 3, availableReplicas: 4, updatedReplicas: 4 }), 3, true],
    ['no Deployment, share 0', undefined, 0, true],
    ['no Deployment, share > 0', undefined, 1, false],
    ['scaled to 0', d({ replicas: 0, updatedReplicas: 0, availableReplicas: 0 }), 0, true],
    ['status fields missing count as 0', { replicas: 2 }, 2, false],
  ])('%s', (_, dep, want, ready) => expect(shareReady(dep, want)).toBe(ready));
});

describe('waitVerdict (readyTimeout ends every wait)', () => {
  it.each<[boolean, number, 'ready' | 'waiting' | 'timed-out']>([
    [true, 500_000, 'ready'],
    [false, 119_999, 'waiting'],
    [false, 120_000, 'timed-out'],
  ])('ready=%s after %d ms → %s', (ready, now, want) => expect(waitVerdict(ready, 0, now, 120_000)).toBe(want));
});

describe('describeStuck', () => {
  it('names pods and reasons, bounded', () => {
    const pods = Array.from({ length: 12 }, (_, i) => ({ member: 'b', pod: `shop/web-${i}`, reason: 'ImagePullBackOff' }));
    const text = describeStuck(pods);
    expect(text).toContain('b: shop/web-0 ImagePullBackOff');
    expect(text).toMatch(/and 2 more$/);
    expect(describeStuck([])).toMatch(/no pod reported/);
  });
});
