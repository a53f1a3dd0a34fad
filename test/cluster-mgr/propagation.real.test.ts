// cluster-mgr propagation on REAL control planes (issue 11 item 4): a source ConfigMap edited →
// every member has the new data within 2 s; a propagated object deleted at the source (or dropped
// from the app) disappears from members; a member namespace deleted by hand comes back, with its
// copies and Deployment. A Service is copied without what the source allocated (clusterIP, nodePorts:
// cluster-mgr owns none of those fields on the member) and follows source edits; a PersistentVolume is
// created once (reclaim policy Retain) and never deleted — not even when dropped from the app. The source is member mgr-a (API only); mgr-b is a full control plane (its
// namespace controller finishes the deletion). cluster-mgr runs in this process (runDaemon).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFederation } from '../../cluster-mgr/config/index';
import { runDaemon, type Running } from '../../cluster-mgr/daemon/main';
import { k8sAssets, labKubeconfig, requireK8s, startControlPlanes, waitFor, type ControlPlane } from '../lab';

const NS = 'shop';
let cps: ControlPlane[] = [];
let dir = '';
const cp = (name: string) => cps.find((c) => c.name === name)!;

beforeAll(async () => {
  if (!k8sAssets().ok) return;
  dir = mkdtempSync(join(tmpdir(), 'cm-prop-real-'));
  cps = await startControlPlanes([
    { name: 'prop-a', apiOnly: true },
    { name: 'prop-b', nodes: [{ name: 'worker-1', cpu: '8', memory: '16Gi' }] },
  ]);
  for (const c of cps) {
    writeFileSync(join(dir, `${c.name}.token`), c.adminToken, { mode: 0o600 });
    writeFileSync(join(dir, `${c.name}.kubeconfig`), labKubeconfig({ name: c.name, server: c.server, caPem: c.caPem, tokenFile: join(dir, `${c.name}.token`) }), { mode: 0o600 });
  }
}, 180_000);

afterAll(async () => {
  await Promise.all(cps.map((c) => c.stop()));
});

async function must(c: ControlPlane, method: string, path: string, body?: unknown, contentType?: string): Promise<void> {
  const r = await c.api(method, path, body, contentType);
  if (r.status >= 300) throw new Error(`${c.name} ${method} ${path} → ${r.status}: ${JSON.stringify(r.body)}`);
}

const cmData = async (c: ControlPlane, name: string) => {
  const r = await c.api<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${NS}/configmaps/${name}`);
  return r.status === 200 ? (r.body.data ?? {}) : undefined;
};
const exists = async (c: ControlPlane, path: string) => (await c.api('GET', path)).status === 200;
const rvOf = async (c: ControlPlane, path: string) => Number((await c.api<{ metadata: { resourceVersion: string } }>('GET', path)).body.metadata.resourceVersion);

interface Svc {
  metadata: { labels?: Record<string, string>; managedFields?: { manager: string; fieldsV1?: Record<string, unknown> }[] };
  spec: { clusterIP?: string; ports: { port: number; nodePort?: number }[] };
}
/** The spec fields the manager `cluster-mgr` owns on an object (server-side apply's managedFields), as JSON. */
const ownedByClusterMgr = (o: Svc): string => JSON.stringify(o.metadata.managedFields?.filter((f) => f.manager === 'cluster-mgr').map((f) => f.fieldsV1) ?? []);

async function startCm(): Promise<Running> {
  const doc = {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Federation',
    metadata: { name: 'prop-real' },
    spec: {
      members: cps.map((c) => ({ name: c.name, kubeconfig: `./${c.name}.kubeconfig` })),
      health: { interval: '500ms', timeout: '1s', failureThreshold: 3, successThreshold: 1, failbackAfter: '1s' },
      apps: [
        {
          name: 'web',
          namespace: NS,
          replicas: 2,
          template: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            spec: {
              selector: { matchLabels: { app: 'web' } },
              template: {
                metadata: { labels: { app: 'web' } },
                spec: { containers: [{ name: 'web', image: 'registry.example.com/web:1', resources: { requests: { cpu: '100m' } } }], volumes: [{ name: 'cfg', configMap: { name: 'web-config' } }] },
              },
            },
          },
          placement: { spread: 'weighted', clusters: ['prop-b'] },
          propagate: [
            { kind: 'ConfigMap', name: 'web-config' },
            { kind: 'Secret', name: 'web-secret' },
            { kind: 'ConfigMap', name: 'web-extra' },
            { kind: 'Service', name: 'web' },
            { kind: 'PersistentVolume', name: 'web-data' },
          ],
        },
      ],
    },
  };
  const file = join(dir, 'federation.yaml');
  writeFileSync(file, stringify(doc));
  const fed = await loadFederation(file);
  if (!fed.ok) throw new Error(JSON.stringify(fed.errors));
  const log = pino({ level: 'info' }, pino.destination({ dest: join(dir, 'cluster-mgr.log'), sync: true, append: true }));
  return runDaemon({ federation: fed.value, configFile: file, apps: fed.value.spec.apps, listen: { host: '127.0.0.1', port: 0 }, log });
}

describe('cluster-mgr propagation on real control planes', () => {
  it('edits reach members within 2 s; deletions at the source and from the app remove copies; a deleted namespace comes back', async (ctx) => {
    requireK8s(ctx);
    const src = cp('prop-a');
    const member = cp('prop-b');
    await must(src, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    for (const name of ['web-config', 'web-extra']) {
      await must(src, 'POST', `/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v: '1' } });
    }
    await must(src, 'POST', `/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-secret' }, stringData: { token: 's3cret' } });
    await must(src, 'POST', `/api/v1/namespaces/${NS}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { tier: 'v1' } },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    await must(src, 'POST', '/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'web-data' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteMany'], persistentVolumeReclaimPolicy: 'Delete', nfs: { server: '10.0.0.5', path: '/exports/web' } },
    });
    const srcSvc = (await src.api<Svc>('GET', `/api/v1/namespaces/${NS}/services/web`)).body;
    expect(srcSvc.spec.ports[0]!.nodePort).toBeGreaterThan(0); // the source allocated one
    const d = await startCm();
    try {
      // Objects before the Deployment that mounts them: when the Deployment exists, so does its ConfigMap.
      await waitFor(() => exists(member, `/apis/apps/v1/namespaces/${NS}/deployments/web`), { timeoutMs: 30_000, what: 'the Deployment on prop-b' });
      expect(await cmData(member, 'web-config')).toEqual({ v: '1' });
      expect(await exists(member, `/api/v1/namespaces/${NS}/secrets/web-secret`)).toBe(true);
      const cmRv = Number((await member.api<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${NS}/configmaps/web-config`)).body.metadata.resourceVersion);
      const depRv = Number((await member.api<{ metadata: { resourceVersion: string } }>('GET', `/apis/apps/v1/namespaces/${NS}/deployments/web`)).body.metadata.resourceVersion);
      expect(cmRv).toBeLessThan(depRv);
      // Service and PV before the Deployment too; the Service's allocated fields are the member's own.
      expect(await rvOf(member, `/api/v1/namespaces/${NS}/services/web`)).toBeLessThan(depRv);
      expect(await rvOf(member, '/api/v1/persistentvolumes/web-data')).toBeLessThan(depRv);
      const svc = (await member.api<Svc>('GET', `/api/v1/namespaces/${NS}/services/web`)).body;
      expect(svc.spec.ports[0]).toMatchObject({ port: 80 });
      expect(svc.spec.ports[0]!.nodePort).toBeGreaterThan(0); // allocated by the member
      expect(svc.spec.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const owned = ownedByClusterMgr(svc);
      expect(owned).toContain('"f:selector"');
      expect(owned).not.toContain('f:clusterIP');
      expect(owned).not.toContain('f:nodePort');
      const pv = (await member.api<{ spec: { persistentVolumeReclaimPolicy: string; nfs: unknown } }>('GET', '/api/v1/persistentvolumes/web-data')).body;
      expect(pv.spec).toMatchObject({ persistentVolumeReclaimPolicy: 'Retain', nfs: { server: '10.0.0.5', path: '/exports/web' } });

      // A source Service edit reaches the member (watched).
      await must(src, 'PATCH', `/api/v1/namespaces/${NS}/services/web`, { metadata: { labels: { tier: 'v2' } } }, 'application/merge-patch+json');
      await waitFor(async () => (await member.api<Svc>('GET', `/api/v1/namespaces/${NS}/services/web`)).body.metadata.labels?.tier === 'v2', {
        timeoutMs: 2000,
        intervalMs: 50,
        what: 'the edited Service on prop-b',
      });

      // A source edit reaches the member within 2 s (watched, not polled at the resync interval).
      await must(src, 'PUT', `/api/v1/namespaces/${NS}/configmaps/web-config`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: NS }, data: { v: '2' } });
      await waitFor(async () => (await cmData(member, 'web-config'))?.v === '2', { timeoutMs: 2000, intervalMs: 50, what: 'the edited ConfigMap on prop-b' });

      // Deleted at the source → deleted on the member.
      await must(src, 'DELETE', `/api/v1/namespaces/${NS}/configmaps/web-extra`);
      await waitFor(async () => !(await exists(member, `/api/v1/namespaces/${NS}/configmaps/web-extra`)), { timeoutMs: 5000, intervalMs: 50, what: 'web-extra gone from prop-b' });

      // Dropped from the app → deleted on the member; the others stay.
      const app = d.daemon['apps'].get(`${NS}/web`)!;
      d.daemon.setApps([{ ...app, propagate: app.propagate.filter((p) => p.name !== 'web-secret' && p.kind !== 'Service' && p.kind !== 'PersistentVolume') }]);
      await waitFor(async () => !(await exists(member, `/api/v1/namespaces/${NS}/secrets/web-secret`)), { timeoutMs: 5000, intervalMs: 50, what: 'web-secret gone from prop-b' });
      await waitFor(async () => !(await exists(member, `/api/v1/namespaces/${NS}/services/web`)), { timeoutMs: 5000, intervalMs: 50, what: 'the Service gone from prop-b' });
      expect(await cmData(member, 'web-config')).toEqual({ v: '2' });
      expect(await exists(member, '/api/v1/persistentvolumes/web-data')).toBe(true); // data: never deleted

      // The member namespace deleted by hand comes back with its copy and its Deployment.
      await must(member, 'DELETE', `/api/v1/namespaces/${NS}`);
      await waitFor(async () => (await member.api<{ status?: { phase?: string } }>('GET', `/api/v1/namespaces/${NS}`)).body.status?.phase !== 'Terminating', {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'the namespace deleted (or recreated) on prop-b',
      });
      await waitFor(async () => (await cmData(member, 'web-config'))?.v === '2' && (await exists(member, `/apis/apps/v1/namespaces/${NS}/deployments/web`)), {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: 'namespace, ConfigMap and Deployment back on prop-b',
      });
    } finally {
      await d.stop();
    }
  }, 180_000);
});
