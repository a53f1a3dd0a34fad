// haproxy.cfg in front of the members' ingress endpoints: written exactly when the caller injects a
// renderer (`renderFront`, infra/render's renderFrontHaproxy); then it must pass `haproxy -c`.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFrontHaproxy } from '../../infra/render/front';
import { startSim, type Sim } from '../../cluster-mgr/sim';
import { requireTools, run } from '../lab';

let sim: Sim;
let bare: Sim;

beforeAll(async () => {
  sim = await startSim({ count: 2, seedExample: false, renderFront: renderFrontHaproxy });
  bare = await startSim({ count: 1, seedExample: false });
});
afterAll(async () => {
  await Promise.all([sim?.stop(), bare?.stop()]);
});

describe('front haproxy.cfg', () => {
  it('is not written without an injected renderer', () => {
    expect(bare.haproxyFile).toBeUndefined();
    expect(bare.haproxyError).toBeUndefined();
    expect(existsSync(`${bare.outDir}/haproxy.cfg`)).toBe(false);
  });

  it('with renderFront: a valid HAProxy config naming every member', async (ctx) => {
    expect(sim.haproxyError).toBeUndefined();
    expect(sim.haproxyFile).toBe(`${sim.outDir}/haproxy.cfg`);
    const cfg = await readFile(sim.haproxyFile!, 'utf8');
    for (const m of sim.members) expect(cfg).toMatch(new RegExp(`server ${m.name} 127\\.0\\.0\\.1:${new URL(m.ingress).port}\\b`));
    requireTools(ctx, ['haproxy']);
    const r = await run('haproxy', ['-c', '-f', sim.haproxyFile!], { timeoutMs: 10_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
  });
});
