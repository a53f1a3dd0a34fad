// Canary releases and file logs of FederatedApps on simulated members: the daemon writes the
// stable and the canary Deployment (and the DestinationRule/VirtualService once), `logs.files`
// mounts the per-pod log folder; `cluster-mgr canary promote|rollback` (the real CLI process) moves
// the weights in steps on every member and stops with a clear error, weights unchanged, when the
// canary never gets ready.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerCanary } from '../../cluster-mgr/cli/canary';
import { cliProgram, runCli } from '../../cluster-mgr/cli/exit';
import type { Running } from '../../cluster-mgr/daemon/main';
import { BASELINE_ANNOTATION, readWeights } from '../../cluster-mgr/core/canary';
import { POD_LOGS_HOST_PATH } from '../../infra/lib/pod-logs';
import { waitFor } from '../lab/wait';
import { deploymentTemplate } from './app-doc';
import { startEnv, startInProcess, type Env } from './harness';

const run = promisify(execFile);
let env: Env | undefined;
let cm: Running | undefined;

const app = (name: string, canary: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name,
  namespace: 'shop',
  replicas: 2,
  placement: { spread: 'duplicate' },
  template: deploymentTemplate(name, { containers: [{ name: 'web', image: `registry.example.com/${name}:1.0`, resources: { requests: { cpu: '100m', memory: '64Mi' } } }] }),
  canary,
  ...extra,
});

beforeAll(async () => {
  env = await startEnv(
    { names: ['sim-1', 'sim-2'], seedExample: false },
    {
      health: { interval: '300ms', timeout: '250ms' },
      apps: [
        app('web', { version: 'v2', image: 'registry.example.com/web:2.0', replicas: 1, weight: 10 }, { logs: { files: true } }),
        // a canary that can never be scheduled (more CPU than any node has): never ready
        app('stuck', {
          version: 'v2',
          template: { metadata: { labels: { app: 'stuck' } }, spec: { containers: [{ name: 'web', image: 'registry.example.com/stuck:2.0', resources: { requests: { cpu: '64', memory: '64Mi' } } }] } },
        }),
      ],
    },
  );
  cm = await startInProcess(env);
});
afterAll(async () => {
  await cm?.stop();
  await env?.sim.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- reading nested fields of stored objects
const get = (member: string, kind: string, name: string) => env!.sim.member(member).get(kind, 'shop', name) as Record<string, any> | undefined;
const canaryWeight = (member: string, name: string) => {
  const vs = get(member, 'VirtualService', name);
  const w = vs ? readWeights(vs) : undefined;
  return w?.ok ? w.value.canary : undefined;
};
const cli = async (...args: string[]) =>
  run(process.execPath, [join(process.cwd(), 'bin/cluster-mgr.mjs'), 'canary', ...args, '--config', env!.configFile], { timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('the daemon', () => {
  it('writes the stable and the canary Deployment and the routing on every member', async () => {
    for (const m of ['sim-1', 'sim-2']) {
      await waitFor(() => get(m, 'Deployment', 'web-canary') && get(m, 'VirtualService', 'web') && get(m, 'DestinationRule', 'web'), { timeoutMs: 15_000, what: `web, web-canary and its routing on ${m}` });
      const stable = get(m, 'Deployment', 'web')!;
      const canary = get(m, 'Deployment', 'web-canary')!;
      expect(stable.spec.replicas).toBe(2);
      expect(stable.spec.template.metadata.labels).toEqual({ app: 'web', version: 'stable' });
      expect(stable.spec.selector.matchLabels).toEqual({ app: 'web' });
      expect(stable.spec.template.spec.containers[0].image).toBe('registry.example.com/web:1.0');
      expect(canary.spec.replicas).toBe(1);
      expect(canary.spec.selector.matchLabels).toEqual({ app: 'web', version: 'v2' });
      expect(canary.spec.template.metadata.labels).toEqual({ app: 'web', version: 'v2' });
      expect(canary.spec.template.spec.containers[0].image).toBe('registry.example.com/web:2.0');
      expect(canary.metadata.labels['flotilla.dev/federated-app']).toBe('web');
      const dr = get(m, 'DestinationRule', 'web')!;
      expect(dr.spec.subsets).toEqual([
        { name: 'stable', labels: { version: 'stable' } },
        { name: 'canary', labels: { version: 'v2' } },
      ]);
      expect(canaryWeight(m, 'web')).toBe(10);
    }
  });

  it('mounts the per-pod log folder into stable and canary pods (logs.files)', async () => {
    for (const name of ['web', 'web-canary']) {
      const spec = get('sim-1', 'Deployment', name)!.spec.template.spec;
      expect(spec.volumes).toContainEqual({ name: 'pod-logs', hostPath: { path: POD_LOGS_HOST_PATH, type: 'DirectoryOrCreate' } });
      expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'pod-logs', mountPath: '/var/log/app', subPathExpr: '$(POD_NAMESPACE)_$(POD_NAME)' });
      expect(spec.containers[0].env.map((e: { name: string }) => e.name)).toEqual(['POD_NAMESPACE', 'POD_NAME']);
    }
    // an app without logs.files gets no mount
    await waitFor(() => get('sim-1', 'Deployment', 'stuck'), { timeoutMs: 10_000, what: 'shop/stuck on sim-1' });
    expect(get('sim-1', 'Deployment', 'stuck')!.spec.template.spec.volumes).toBeUndefined();
  });
});

describe('cluster-mgr canary', () => {
  it('promotes in steps to 100 on every member, then rolls back to the weight before the promote', async () => {
    await waitFor(() => (get('sim-1', 'Deployment', 'web-canary')?.status?.readyReplicas ?? 0) >= 1 && (get('sim-2', 'Deployment', 'web-canary')?.status?.readyReplicas ?? 0) >= 1, {
      timeoutMs: 15_000,
      what: 'the canary ready on both members',
    });
    const before = structuredClone(get('sim-1', 'VirtualService', 'web')!.spec);
    const up = await cli('promote', 'web', '--steps', '25,50', '--step-timeout', '10s');
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/sim-1: shop\/web stable 75% \/ canary 25%\n[^]*sim-1: shop\/web stable 50% \/ canary 50%\n[^]*sim-1: shop\/web stable 0% \/ canary 100%/);
    for (const m of ['sim-1', 'sim-2']) {
      expect(canaryWeight(m, 'web')).toBe(100);
      expect(get(m, 'VirtualService', 'web')!.metadata.annotations[BASELINE_ANNOTATION]).toBe('10');
    }
    const down = await cli('rollback', 'web', '--steps', '25,50', '--step-timeout', '10s');
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toMatch(/canary 50%[^]*canary 25%[^]*canary 10%/);
    for (const m of ['sim-1', 'sim-2']) {
      expect(get(m, 'VirtualService', 'web')!.spec).toEqual(before);
      expect(get(m, 'VirtualService', 'web')!.metadata.annotations?.[BASELINE_ANNOTATION]).toBeUndefined();
    }
  });

  it('stops with a clear error and unchanged weights when the canary is never ready', async () => {
    await waitFor(() => get('sim-1', 'VirtualService', 'stuck') && get('sim-2', 'VirtualService', 'stuck'), { timeoutMs: 15_000, what: 'shop/stuck routing' });
    const r = await cli('promote', 'stuck', '--step-timeout', '1s');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: promote of shop\/stuck stopped before step 1 of 4: on member sim-1 the Deployment shop\/stuck-canary has 0 of 1 replicas ready after 1s; the weights stay at sim-1 canary 0%, sim-2 canary 0% — fix the canary/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    for (const m of ['sim-1', 'sim-2']) expect(canaryWeight(m, 'stuck')).toBe(0);
  });

  it.each([
    [['promote', 'web', '--steps', '50,20'], /--steps "50,20": steps 50,20 must increase strictly/, 2],
    [['promote', 'web', '--step-timeout', 'soon'], /--step-timeout "soon" is not a duration/, 2],
    [['rollback', 'nope'], /no member has the VirtualService default\/nope: declare spec.canary/, 1],
  ])('refuses %j with a message and its exit code (in process)', async (args, msg, code) => {
    const r = await inProcess([...args, '--config', env!.configFile]);
    expect(r.stderr).toMatch(msg);
    expect(r.code).toBe(code);
  });
});

/** The canary command through commander in this process (stderr captured), as bin/cluster-mgr runs it. */
async function inProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  const program = cliProgram('cluster-mgr', 'test');
  registerCanary(program);
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  const before = process.exitCode;
  try {
    await runCli(program, ['node', 'cluster-mgr', 'canary', ...args]);
    return { code: Number(process.exitCode ?? 0), stderr };
  } finally {
    spy.mockRestore();
    process.exitCode = before;
  }
}
