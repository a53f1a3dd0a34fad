// The simulated member's Kubernetes API over HTTP: status codes, resourceVersion semantics, watch,
// server-side apply ownership, the scale subresource, Leases, and capacity-bound scheduling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type Sim } from '../../cluster-mgr/sim';
import { waitFor } from '../lab';
import { call, deployment, openWatch } from './helpers';

let sim: Sim;
let api: string;

beforeAll(async () => {
  sim = await startSim({ count: 1, nodesPerMember: 2, nodeCpu: '8', nodeMemory: '16Gi', nodePods: 40, bookmarkIntervalMs: 200, seedExample: false });
  api = sim.members[0]!.api;
  expect((await call(api, 'POST', '/api/v1/namespaces', { metadata: { name: 't' } })).status).toBe(201);
});
afterAll(async () => {
  await sim?.stop();
});

const CM = '/api/v1/namespaces/t/configmaps';

describe('CRUD semantics', () => {
  it('POST creates (201) with uid, creationTimestamp and a resourceVersion; a duplicate is 409 AlreadyExists', async () => {
    const r = await call(api, 'POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'v' } });
    expect(r.status).toBe(201);
    expect(r.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.metadata.creationTimestamp).toMatch(/Z$/);
    expect(Number(r.body.metadata.resourceVersion)).toBeGreaterThan(0);
    const dup = await call(api, 'POST', CM, { metadata: { name: 'a' } });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'AlreadyExists', code: 409 });
    expect(dup.body.message).toBe('configmaps "a" already exists');
  });

  it('GET of a missing object is 404 NotFound with a Status', async () => {
    const r = await call(api, 'GET', `${CM}/nope`);
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404, message: 'configmaps "nope" not found' });
    expect((await call(api, 'DELETE', `${CM}/nope`)).status).toBe(404);
    expect((await call(api, 'GET', '/apis/apps/v1/namespaces/t/deployments/nope')).body.message).toBe('deployments.apps "nope" not found');
  });

  it('creating in a missing namespace is 404', async () => {
    const r = await call(api, 'POST', '/api/v1/namespaces/missing/configmaps', { metadata: { name: 'x' } });
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('namespaces "missing" not found');
  });

  it('PUT with a stale resourceVersion is 409 Conflict; with the current one it succeeds and bumps it', async () => {
    const cur = (await call(api, 'GET', `${CM}/a`)).body;
    const ok = await call(api, 'PUT', `${CM}/a`, { ...cur, data: { k: 'v2' } });
    expect(ok.status).toBe(200);
    expect(Number(ok.body.metadata.resourceVersion)).toBeGreaterThan(Number(cur.metadata.resourceVersion));
    const stale = await call(api, 'PUT', `${CM}/a`, { ...cur, data: { k: 'v3' } });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
    expect(stale.body.message).toContain('the object has been modified');
    expect((await call(api, 'GET', `${CM}/a`)).body.data.k).toBe('v2');
  });

  it('a no-op PUT keeps the resourceVersion', async () => {
    const cur = (await call(api, 'GET', `${CM}/a`)).body;
    const r = await call(api, 'PUT', `${CM}/a`, cur);
    expect(r.body.metadata.resourceVersion).toBe(cur.metadata.resourceVersion);
  });

  it('merge, strategic-merge and JSON patches', async () => {
    let r = await call(api, 'PATCH', `${CM}/a`, { data: { m: '1', k: null } }, 'application/merge-patch+json');
    expect(r.body.data).toEqual({ m: '1' });
    r = await call(api, 'PATCH', `${CM}/a`, { data: { s: '2' }, $setElementOrder: [] }, 'application/strategic-merge-patch+json');
    expect(r.body.data).toEqual({ m: '1', s: '2' });
    r = await call(api, 'PATCH', `${CM}/a`, [{ op: 'replace', path: '/data/m', value: '3' }, { op: 'remove', path: '/data/s' }], 'application/json-patch+json');
    expect(r.body.data).toEqual({ m: '3' });
    r = await call(api, 'PATCH', `${CM}/a`, [{ op: 'test', path: '/data/m', value: 'wrong' }], 'application/json-patch+json');
    expect(r.status).toBe(422);
    r = await call(api, 'PATCH', `${CM}/a`, { data: {} }, 'text/plain');
    expect(r.status).toBe(415);
  });

  it('dryRun=All validates and answers without storing anything', async () => {
    const rv = (await call(api, 'GET', CM)).body.metadata.resourceVersion;
    const c = await call(api, 'POST', `${CM}?dryRun=All`, { metadata: { name: 'dry' } });
    expect(c.status).toBe(201);
    expect(c.body.metadata.name).toBe('dry');
    expect((await call(api, 'GET', `${CM}/dry`)).status).toBe(404);
    const d = await call(api, 'DELETE', `${CM}/a`, { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] });
    expect(d.status).toBe(200);
    expect((await call(api, 'GET', `${CM}/a`)).status).toBe(200);
    expect((await call(api, 'POST', `${CM}?dryRun=All`, { metadata: { name: 'a' } })).status).toBe(409);
    expect((await call(api, 'GET', CM)).body.metadata.resourceVersion).toBe(rv);
    expect((await call(api, 'POST', `${CM}?dryRun=Some`, { metadata: { name: 'x' } })).status).toBe(400);
  });

  it('label and field selectors filter lists', async () => {
    await call(api, 'POST', CM, { metadata: { name: 'l1', labels: { tier: 'web', env: 'a' } } });
    await call(api, 'POST', CM, { metadata: { name: 'l2', labels: { tier: 'db', env: 'a' } } });
    const names = async (q: string) => ((await call(api, 'GET', `${CM}?${q}`)).body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
    expect(await names('labelSelector=tier%3Dweb')).toEqual(['l1']);
    expect(await names('labelSelector=env%3Da%2Ctier%21%3Dweb')).toEqual(['l2']);
    expect(await names('labelSelector=tier%20in%20(web%2Cdb)')).toEqual(['l1', 'l2']);
    expect(await names('fieldSelector=metadata.name%3Dl2')).toEqual(['l2']);
    const bad = await call(api, 'GET', `${CM}?labelSelector=a%20b%20c`);
    expect(bad.status).toBe(400);
  });

  it('lists carry kind, apiVersion and the current resourceVersion', async () => {
    const r = await call(api, 'GET', '/api/v1/configmaps');
    expect(r.body.kind).toBe('ConfigMapList');
    expect(r.body.apiVersion).toBe('v1');
    expect(Number(r.body.metadata.resourceVersion)).toBeGreaterThan(0);
  });
});

describe('watch', () => {
  it('streams ADDED/MODIFIED/DELETED after the given resourceVersion, and BOOKMARKs when asked', async () => {
    const list = await call(api, 'GET', CM);
    const w = await openWatch(api, `${CM}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}&allowWatchBookmarks=true`);
    try {
      await call(api, 'POST', CM, { metadata: { name: 'w1' } });
      await call(api, 'PATCH', `${CM}/w1`, { data: { x: '1' } }, 'application/merge-patch+json');
      await call(api, 'DELETE', `${CM}/w1`);
      await w.waitFor((e) => e.type === 'DELETED' && e.object.metadata.name === 'w1', 'DELETED w1');
      const mine = w.events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`);
      expect(mine).toEqual(['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
      const bm = await w.waitFor((e) => e.type === 'BOOKMARK', 'a bookmark', 3000);
      expect(bm.object.kind).toBe('ConfigMap');
      expect(Number(bm.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(w.events.find((e) => e.type === 'DELETED')!.object.metadata.resourceVersion));
    } finally {
      w.stop();
    }
  });

  it('without resourceVersion starts with ADDED for every existing object', async () => {
    const w = await openWatch(api, `${CM}?watch=1&fieldSelector=metadata.name%3Da`);
    try {
      const e = await w.waitFor((x) => x.type === 'ADDED', 'initial ADDED');
      expect(e.object.metadata.name).toBe('a');
    } finally {
      w.stop();
    }
  });

  it('a label change out of the selector is a DELETED for a selector watch', async () => {
    const w = await openWatch(api, `${CM}?watch=1&labelSelector=tier%3Dweb`);
    try {
      await w.waitFor((x) => x.type === 'ADDED' && x.object.metadata.name === 'l1', 'ADDED l1');
      await call(api, 'PATCH', `${CM}/l1`, { metadata: { labels: { tier: 'cache' } } }, 'application/merge-patch+json');
      await w.waitFor((x) => x.type === 'DELETED' && x.object.metadata.name === 'l1', 'DELETED l1');
    } finally {
      w.stop();
    }
  });

  it('ends after timeoutSeconds', async () => {
    const w = await openWatch(api, `${CM}?watch=1&timeoutSeconds=1`);
    const t0 = performance.now();
    await Promise.race([w.ended, new Promise((_, rej) => setTimeout(() => rej(new Error('watch did not end')), 3000))]);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(2500);
    // …and not before: timeoutSeconds=1 counts from the request (opened just before t0).
    expect(ms).toBeGreaterThanOrEqual(900);
  });
});

describe('410 Gone', () => {
  it('a watch from a resourceVersion older than the retained window gets an ERROR event with a 410 Status', async () => {
    const small = await startSim({ count: 1, names: ['gone'], watchWindow: 5, nodesPerMember: 1, seedExample: false });
    try {
      const a = small.members[0]!.api;
      const start = (await call(a, 'GET', '/api/v1/namespaces/default/configmaps')).body.metadata.resourceVersion;
      for (let i = 0; i < 10; i++) await call(a, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `c${i}` } });
      const w = await openWatch(a, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${start}`);
      await w.ended;
      expect(w.events).toHaveLength(1);
      expect(w.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
      // A recent resourceVersion still works.
      const rv = (await call(a, 'GET', '/api/v1/namespaces/default/configmaps')).body.metadata.resourceVersion;
      const w2 = await openWatch(a, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`);
      await call(a, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'late' } });
      await w2.waitFor((e) => e.type === 'ADDED' && e.object.metadata.name === 'late', 'ADDED late');
      w2.stop();
    } finally {
      await small.stop();
    }
  });
});

describe('server-side apply', () => {
  const path = '/apis/apps/v1/namespaces/t/deployments/ssa';
  const apply = (body: unknown, manager: string, force = false) =>
    call(api, 'PATCH', `${path}?fieldManager=${manager}${force ? '&force=true' : ''}`, JSON.stringify(body), 'application/apply-patch+yaml');

  it('creates, records managedFields, conflicts with another manager, and force takes ownership', async () => {
    const created = await apply(deployment('ssa', 2), 'cluster-mgr');
    expect(created.status).toBe(201);
    const mf = created.body.metadata.managedFields as { manager: string; operation: string; fieldsV1: Record<string, unknown> }[];
    expect(mf.find((m) => m.manager === 'cluster-mgr')).toMatchObject({ operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } });
    // Re-applying the same config is a no-op (controllers may have written status in between).
    const before = (await call(api, 'GET', path)).body;
    const again = await apply(deployment('ssa', 2), 'cluster-mgr');
    expect(again.status).toBe(200);
    expect(again.body.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    // Another manager applying a different replicas value conflicts…
    const c = await apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ssa' }, spec: { replicas: 5 } }, 'someone-else');
    expect(c.status).toBe(409);
    expect(c.body.reason).toBe('Conflict');
    expect(c.body.message).toContain('conflict with "cluster-mgr": .spec.replicas');
    expect(c.body.details.causes[0]).toMatchObject({ reason: 'FieldManagerConflict', field: '.spec.replicas' });
    // …the same value is shared ownership, not a conflict…
    expect((await apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ssa' }, spec: { replicas: 2 } }, 'someone-else')).status).toBe(200);
    // …and force moves the field.
    const f = await apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ssa' }, spec: { replicas: 5 } }, 'someone-else', true);
    expect(f.status).toBe(200);
    expect(f.body.spec.replicas).toBe(5);
    const owners = (f.body.metadata.managedFields as { manager: string; fieldsV1: { 'f:spec'?: Record<string, unknown> } }[])
      .filter((m) => m.fieldsV1['f:spec']?.['f:replicas'])
      .map((m) => m.manager);
    expect(owners).toEqual(['someone-else']);
  });

  it('a field dropped from a manager’s applied config is removed when nobody else owns it', async () => {
    const withLabel = { ...deployment('ssa2', 1), metadata: { name: 'ssa2', labels: { a: '1', b: '2' } } };
    await call(api, 'PATCH', '/apis/apps/v1/namespaces/t/deployments/ssa2?fieldManager=m1', JSON.stringify(withLabel), 'application/apply-patch+yaml');
    const r = await call(
      api,
      'PATCH',
      '/apis/apps/v1/namespaces/t/deployments/ssa2?fieldManager=m1',
      JSON.stringify({ ...withLabel, metadata: { name: 'ssa2', labels: { a: '1' } } }),
      'application/apply-patch+yaml',
    );
    expect(r.body.metadata.labels).toEqual({ a: '1' });
  });

  it('apply without fieldManager is 400', async () => {
    const r = await call(api, 'PATCH', path, JSON.stringify(deployment('ssa', 2)), 'application/apply-patch+yaml');
    expect(r.status).toBe(400);
  });
});

describe('deployments, scale subresource and capacity', () => {
  const base = '/apis/apps/v1/namespaces/t/deployments';
  const pods = async (app: string) =>
    ((await call(api, 'GET', `/api/v1/namespaces/t/pods?labelSelector=app%3D${app}`)).body.items as {
      metadata: { name: string };
      spec: { nodeName?: string };
      status: { phase: string; conditions?: { type: string; status: string; reason?: string }[] };
    }[]);

  it('a Deployment materialises Running pods named <deploy>-<hash>-<rand> and reports status', async () => {
    expect((await call(api, 'POST', base, deployment('web', 3))).status).toBe(201);
    const d = await waitFor(async () => {
      const x = (await call(api, 'GET', `${base}/web`)).body;
      return x.status?.readyReplicas === 3 ? x : undefined;
    }, { what: 'web ready 3/3', timeoutMs: 5000 });
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
    const ps = await pods('web');
    expect(ps).toHaveLength(3);
    for (const p of ps) {
      expect(p.metadata.name).toMatch(/^web-[a-z0-9]{10}-[a-z0-9]{5}$/);
      expect(p.status.phase).toBe('Running');
      expect(p.spec.nodeName).toMatch(/^sim-1-node-\d$/);
    }
  });

  it('the scale subresource: GET, PUT (with a stale resourceVersion → 409), PATCH; pods follow', async () => {
    const s = await call(api, 'GET', `${base}/web/scale`);
    expect(s.body).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 }, status: { replicas: 3, selector: 'app=web' } });
    const put = await call(api, 'PUT', `${base}/web/scale`, { ...s.body, spec: { replicas: 4 } });
    expect(put.status).toBe(200);
    expect(put.body.spec.replicas).toBe(4);
    const stale = await call(api, 'PUT', `${base}/web/scale`, { ...s.body, spec: { replicas: 1 } });
    expect(stale.status).toBe(409);
    const patched = await call(api, 'PATCH', `${base}/web/scale`, { spec: { replicas: 2 } }, 'application/merge-patch+json');
    expect(patched.body.spec.replicas).toBe(2);
    await waitFor(async () => (await pods('web')).length === 2, { what: '2 web pods', timeoutMs: 5000 });
    const d = (await call(api, 'GET', `${base}/web`)).body;
    expect(d.metadata.generation).toBe(3);
    const bad = await call(api, 'PATCH', `${base}/web/scale`, { spec: { replicas: -1 } }, 'application/merge-patch+json');
    expect(bad.status).toBe(422);
  });

  it('writes to the main resource keep status; /status writes keep spec', async () => {
    const d = (await call(api, 'GET', `${base}/web`)).body;
    const r = await call(api, 'PUT', `${base}/web`, { ...d, status: { replicas: 99 } });
    expect(r.body.status.replicas).toBe(2);
    const s = await call(api, 'PATCH', `${base}/web/status`, { spec: { replicas: 7 }, status: { replicas: 2 } }, 'application/merge-patch+json');
    expect(s.status).toBe(200);
    expect(s.body.spec.replicas).toBe(2);
  });

  it('pods consume node capacity: what does not fit stays Pending (Unschedulable) until capacity appears; delete cascades', async () => {
    const small = await startSim({ count: 1, names: ['cap'], nodesPerMember: 2, nodeCpu: '2', nodeMemory: '4Gi', seedExample: false });
    try {
      const a = small.members[0]!.api;
      const m = small.member('cap');
      const cpods = async () =>
        ((await call(a, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dbig')).body.items as {
          spec: { nodeName?: string };
          status: { phase: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
        }[]);
      expect(m.freeCapacity()).toMatchObject({ cpu: 4000, memory: 8 * 2 ** 30 });
      // 2 nodes × 2 cpu; 6 pods × 700m: 2 fit per node, 2 stay Pending.
      expect((await call(a, 'POST', '/apis/apps/v1/namespaces/default/deployments', deployment('big', 6, '700m', '256Mi'))).status).toBe(201);
      const settled = await waitFor(async () => {
        const ps = await cpods();
        return ps.length === 6 && ps.every((p) => p.spec.nodeName || p.status.conditions?.some((c) => c.reason === 'Unschedulable')) ? ps : undefined;
      }, { what: '6 big pods settled', timeoutMs: 5000 });
      const pending = settled.filter((p) => !p.spec.nodeName);
      expect(settled.length - pending.length).toBe(4);
      expect(pending.length).toBe(2);
      for (const p of pending) {
        expect(p.status.phase).toBe('Pending');
        expect(p.status.conditions![0]!.message).toContain('2 Insufficient cpu');
      }
      expect(m.freeCapacity().cpu).toBe(4000 - 4 * 700);
      const d = await waitFor(async () => {
        const x = (await call(a, 'GET', '/apis/apps/v1/namespaces/default/deployments/big')).body;
        return x.status?.readyReplicas === 4 ? x : undefined;
      }, { what: 'big 4 ready', timeoutMs: 5000 });
      expect(d.status.unavailableReplicas).toBe(2);
      expect(d.status.conditions.find((c: { type: string }) => c.type === 'Available').status).toBe('False');
      // More capacity: the Pending pods get scheduled.
      m.setNodeCapacity('cap-node-1', { cpu: '4' });
      await waitFor(async () => (await cpods()).every((p) => p.spec.nodeName), { what: 'all big pods scheduled', timeoutMs: 5000 });
      // Cascade: the ReplicaSet and pods go with the Deployment.
      const del = await call(a, 'DELETE', '/apis/apps/v1/namespaces/default/deployments/big');
      expect(del.status).toBe(200);
      expect(del.body).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'big', group: 'apps', kind: 'deployments' } });
      await waitFor(async () => (await cpods()).length === 0, { what: 'big pods gone', timeoutMs: 5000 });
      expect((await call(a, 'GET', '/apis/apps/v1/namespaces/default/replicasets')).body.items).toEqual([]);
      expect(m.freeCapacity().cpu).toBe(6000);
    } finally {
      await small.stop();
    }
  });

  it('a NotReady node makes its pods NotReady and the Deployment unavailable', async () => {
    const m = sim.member('sim-1');
    const nodeOf = (await pods('web')).map((p) => p.spec.nodeName!);
    for (const n of new Set(nodeOf)) m.setNodeReady(n, false);
    await waitFor(async () => (await call(api, 'GET', `${base}/web`)).body.status.readyReplicas === undefined, { what: 'web not ready', timeoutMs: 5000 });
    for (const n of new Set(nodeOf)) m.setNodeReady(n, true);
    await waitFor(async () => (await call(api, 'GET', `${base}/web`)).body.status.readyReplicas === 2, { what: 'web ready again', timeoutMs: 5000 });
  });
});

describe('defaulting and validation', () => {
  const base = '/apis/apps/v1/namespaces/t/deployments';
  it('fills the server defaults a real API server would', async () => {
    const r = await call(api, 'POST', base, { ...deployment('defaults', 1), spec: { ...deployment('defaults', 1).spec, replicas: undefined } });
    expect(r.status).toBe(201);
    expect(r.body.spec).toMatchObject({ replicas: 1, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } });
    expect(r.body.spec.template.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30 });
    expect(r.body.spec.template.spec.containers[0]).toMatchObject({ imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' });
    const s = await call(api, 'POST', '/api/v1/namespaces/t/secrets', { metadata: { name: 'sec' }, data: { a: 'Yg==' } });
    expect(s.body.type).toBe('Opaque');
  });

  it.each([
    ['a selector that does not match the template labels', { selector: { matchLabels: { app: 'x' } } }, 'spec.template.metadata.labels', '`selector` does not match template `labels`'],
    ['no selector', { selector: undefined }, 'spec.selector', 'Required value'],
    ['negative replicas', { replicas: -2 }, 'spec.replicas', 'must be greater than or equal to 0'],
  ])('rejects %s with 422 naming the field', async (_what, specPatch, field, msg) => {
    const d = deployment('bad', 1);
    const r = await call(api, 'POST', base, { ...d, spec: { ...d.spec, ...specPatch } });
    expect(r.status).toBe(422);
    expect(r.body.reason).toBe('Invalid');
    expect(r.body.message).toContain(`${field}: `);
    expect(r.body.message).toContain(msg);
    expect(r.body.details.causes[0].field).toBe(field);
  });
});

describe('leases', () => {
  const base = '/apis/coordination.k8s.io/v1/namespaces/t/leases';
  it('create, renew with the current resourceVersion, conflict on a stale one', async () => {
    const now = new Date().toISOString().replace('Z', '000Z');
    const c = await call(api, 'POST', base, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'cluster-mgr' },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 4, acquireTime: now, renewTime: now, leaseTransitions: 0 },
    });
    expect(c.status).toBe(201);
    expect((await call(api, 'POST', base, { metadata: { name: 'cluster-mgr' } })).status).toBe(409);
    const renewed = await call(api, 'PUT', `${base}/cluster-mgr`, { ...c.body, spec: { ...c.body.spec, renewTime: new Date(Date.now() + 1000).toISOString() } });
    expect(renewed.status).toBe(200);
    // A contender holding the old copy loses.
    const steal = await call(api, 'PUT', `${base}/cluster-mgr`, { ...c.body, spec: { ...c.body.spec, holderIdentity: 'b' } });
    expect(steal.status).toBe(409);
    expect((await call(api, 'GET', `${base}/cluster-mgr`)).body.spec.holderIdentity).toBe('a');
  });
});

describe('discovery, tables, health', () => {
  it('serves /version, /api, /apis, resource lists with short names and the scale subresource', async () => {
    expect((await call(api, 'GET', '/version')).body).toMatchObject({ major: '1', minor: '32' });
    expect((await call(api, 'GET', '/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const groups = (await call(api, 'GET', '/apis')).body;
    expect(groups.groups.map((g: { name: string }) => g.name)).toEqual(expect.arrayContaining(['apps', 'coordination.k8s.io']));
    const core = (await call(api, 'GET', '/api/v1')).body.resources as { name: string; shortNames?: string[]; namespaced: boolean }[];
    const short = Object.fromEntries(core.filter((r) => r.shortNames).map((r) => [r.name, r.shortNames]));
    expect(short).toMatchObject({ pods: ['po'], nodes: ['no'], namespaces: ['ns'], configmaps: ['cm'], persistentvolumeclaims: ['pvc'] });
    expect(core.find((r) => r.name === 'nodes')!.namespaced).toBe(false);
    const apps = (await call(api, 'GET', '/apis/apps/v1')).body.resources as { name: string; group?: string; kind: string; shortNames?: string[] }[];
    expect(apps.find((r) => r.name === 'deployments')!.shortNames).toEqual(['deploy']);
    expect(apps.find((r) => r.name === 'deployments/scale')).toMatchObject({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
  });

  it('Table output for kubectl get', async () => {
    const r = await call(api, 'GET', '/api/v1/nodes', undefined, undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    expect(r.body.kind).toBe('Table');
    expect(r.body.columnDefinitions.filter((c: { priority: number }) => c.priority === 0).map((c: { name: string }) => c.name)).toEqual(['Name', 'Status', 'Roles', 'Age', 'Version']);
    expect(r.body.rows[0].cells.slice(0, 3)).toEqual(['sim-1-node-1', 'Ready', 'worker']);
    expect(r.body.rows[0].object.kind).toBe('PartialObjectMetadata');
  });

  it('/healthz, /livez, /readyz answer ok; OpenAPI v3 advertises fieldValidation on PATCH', async () => {
    for (const p of ['/healthz', '/livez', '/readyz']) expect((await call(api, 'GET', p)).text).toBe('ok');
    const idx = (await call(api, 'GET', '/openapi/v3')).body;
    const url = idx.paths['apis/apps/v1'].serverRelativeURL as string;
    const doc = (await call(api, 'GET', url)).body;
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'apps', version: 'v1', kind: 'Deployment' });
    expect(patch.parameters.map((p: { name: string }) => p.name)).toContain('fieldValidation');
    expect((await call(api, 'GET', '/openapi/v2')).status).toBe(404);
  });
});

describe('options', () => {
  it('per-member capacity overrides and a pod readiness delay', async () => {
    const s = await startSim({ names: ['a', 'b'], perMember: { b: { nodes: 1, nodeCpu: '1', nodeMemory: '2Gi', nodePods: 5 } }, podReadyDelayMs: 300, seedExample: false });
    try {
      expect(s.member('a').list('nodes')).toHaveLength(3);
      const bNodes = s.member('b').list('nodes');
      expect(bNodes).toHaveLength(1);
      expect(bNodes[0]!.status.allocatable).toMatchObject({ cpu: '1', memory: '2Gi', pods: '5' });
      const a = s.members[0]!.api;
      const t0 = performance.now();
      expect((await call(a, 'POST', '/apis/apps/v1/namespaces/default/deployments', deployment('slowready', 2))).status).toBe(201);
      const running = await waitFor(() => {
        const ps = s.member('a').list('pods', 'default');
        return ps.length === 2 && ps.every((p) => p.status.phase === 'Running') ? ps : undefined;
      }, { what: '2 running pods', timeoutMs: 5000 });
      // Bound and Running, but not Ready until the delay has passed.
      if (performance.now() - t0 < 250) expect(s.member('a').readyPods('default')).toBe(0);
      expect(running).toHaveLength(2);
      await waitFor(() => s.member('a').readyPods('default') === 2, { what: '2 ready pods', timeoutMs: 5000 });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(300);
    } finally {
      await s.stop();
    }
  });

  it.each([
    [{ names: ['a'], perMember: { z: { nodes: 1 } } }, /perMember\.z: no member named "z"/],
    [{ names: ['UPPER'] }, /not a DNS label/],
    [{ host: '10.0.0.1' }, /not a loopback address/],
    [{ count: 0 }, /expected 1 to 50/],
  ])('rejects bad options %j', async (opts, msg) => {
    await expect(startSim({ ...opts, seedExample: false })).rejects.toThrow(msg);
  });
});

describe('rolling update', () => {
  it('a template change rolls pods over within maxSurge/maxUnavailable and keeps the old ReplicaSet at 0', async () => {
    const s = await startSim({ names: ['roll'], nodesPerMember: 2, podReadyDelayMs: 150, seedExample: false, bookmarkIntervalMs: 60_000 });
    try {
      const a = s.members[0]!.api;
      const m = s.member('roll');
      const base = '/apis/apps/v1/namespaces/default/deployments';
      const d = deployment('ru', 4);
      await call(a, 'POST', base, { ...d, spec: { ...d.spec, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } } });
      await waitFor(() => m.readyPods('default') === 4, { what: '4 ready', timeoutMs: 5000 });
      // Watch every pod change during the rollout and check the invariants on each.
      const rv = (await call(a, 'GET', '/api/v1/namespaces/default/pods')).body.metadata.resourceVersion;
      const w = await openWatch(a, `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}`);
      let maxPods = 0;
      let minReady = Infinity;
      const unsubscribe = m.store.subscribe(() => {
        const pods = m.list('pods', 'default');
        maxPods = Math.max(maxPods, pods.length);
        minReady = Math.min(minReady, m.readyPods('default'));
      });
      try {
        const r = await call(a, 'PATCH', `${base}/ru`, { spec: { template: { spec: { containers: [{ name: 'c', image: 'example.com/app:2' }] } } } }, 'application/strategic-merge-patch+json');
        expect(r.status).toBe(200);
        await waitFor(() => {
          const pods = m.list('pods', 'default');
          return pods.length === 4 && pods.every((p) => p.spec.containers[0].image === 'example.com/app:2') && m.readyPods('default') === 4;
        }, { what: 'all 4 pods on image 2 and ready', timeoutMs: 10_000 });
      } finally {
        unsubscribe();
        w.stop();
      }
      expect(maxPods).toBeLessThanOrEqual(5); // want + maxSurge
      expect(minReady).toBeGreaterThanOrEqual(3); // want - maxUnavailable
      const rss = m.list('rs', 'default');
      expect(rss).toHaveLength(2);
      expect(rss.map((x) => x.spec.replicas).sort()).toEqual([0, 4]);
      expect(rss.map((x) => x.metadata.annotations['deployment.kubernetes.io/revision']).sort()).toEqual(['1', '2']);
      const dep = (await call(a, 'GET', `${base}/ru`)).body;
      expect(dep.status).toMatchObject({ replicas: 4, updatedReplicas: 4, readyReplicas: 4, observedGeneration: 2 });
    } finally {
      await s.stop();
    }
  });
});
