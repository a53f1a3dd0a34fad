// Split-brain guard and the last-member rule, end to end (cluster-mgr run child + sim + front HAProxy).
//   secondOpinion: front — a `partition` (cluster-mgr cannot reach the member's API; users and the
//   front HAProxy still reach its ingress) must NOT drain it: FederationFailoverBlocked instead.
//   A member that really fails (`down`, the front agrees) is drained; then the remaining member
//   failing too is kept at full weight (never drain the last member) with FederationFailoverBlocked.
import { describe, expect, it } from 'vitest';
import { requireTools, waitFor } from '../lab/index';
import type { Stack } from './stack';
import { useStack } from './use-stack';

describe('split-brain guard and last member (secondOpinion: front)', () => {
  const stack = useStack(['haproxy'], {
    health: { interval: '250ms', timeout: '200ms', failureThreshold: 3, successThreshold: 2, failbackAfter: '1s' },
    secondOpinion: 'front',
  });

  const blocked = async (s: Stack, member: string) => (await s.state()).alerts.some((a) => a.name === 'FederationFailoverBlocked' && a.labels.member === member);

  it('partition (front still sees the member up): not drained, FailoverBlocked; resolved when it heals', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    const s = stack()!;
    await s.sim.setFault('sh1-a', 'partition');
    try {
      await waitFor(async () => (await s.state()).clusters.find((c) => c.name === 'sh1-a')?.health === 'Unhealthy', { what: 'sh1-a Unhealthy for cluster-mgr', timeoutMs: 5000 });
      await waitFor(() => blocked(s, 'sh1-a'), { what: 'FederationFailoverBlocked for sh1-a', timeoutMs: 3000 });
      // Held for several more rounds: still serving at the front.
      await new Promise((r) => setTimeout(r, 1000));
      expect((await s.front())['sh1-a']).toMatchObject({ state: 'ready', weight: 256, checkUp: true });
      expect((await s.state()).apps[0]!.assignments['sh1-a']).toBeGreaterThan(0);
    } finally {
      await s.sim.setFault('sh1-a', 'none');
    }
    await waitFor(async () => !(await blocked(s, 'sh1-a')) && (await s.state()).clusters.every((c) => c.health === 'Healthy'), { what: 'guard alert resolved, all Healthy', timeoutMs: 10_000 });
  }, 30_000);

  it('a real failure is drained; the last member carrying traffic is never drained', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    const s = stack()!;
    await s.sim.setFault('sh1-a', 'down');
    try {
      await waitFor(async () => (await s.front())['sh1-a']?.state === 'drain', { what: 'sh1-a drained (front agrees it is down)', timeoutMs: 5000, intervalMs: 20 });
      await s.sim.setFault('sh1-b', '5xx');
      try {
        await waitFor(async () => (await s.state()).clusters.find((c) => c.name === 'sh1-b')?.health === 'Unhealthy', { what: 'sh1-b Unhealthy', timeoutMs: 5000 });
        await waitFor(() => blocked(s, 'sh1-b'), { what: 'FederationFailoverBlocked for sh1-b', timeoutMs: 3000 });
        await new Promise((r) => setTimeout(r, 750));
        expect((await s.front())['sh1-b']).toMatchObject({ state: 'ready', weight: 256 });
      } finally {
        await s.sim.setFault('sh1-b', 'none');
      }
    } finally {
      await s.sim.setFault('sh1-a', 'none');
    }
    await waitFor(async () => {
      const f = await s.front();
      return f['sh1-a']?.weight === 256 && f['sh1-b']?.weight === 256 && f['sh1-a']?.state === 'ready';
    }, { what: 'both back at full weight', timeoutMs: 20_000, intervalMs: 50 });
  }, 60_000);
});
