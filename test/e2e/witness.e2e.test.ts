// Split-brain guard with a witness URL (traffic.witness, secondOpinion: witness): cluster-mgr's probes
// fail (API partition) but the witness still sees the member up → not drained, FailoverBlocked; the
// witness not answering → still not drained (no agreement); the witness agreeing (503) → drained.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools, requireTools, waitFor } from '../lab/index';
import { startStack, type Stack } from './stack';

describe('split-brain guard with a witness URL', () => {
  let stack: Stack | undefined;
  let witness: Server | undefined;
  /** What the witness says about sh1-a: up (200), down (503) or no verdict (404). */
  let verdict: 'up' | 'down' | 'unknown' = 'up';
  const asked: string[] = [];

  beforeAll(async () => {
    if (missingTools(['haproxy']).length > 0) return;
    witness = createServer((req, res) => {
      const member = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
      asked.push(member);
      const v = member === 'sh1-a' ? verdict : 'up';
      res.writeHead(v === 'up' ? 200 : v === 'down' ? 503 : 404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(v === 'unknown' ? {} : { up: v === 'up' }));
    });
    await new Promise<void>((r) => witness!.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(witness.address() as AddressInfo).port}/member/{member}`;
    stack = await startStack({ health: { interval: '250ms', timeout: '200ms', failureThreshold: 3, successThreshold: 2, failbackAfter: '1s' }, witness: url, secondOpinion: 'witness' });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    if (witness) await new Promise((r) => witness!.close(r));
  }, 30_000);

  it('drains only when the witness agrees', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    const s = stack!;
    const blocked = async () => (await s.state()).alerts.some((a) => a.name === 'FederationFailoverBlocked' && a.labels.member === 'sh1-a');
    await s.sim.setFault('sh1-a', 'partition');
    try {
      await waitFor(async () => (await s.state()).clusters.find((c) => c.name === 'sh1-a')?.health === 'Unhealthy', { what: 'sh1-a Unhealthy for cluster-mgr', timeoutMs: 5000 });
      await waitFor(blocked, { what: 'FailoverBlocked (witness sees it up)', timeoutMs: 3000 });
      expect(asked).toContain('sh1-a');
      expect((await s.front())['sh1-a']).toMatchObject({ state: 'ready', weight: 256 });

      verdict = 'unknown';
      await new Promise((r) => setTimeout(r, 750)); // three passes without a verdict
      expect((await s.front())['sh1-a']).toMatchObject({ state: 'ready', weight: 256 });

      verdict = 'down';
      const t0 = performance.now();
      await waitFor(async () => (await s.front())['sh1-a']?.state === 'drain', { what: 'drained once the witness agrees', timeoutMs: 3000, intervalMs: 20 });
      console.log(`witness: drained ${Math.round(performance.now() - t0)} ms after the witness agreed`);
      await waitFor(async () => !(await blocked()), { what: 'FailoverBlocked resolved by the failover', timeoutMs: 3000 });
    } finally {
      verdict = 'up';
      await s.sim.setFault('sh1-a', 'none');
    }
    await waitFor(async () => (await s.front())['sh1-a']?.weight === 256, { what: 'sh1-a back', timeoutMs: 20_000, intervalMs: 50 });
  }, 60_000);
});
