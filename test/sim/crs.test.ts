// The FederatedApp custom resource on a simulated member: discovery, CRUD with the CRD's validation
// and defaults, watch, and the real kubectl (1.32): `apply --server-side` and `get fapp -A`.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type Sim } from '../../cluster-mgr/sim';
import { requireTools, which } from '../lab';
import { call, openWatch } from './helpers';

let sim: Sim;
let home: string;
let api: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sim-crs-home-'));
  sim = await startSim({ count: 1, nodesPerMember: 1, bookmarkIntervalMs: 300, watchWindow: 20 });
  api = sim.members[0]!.api;
});
afterAll(async () => {
  await sim?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

const template = (app: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: app },
  spec: {
    selector: { matchLabels: { app } },
    template: { metadata: { labels: { app } }, spec: { containers: [{ name: app, image: `registry.example.com/${app}:1` }] } },
  },
});
const fapp = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'flotilla.dev/v1alpha1', kind: 'FederatedApp', metadata: { name }, spec });
const base = '/apis/flotilla.dev/v1alpha1/namespaces/default/federatedapps';

describe('FederatedApp resource', () => {
  it('is discoverable', async () => {
    const groups = await call(api, 'GET', '/apis');
    expect(groups.body.groups.map((g: { name: string }) => g.name)).toContain('flotilla.dev');
    const list = await call(api, 'GET', '/apis/flotilla.dev/v1alpha1');
    const r = list.body.resources.find((x: { name: string }) => x.name === 'federatedapps');
    expect(r).toMatchObject({ kind: 'FederatedApp', namespaced: true, shortNames: ['fapp'] });
    expect(list.body.resources.map((x: { name: string }) => x.name)).toContain('federatedapps/status');
  });

  it('creates with defaults, rejects what the CRD schema rejects, 409 on stale writes, 404 after delete', async () => {
    const created = await call(api, 'POST', base, fapp('a1', { replicas: 2, template: template('a1'), placement: {} }));
    expect(created.status).toBe(201);
    expect(created.body.spec.placement.spread).toBe('capacity');
    expect(created.body.metadata.generation).toBe(1);
    for (const [spec, field] of [
      [{ replicas: -1, template: template('x') }, 'spec.replicas'],
      [{ replicas: 1 }, 'spec.template'],
      [{ replicas: 1, template: { ...template('x'), kind: 'StatefulSet' } }, 'spec.template.kind'],
      [{ replicas: 1, template: template('x'), placement: { spread: 'random' } }, 'spec.placement.spread'],
      [{ replicas: 1, template: template('x'), propagate: [{ kind: 'Service', name: 's' }] }, 'spec.propagate[0].kind'],
    ] as const) {
      const r = await call(api, 'POST', base, fapp('bad', spec));
      expect(r.status, JSON.stringify(spec)).toBe(422);
      expect(r.body.message).toContain(field);
    }
    const stale = { ...created.body, spec: { ...created.body.spec, replicas: 3 } };
    expect((await call(api, 'PUT', `${base}/a1`, stale)).status).toBe(200);
    expect((await call(api, 'PUT', `${base}/a1`, stale)).status).toBe(409);
    const status = await call(api, 'PATCH', `${base}/a1/status`, { status: { conditions: [{ type: 'Valid', status: 'True' }] } }, 'application/merge-patch+json');
    expect(status.status).toBe(200);
    expect(status.body.spec.replicas).toBe(3);
    expect((await call(api, 'DELETE', `${base}/a1`)).status).toBe(200);
    expect((await call(api, 'GET', `${base}/a1`)).status).toBe(404);
  });

  it('watches with bookmarks and 410 for a compacted resourceVersion', async () => {
    const w = await openWatch(api, '/apis/flotilla.dev/v1alpha1/federatedapps?watch=true&allowWatchBookmarks=true');
    try {
      await call(api, 'POST', base, fapp('w1', { replicas: 1, template: template('w1') }));
      await w.waitFor((e) => e.type === 'ADDED' && e.object.metadata.name === 'w1', 'ADDED w1');
      await w.waitFor((e) => e.type === 'BOOKMARK', 'a bookmark');
      await call(api, 'DELETE', `${base}/w1`);
      await w.waitFor((e) => e.type === 'DELETED' && e.object.metadata.name === 'w1', 'DELETED w1');
    } finally {
      w.stop();
    }
    for (let i = 0; i < 25; i++) await call(api, 'POST', base, fapp(`n${i}`, { replicas: 1, template: template('n') }));
    const gone = await call(api, 'GET', '/apis/flotilla.dev/v1alpha1/federatedapps?watch=true&resourceVersion=1&timeoutSeconds=1');
    expect(JSON.parse(gone.text.trim())).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
  });
});

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      which('kubectl') ?? 'kubectl',
      ['--kubeconfig', sim.members[0]!.kubeconfig, '--request-timeout', '5s', ...args],
      { env: { ...process.env, HOME: home, KUBECONFIG: '' }, timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const MANIFEST = `apiVersion: v1
kind: Namespace
metadata: { name: tools }
---
apiVersion: flotilla.dev/v1alpha1
kind: FederatedApp
metadata: { name: api, namespace: tools }
spec:
  replicas: 4
  template:
    apiVersion: apps/v1
    kind: Deployment
    metadata: { name: api }
    spec:
      selector: { matchLabels: { app: api } }
      template:
        metadata: { labels: { app: api } }
        spec: { containers: [{ name: api, image: registry.example.com/api:1 }] }
  placement: { spread: weighted }
`;

describe('kubectl and FederatedApps', () => {
  it('apply --server-side, get fapp -A, get -o yaml, delete', async (ctx) => {
    requireTools(ctx, ['kubectl']);
    const file = join(home, 'fapp.yaml');
    await writeFile(file, MANIFEST);
    const applied = await kubectl('apply', '--server-side', '-f', file);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('federatedapp.flotilla.dev/api serverside-applied');
    const got = await kubectl('get', 'fapp', '-A');
    expect(got.code, got.stderr).toBe(0);
    const lines = got.stdout.trim().split('\n');
    // A CRD with additionalPrinterColumns gets no default Age column (as on a real server).
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+REPLICAS\s+SPREAD\s*$/);
    expect(lines.some((l) => /^tools\s+api\s+4\s+weighted\s*$/.test(l))).toBe(true);
    // re-apply with a change: the same manager owns the field, no conflict
    await writeFile(file, MANIFEST.replace('replicas: 4', 'replicas: 6'));
    expect((await kubectl('apply', '--server-side', '-f', file)).code).toBe(0);
    const yaml = await kubectl('get', 'federatedapps', 'api', '-n', 'tools', '-o', 'jsonpath={.spec.replicas}');
    expect(yaml.stdout).toBe('6');
    const del = await kubectl('delete', 'fapp', 'api', '-n', 'tools');
    expect(del.code, del.stderr).toBe(0);
    expect(sim.member(sim.members[0]!.name).get('FederatedApp', 'tools', 'api')).toBeUndefined();
  });
});
