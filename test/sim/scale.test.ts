// Load: many Deployments on one member settle in bounded time and the controllers stay incremental
// (a regression to full re-reconciles on every change makes this quadratic and slow).
import { describe, expect, it } from 'vitest';
import { startSim } from '../../cluster-mgr/sim';
import { waitFor } from '../lab';
import { call, deployment } from './helpers';

describe('scale', () => {
  it('200 Deployments × 3 pods applied one by one settle within 20 s; idle afterwards', async () => {
    const N = 200;
    const sim = await startSim({ names: ['load'], nodesPerMember: 10, nodeCpu: '64', nodeMemory: '256Gi', nodePods: 500, seedExample: false });
    try {
      const api = sim.members[0]!.api;
      const m = sim.member('load');
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < N; i++) {
        const r = await call(api, 'PATCH', `/apis/apps/v1/namespaces/default/deployments/app-${i}?fieldManager=load&force=true`, JSON.stringify(deployment(`app-${i}`, 3, '100m', '64Mi')), 'application/apply-patch+yaml');
        expect(r.status).toBe(201);
      }
      await waitFor(() => m.readyPods('default') === 3 * N, { what: `${3 * N} ready pods`, timeoutMs: 20_000, intervalMs: 100 });
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      console.log(`sim scale: ${N} Deployments × 3 settled in ${Math.round(ms)} ms, ${Math.round((cpu.user + cpu.system) / 1000)} ms CPU (client included)`);
      expect(ms).toBeLessThan(20_000);
      const deploys = m.list('deploy', 'default');
      expect(deploys).toHaveLength(N);
      expect(deploys.every((d) => d.status?.readyReplicas === 3)).toBe(true);
      // Nothing left to do: no writes while idle.
      const rv = (await call(api, 'GET', '/api/v1/namespaces/default/pods')).body.metadata.resourceVersion;
      await new Promise((r) => setTimeout(r, 300));
      expect((await call(api, 'GET', '/api/v1/namespaces/default/pods')).body.metadata.resourceVersion).toBe(rv);
    } finally {
      await sim.stop();
    }
  });
});
