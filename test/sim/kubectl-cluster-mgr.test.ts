// The "kubectl against the simulator" check end to end: cluster-mgr (in process) spreads the
// example app over two simulated members, and the real kubectl shows what it wrote on each member.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../cluster-mgr/daemon/main';
import { readyPods, startEnv, startInProcess, type Env } from '../cluster-mgr/harness';
import { requireTools, waitFor } from '../lab';
import { runKubectl } from './helpers';

let env: Env;
let cm: Running;
let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sim-kubectl-cm-home-'));
  // sim-1: 3 × 4 cpu, sim-2: 3 × 2 cpu → the example app (6 × 500m) splits 4 : 2 by capacity.
  env = await startEnv({ names: ['sim-1', 'sim-2'], perMember: { 'sim-2': { nodeCpu: '2' } } }, { health: { interval: '500ms', timeout: '400ms' } });
  cm = await startInProcess(env);
});
afterAll(async () => {
  await cm?.stop();
  await env?.sim.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

function kubectl(member: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runKubectl(env.sim.members.find((m) => m.name === member)!.kubeconfig, home, args);
}

describe('kubectl shows what cluster-mgr wrote', () => {
  it('get deploy / get pods / get cm / describe on each member match the capacity split', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    await waitFor(() => {
      const r = readyPods(env.sim);
      return r['sim-1'] === 4 && r['sim-2'] === 2;
    }, { timeoutMs: 20_000, what: '4/2 ready pods' });
    for (const [member, n] of [['sim-1', 4], ['sim-2', 2]] as const) {
      const deploy = await kubectl(member, 'get', 'deploy', '-n', 'shop');
      expect(deploy.code, deploy.stderr).toBe(0);
      expect(deploy.stdout).toMatch(new RegExp(`^web\\s+${n}/${n}\\s+${n}\\s+${n}\\s`, 'm'));
      const pods = await kubectl(member, 'get', 'pods', '-n', 'shop', '--no-headers');
      expect(pods.stdout.trim().split('\n').filter((l) => /^web-\S+\s+1\/1\s+Running/.test(l))).toHaveLength(n);
      const cm = await kubectl(member, 'get', 'configmap', 'web-config', '-n', 'shop', '-o', 'jsonpath={.data}');
      expect(cm.code, cm.stderr).toBe(0);
      expect(cm.stdout).toContain('greeting.txt');
      const json = JSON.parse((await kubectl(member, 'get', 'deploy', 'web', '-n', 'shop', '-o', 'json', '--show-managed-fields')).stdout);
      expect(json.spec.replicas).toBe(n);
      expect((json.metadata.managedFields as { manager: string; operation: string }[]).some((f) => f.manager === 'cluster-mgr' && f.operation === 'Apply')).toBe(true);
      const describe = await kubectl(member, 'describe', 'deployment', 'web', '-n', 'shop');
      expect(describe.stdout).toMatch(new RegExp(`^Replicas:\\s+${n} desired \\| ${n} updated \\| ${n} total \\| ${n} available \\| 0 unavailable$`, 'm'));
      expect(describe.stdout).toContain('app.kubernetes.io/managed-by=cluster-mgr');
    }
  });
});
