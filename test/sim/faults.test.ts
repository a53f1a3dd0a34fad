// Fault injection: each mode behaves as documented in docs/sim.md, through the fault URL and setFault.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type Sim } from '../../cluster-mgr/sim';
import { canConnect, waitFor } from '../lab';
import { call, openWatch } from './helpers';

let sim: Sim;
let api: string;
let ingress: string;
let fault: string;

beforeAll(async () => {
  sim = await startSim({ count: 1, names: ['f1'], nodesPerMember: 1, slowMs: 400, seedExample: false });
  ({ api, ingress, fault } = sim.members[0]!);
  await call(api, 'POST', '/apis/apps/v1/namespaces/default/deployments', {
    metadata: { name: 'app' },
    spec: { replicas: 2, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  });
});
afterAll(async () => {
  await sim?.stop();
});

/** Outcome of one GET within `ms`: status code, 'refused' or 'timeout'. */
async function probe(url: string, ms = 600): Promise<number | 'refused' | 'timeout'> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(ms) });
    await r.text();
    return r.status;
  } catch (e) {
    const err = e as { name?: string; cause?: { code?: string } };
    if (err.name === 'TimeoutError') return 'timeout';
    if (err.cause?.code === 'ECONNREFUSED') return 'refused';
    throw e;
  }
}

const setMode = async (mode: string) => {
  const r = await call(fault.replace(/\/fault$/, ''), 'POST', '/fault', { mode });
  expect(r.status).toBe(200);
  expect(r.body.mode).toBe(mode);
};

const port = (u: string) => Number(new URL(u).port);

describe('fault modes', () => {
  it('none: API and ingress answer; the ingress reports the member and its ready pods', async () => {
    expect(await probe(`${api}/readyz`)).toBe(200);
    await waitFor(() => sim.member('f1').readyPods() === 2, { what: '2 ready pods', timeoutMs: 5000 });
    const r = await call(ingress, 'GET', '/');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ member: 'f1', readyPods: 2 });
    expect((await call(fault.replace(/\/fault$/, ''), 'GET', '/fault')).body.mode).toBe('none');
  });

  it('down: API and ingress refuse connections; state is kept and both come back on the same ports', async () => {
    await setMode('down');
    expect(await probe(`${api}/readyz`)).toBe('refused');
    expect(await probe(`${ingress}/`)).toBe('refused');
    await setMode('none');
    expect(await probe(`${api}/readyz`)).toBe(200);
    expect((await call(api, 'GET', '/apis/apps/v1/namespaces/default/deployments/app')).body.spec.replicas).toBe(2);
    expect((await call(ingress, 'GET', '/')).body.readyPods).toBe(2);
  });

  it('hang: connections are accepted but never answered (API and ingress)', async () => {
    await setMode('hang');
    expect(await canConnect('127.0.0.1', port(api))).toBe(true);
    expect(await probe(`${api}/readyz`, 500)).toBe('timeout');
    expect(await probe(`${ingress}/`, 500)).toBe('timeout');
    await setMode('none');
    expect(await probe(`${api}/readyz`)).toBe(200);
  });

  it('slow: answers after the configured delay', async () => {
    await setMode('slow');
    const t0 = performance.now();
    expect(await probe(`${api}/readyz`, 2000)).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
    const t1 = performance.now();
    expect(await probe(`${ingress}/`, 2000)).toBe(200);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(390);
    await setMode('none');
    const t2 = performance.now();
    expect(await probe(`${api}/readyz`)).toBe(200);
    expect(performance.now() - t2).toBeLessThan(300);
  });

  it('5xx: every request is 503, readyz and ingress included', async () => {
    await setMode('5xx');
    expect(await probe(`${api}/readyz`)).toBe(503);
    const r = await call(api, 'GET', '/api/v1/nodes');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ kind: 'Status', code: 503, reason: 'ServiceUnavailable' });
    expect(await probe(`${ingress}/`)).toBe(503);
    await setMode('none');
    expect(await probe(`${api}/readyz`)).toBe(200);
  });

  it('partition: the API hangs while the ingress still serves', async () => {
    await setMode('partition');
    expect(await probe(`${api}/readyz`, 500)).toBe('timeout');
    expect(await probe(`${ingress}/`)).toBe(200);
    await setMode('none');
    expect(await probe(`${api}/readyz`)).toBe(200);
  });

  it('a watch open across a hang receives the events held back once the member answers again', async () => {
    const rv = (await call(api, 'GET', '/api/v1/namespaces/default/configmaps')).body.metadata.resourceVersion;
    const w = await openWatch(api, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`);
    try {
      await sim.setFault('f1', 'hang');
      sim.member('f1').store.create(sim.member('f1').resource('configmaps'), { metadata: { name: 'during-hang' } }, 'default');
      await new Promise((r) => setImmediate(r));
      expect(w.events).toHaveLength(0);
      await sim.setFault('f1', 'none');
      await w.waitFor((e) => e.type === 'ADDED' && e.object.metadata.name === 'during-hang', 'held event after recovery', 3000);
    } finally {
      w.stop();
    }
  });

  it('rejects an unknown mode with a message naming the field and the choices', async () => {
    const r = await call(fault.replace(/\/fault$/, ''), 'POST', '/fault', { mode: 'explode' });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('mode: got "explode", expected one of none, down, hang, slow, 5xx, partition');
    await expect(sim.setFault('f1', 'explode' as never)).rejects.toThrow(/unknown fault mode "explode"/);
    await expect(sim.setFault('nope', 'down')).rejects.toThrow(/no simulated member named "nope"/);
  });
});
