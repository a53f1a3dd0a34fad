// haproxy.cfg in front of the members' ingress endpoints: written only when infra/render provides
// renderFrontHaproxy (Site synthesis); then it must pass `haproxy -c`.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type Sim } from '../../cluster-mgr/sim';
import { requireTools, run } from '../lab';

let sim: Sim;
let hasRenderer = false;

beforeAll(async () => {
  const mod = (await import('../../infra/render/index')) as Record<string, unknown>;
  hasRenderer = typeof mod.renderFrontHaproxy === 'function';
  sim = await startSim({ count: 2, seedExample: false });
});
afterAll(async () => {
  await sim?.stop();
});

describe('front haproxy.cfg', () => {
  it('is written exactly when the renderer exists, and is a valid HAProxy config naming every member', async (ctx) => {
    expect(sim.haproxyError).toBeUndefined();
    if (!hasRenderer) {
      expect(sim.haproxyFile).toBeUndefined();
      expect(existsSync(`${sim.outDir}/haproxy.cfg`)).toBe(false);
      return;
    }
    requireTools(ctx, ['haproxy']);
    expect(sim.haproxyFile).toBe(`${sim.outDir}/haproxy.cfg`);
    const r = await run('haproxy', ['-c', '-f', sim.haproxyFile!], { timeoutMs: 10_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const { readFile } = await import('node:fs/promises');
    const cfg = await readFile(sim.haproxyFile!, 'utf8');
    for (const m of sim.members) expect(cfg).toMatch(new RegExp(`server ${m.name} 127\\.0\\.0\\.1:${new URL(m.ingress).port}\\b`));
  });
});
