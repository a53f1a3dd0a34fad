// The API behaviours cluster-mgr relies on, written once and run against two targets: the simulator
// (test/conformance/sim.test.ts) and a real kube-apiserver (real.test.ts, real-ipv6.test.ts). A case
// the simulator does not model carries `simGap` (the reason); docs/sim.md lists it next to the
// real-server test that covers it, and the sim run checks that listing instead of skipping.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { KubeClient, KubeMember } from '../../cluster-mgr/adapters/kube';
import { FederatedAppSchema } from '../../cluster-mgr/config/schema';
import { labKubeconfig, waitFor } from '../lab';
import type { WatchEvent, WatchStream } from './client';
import type { Target } from './targets';

export interface Case {
  /** describe() block. */
  readonly group: string;
  /** The behaviour, as listed in docs/sim.md. */
  readonly title: string;
  /** Why the simulator does not model this (then docs/sim.md must list it as a gap). */
  readonly simGap?: string;
  /** Runs only on a target started with `ipv6: true`. */
  readonly ipv6?: boolean;
  readonly timeoutMs?: number;
  /** Started right after the target (in beforeAll), so long waits overlap the other cases. */
  prepare?(t: Target): Promise<unknown>;
  run(t: Target, prepared: unknown): Promise<void>;
}

// ---- helpers ---------------------------------------------------------------------------------

let seq = 0;
/** A fresh namespace for one case. */
async function namespace(t: Target, stem: string): Promise<string> {
  const name = `${stem}-${++seq}`;
  const r = await t.admin.call('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  expect(r.status, r.text).toBe(201);
  return name;
}

const cmPath = (ns: string, name?: string) => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ''}`;
const deployPath = (ns: string, name?: string) => `/apis/apps/v1/namespaces/${ns}/deployments${name ? `/${name}` : ''}`;
const leasePath = (ns: string, name?: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases${name ? `/${name}` : ''}`;
const fappPath = (ns: string, name?: string, sub?: string) => `/apis/flotilla.dev/v1alpha1/namespaces/${ns}/federatedapps${name ? `/${name}` : ''}${sub ? `/${sub}` : ''}`;

const configMap = (name: string, data: Record<string, string> = { k: 'v' }, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

async function createCm(t: Target, ns: string, name: string, data?: Record<string, string>, labels?: Record<string, string>) {
  const r = await t.admin.call('POST', cmPath(ns), { body: configMap(name, data, labels) });
  expect(r.status, r.text).toBe(201);
  return r.body;
}

async function merge(t: Target, path: string, patch: unknown) {
  return t.admin.call('PATCH', path, { body: patch, contentType: 'application/merge-patch+json' });
}

async function apply(t: Target, path: string, manager: string, obj: unknown, force = false) {
  return t.admin.call('PATCH', `${path}?fieldManager=${manager}${force ? '&force=true' : ''}`, { body: obj, contentType: 'application/apply-patch+yaml' });
}

/** A list's resourceVersion (where a watch starts). */
async function listRv(t: Target, path: string): Promise<string> {
  const r = await t.admin.call('GET', path);
  expect(r.status, r.text).toBe(200);
  return String(r.body.metadata.resourceVersion);
}

const deployment = (name: string, containers: unknown[], extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers, ...extra } },
  },
});

/** A partial apply configuration touching only the pod spec. */
const podSpecApply = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: { template: { spec } },
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const names = (items: Any[] | undefined): string[] => (items ?? []).map((x: Any) => String(x.name));
const owner = (obj: Any, manager: string) => (obj.metadata.managedFields as Any[]).find((m) => m.manager === manager && m.operation === 'Apply');

/** A kubeconfig file for cluster-mgr's adapter (real targets: TLS verified against `caPem`). */
function kubeconfigFile(t: Target, file: string, user: Record<string, unknown>, opts: { caPem?: string; server?: string } = {}): string {
  const cp = t.cp!;
  const yaml = labKubeconfig({ name: 'conf', server: opts.server ?? cp.server, caPem: opts.caPem ?? cp.caPem });
  // labKubeconfig writes one user; replace its credentials with the ones under test.
  const doc = JSON.parse(JSON.stringify(parseYaml(yaml))) as Any;
  doc.users[0].user = user;
  const path = join(t.dir, file);
  writeFileSync(path, stringifyYaml(doc), { mode: 0o600 });
  return path;
}

const client = (kubeconfig: string, timeoutMs = 5000) => new KubeClient({ name: 'conf', kubeconfig, timeoutMs });

/** Who the server says we are (authentication.k8s.io SelfSubjectReview). */
async function whoami(c: KubeClient): Promise<string> {
  const r = await c.json<Any>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  return String(r.status.userInfo.username);
}

/** A node script printing an ExecCredential (client.authentication.k8s.io/v1) with `token`; counts its runs. */
function execPlugin(t: Target, file: string, o: { token: string; expiry?: string; hang?: boolean }): { path: string; runs: () => number; pidFile: string } {
  const path = join(t.dir, file);
  const counter = `${path}.runs`;
  const pidFile = `${path}.pid`;
  writeFileSync(counter, '');
  const cred = { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: o.token, ...(o.expiry ? { expirationTimestamp: o.expiry } : {}) } };
  writeFileSync(
    path,
    [
      `const fs = require('node:fs');`,
      `fs.appendFileSync(${JSON.stringify(counter)}, 'x');`,
      `fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));`,
      o.hang ? `setInterval(() => {}, 1000); // never answers` : `process.stdout.write(${JSON.stringify(JSON.stringify(cred))});`,
      '',
    ].join('\n'),
  );
  return { path, pidFile, runs: () => readFileSync(counter, 'utf8').length };
}

const execUser = (script: string) => ({
  exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [script], interactiveMode: 'Never' },
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Makes a CA the server does not know (for the wrong-CA case). */
function otherCa(t: Target): string {
  const key = join(t.dir, 'other-ca.key');
  const crt = join(t.dir, 'other-ca.crt');
  if (!existsSync(crt)) {
    const r = spawnSyncOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=not-the-lab-ca']);
    if (!r) throw new Error('openssl could not make a second CA');
  }
  return readFileSync(crt, 'utf8');
}

const spawnSyncOk = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

// ---- the full FederatedApp example: every field the zod schema accepts -------------------------

export const FULL_FEDERATED_APP = {
  apiVersion: 'flotilla.dev/v1alpha1',
  kind: 'FederatedApp',
  metadata: { name: 'full', namespace: 'NS' },
  spec: {
    replicas: 6,
    template: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web', tier: 'front' }, annotations: { 'flotilla.dev/note': 'kept' } },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        strategy: { type: 'RollingUpdate' },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'registry.example.com/apps/web:1.4.2',
                ports: [{ containerPort: 8080, protocol: 'TCP' }],
                resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
              },
            ],
          },
        },
      },
    },
    placement: {
      clusterSelector: { env: 'prod' },
      clusters: ['m1', 'm2'],
      spread: 'weighted',
      perCluster: { m1: { min: 1, max: 4, weight: 2 }, m2: { min: 0, max: 3, weight: 1 } },
    },
    autoscale: {
      query: 'sum(rate(http_requests_total{app="web"}[1m]))',
      targetPerReplica: 50,
      min: 2,
      max: 12,
      interval: '15s',
      tolerance: 0.1,
      scaleDownStabilization: '5m',
    },
    propagate: [
      { kind: 'ConfigMap', name: 'web-config' },
      { kind: 'Secret', name: 'web-tls' },
      { kind: 'PersistentVolumeClaim', name: 'web-data' },
    ],
    // schema fields only: cluster-mgr's cross-field checks take image or template, not both
    canary: {
      version: 'v2',
      image: 'registry.example.com/apps/web:1.5.0',
      container: 'web',
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.example.com/apps/web:1.5.0', resources: { requests: { cpu: '500m' }, limits: { memory: '1Gi' } } }] } },
      replicas: 1,
      weight: 10,
    },
    logs: { files: true, mountPath: '/var/log/app' },
  },
};

/** Dotted paths of every object key a zod schema accepts (`[]` array items, `*` record values). */
export function zodPaths(schema: unknown): string[] {
  const out: string[] = [];
  const walk = (s: Any, p: string) => {
    const d = s?.def ?? s?._zod?.def;
    if (!d) return;
    const at = (k: string) => `${p}${p ? '.' : ''}${k}`;
    switch (d.type) {
      case 'object':
        for (const [k, v] of Object.entries(d.shape as Record<string, unknown>)) {
          out.push(at(k));
          walk(v, at(k));
        }
        break;
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
      case 'readonly':
        walk(d.innerType, p);
        break;
      case 'array':
        walk(d.element, `${p}[]`);
        break;
      case 'record':
        walk(d.valueType, `${p}.*`);
        break;
      case 'pipe':
        walk(d.in, p);
        break;
      default:
        break;
    }
  };
  walk(schema, '');
  return out;
}

/** Whether `obj` has a value at a zod path (`[]`/`*`: at least one element that has the rest). */
export function hasPath(obj: unknown, path: string): boolean {
  const parts = path.replace(/\[\]/g, '.[]').split('.');
  const go = (v: unknown, i: number): boolean => {
    if (i === parts.length) return v !== undefined;
    const p = parts[i]!;
    if (p === '[]') return Array.isArray(v) && v.some((x) => go(x, i + 1));
    if (v === null || typeof v !== 'object') return false;
    if (p === '*') return Object.values(v).some((x) => go(x, i + 1));
    return go((v as Record<string, unknown>)[p], i + 1);
  };
  return go(obj, 0);
}

/** Paths present in `sent` but missing from `got` (the fields pruning removed). */
export function droppedPaths(sent: unknown, got: unknown, at = ''): string[] {
  if (sent === null || typeof sent !== 'object') return [];
  if (got === null || typeof got !== 'object') return [at];
  const out: string[] = [];
  if (Array.isArray(sent)) {
    sent.forEach((x, i) => out.push(...droppedPaths(x, (got as unknown[])[i], `${at}[${i}]`)));
    return out;
  }
  for (const [k, v] of Object.entries(sent)) {
    const p = `${at}${at ? '.' : ''}${k}`;
    if (!(k in (got as Record<string, unknown>))) out.push(p);
    else out.push(...droppedPaths(v, (got as Record<string, unknown>)[k], p));
  }
  return out;
}

// ---- the cases -------------------------------------------------------------------------------

const SSA = 'server-side apply';
const WATCH = 'watch';
const CRD = 'FederatedApp CRD';
const AUTH = 'authentication (client-node KubeConfig via cluster-mgr adapters/kube.ts)';
const AUTH_GAP = 'the simulator has no authentication: plain HTTP, any bearer token is accepted, no TLS';

export const CASES: readonly Case[] = [
  {
    group: SSA,
    title: 'two managers applying different containers both keep theirs',
    async run(t) {
      const ns = await namespace(t, 'ssa-two');
      const a = await apply(t, deployPath(ns, 'web'), 'mgr-a', deployment('web', [{ name: 'a', image: 'example.com/a:1' }]));
      expect(a.status, a.text).toBe(201);
      const b = await apply(t, deployPath(ns, 'web'), 'mgr-b', podSpecApply('web', { containers: [{ name: 'b', image: 'example.com/b:1' }] }));
      expect(b.status, b.text).toBe(200);
      expect(names(b.body.spec.template.spec.containers).sort()).toEqual(['a', 'b']);
      // Re-applying A's unchanged configuration keeps B's container.
      const again = await apply(t, deployPath(ns, 'web'), 'mgr-a', deployment('web', [{ name: 'a', image: 'example.com/a:1' }]));
      expect(again.status, again.text).toBe(200);
      expect(names(again.body.spec.template.spec.containers).sort()).toEqual(['a', 'b']);
      const fa = JSON.stringify(owner(again.body, 'mgr-a').fieldsV1);
      const fb = JSON.stringify(owner(again.body, 'mgr-b').fieldsV1);
      expect(fa).toContain('k:{\\"name\\":\\"a\\"}');
      expect(fa).not.toContain('k:{\\"name\\":\\"b\\"}');
      expect(fb).toContain('k:{\\"name\\":\\"b\\"}');
    },
  },
  {
    group: SSA,
    title: "applying another manager's field with a different value is a 409 naming the field",
    async run(t) {
      const ns = await namespace(t, 'ssa-conflict');
      expect((await apply(t, deployPath(ns, 'web'), 'mgr-a', deployment('web', [{ name: 'a', image: 'example.com/a:1' }]))).status).toBe(201);
      const r = await apply(t, deployPath(ns, 'web'), 'mgr-b', podSpecApply('web', { containers: [{ name: 'a', image: 'example.com/a:2' }] }));
      expect(r.status, r.text).toBe(409);
      expect(r.body.reason).toBe('Conflict');
      expect(r.body.message).toContain('conflict with "mgr-a": .spec.template.spec.containers[name="a"].image');
      expect(r.body.details.causes).toEqual([{ reason: 'FieldManagerConflict', field: '.spec.template.spec.containers[name="a"].image', message: 'conflict with "mgr-a"' }]);
      // The same value is no conflict (shared ownership).
      const same = await apply(t, deployPath(ns, 'web'), 'mgr-b', podSpecApply('web', { containers: [{ name: 'a', image: 'example.com/a:1' }] }));
      expect(same.status, same.text).toBe(200);
    },
  },
  {
    group: SSA,
    title: 'force=true moves ownership of the field to the applier',
    async run(t) {
      const ns = await namespace(t, 'ssa-force');
      expect((await apply(t, deployPath(ns, 'web'), 'mgr-a', deployment('web', [{ name: 'a', image: 'example.com/a:1' }]))).status).toBe(201);
      const r = await apply(t, deployPath(ns, 'web'), 'mgr-b', podSpecApply('web', { containers: [{ name: 'a', image: 'example.com/a:2' }] }), true);
      expect(r.status, r.text).toBe(200);
      expect(r.body.spec.template.spec.containers[0].image).toBe('example.com/a:2');
      expect(JSON.stringify(owner(r.body, 'mgr-b').fieldsV1)).toContain('f:image');
      expect(JSON.stringify(owner(r.body, 'mgr-a').fieldsV1)).not.toContain('f:image');
      // Now A is the one in conflict.
      const back = await apply(t, deployPath(ns, 'web'), 'mgr-a', deployment('web', [{ name: 'a', image: 'example.com/a:1' }]));
      expect(back.status, back.text).toBe(409);
      expect(back.body.details.causes[0].message).toContain('mgr-b');
    },
  },
  {
    group: SSA,
    title: 'list items merge by key: containers and env and volumes by name, ports by containerPort+protocol',
    async run(t) {
      const ns = await namespace(t, 'ssa-keys');
      const aConfig = (env: unknown[]) =>
        deployment('web', [{ name: 'a', image: 'example.com/a:1', ports: [{ containerPort: 80, protocol: 'TCP' }], env }], { volumes: [{ name: 'v1', emptyDir: {} }] });
      expect((await apply(t, deployPath(ns, 'web'), 'mgr-a', aConfig([{ name: 'X', value: 'x' }, { name: 'Z', value: 'z' }]))).status).toBe(201);
      const b = await apply(
        t,
        deployPath(ns, 'web'),
        'mgr-b',
        podSpecApply('web', {
          containers: [{ name: 'a', ports: [{ containerPort: 9090, protocol: 'TCP' }, { containerPort: 80, protocol: 'UDP' }], env: [{ name: 'Y', value: 'y' }] }],
          volumes: [{ name: 'v2', emptyDir: {} }],
        }),
      );
      expect(b.status, b.text).toBe(200);
      const c = b.body.spec.template.spec.containers[0];
      expect(c.ports.map((p: Any) => `${p.containerPort}/${p.protocol}`).sort()).toEqual(['80/TCP', '80/UDP', '9090/TCP']);
      expect(names(c.env).sort()).toEqual(['X', 'Y', 'Z']);
      expect(names(b.body.spec.template.spec.volumes).sort()).toEqual(['v1', 'v2']);
      // An item its only owner stops applying goes; items others own stay.
      const a2 = await apply(t, deployPath(ns, 'web'), 'mgr-a', aConfig([{ name: 'X', value: 'x' }]));
      expect(a2.status, a2.text).toBe(200);
      expect(names(a2.body.spec.template.spec.containers[0].env).sort()).toEqual(['X', 'Y']);
      expect(a2.body.spec.template.spec.containers[0].ports).toHaveLength(3);
    },
  },
  {
    group: 'writes',
    title: 'a write with a stale resourceVersion is a 409 Conflict',
    async run(t) {
      const ns = await namespace(t, 'occ');
      const v1 = await createCm(t, ns, 'c', { k: '1' });
      const u = await t.admin.call('PUT', cmPath(ns, 'c'), { body: { ...v1, data: { k: '2' } } });
      expect(u.status, u.text).toBe(200);
      const stale = await t.admin.call('PUT', cmPath(ns, 'c'), { body: { ...v1, data: { k: '3' } } });
      expect(stale.status, stale.text).toBe(409);
      expect(stale.body.reason).toBe('Conflict');
      const stalePatch = await merge(t, cmPath(ns, 'c'), { metadata: { resourceVersion: v1.metadata.resourceVersion }, data: { k: '4' } });
      expect(stalePatch.status, stalePatch.text).toBe(409);
      expect((await t.admin.call('GET', cmPath(ns, 'c'))).body.data.k).toBe('2');
    },
  },
  {
    group: 'writes',
    title: 'changing a Deployment selector is a 422 (immutable field)',
    async run(t) {
      const ns = await namespace(t, 'immutable');
      const d = deployment('web', [{ name: 'a', image: 'example.com/a:1' }]);
      const created = await t.admin.call('POST', deployPath(ns), { body: d });
      expect(created.status, created.text).toBe(201);
      const changed = JSON.parse(JSON.stringify(created.body)) as Any;
      delete changed.metadata.resourceVersion; // controllers may have written status since
      changed.spec.selector = { matchLabels: { app: 'other' } };
      changed.spec.template.metadata.labels = { app: 'other' };
      const r = await t.admin.call('PUT', deployPath(ns, 'web'), { body: changed });
      expect(r.status, r.text).toBe(422);
      expect(r.body.reason).toBe('Invalid');
      expect(r.body.details.causes).toContainEqual(expect.objectContaining({ field: 'spec.selector', message: expect.stringContaining('field is immutable') }));
      const viaApply = await apply(t, deployPath(ns, 'web'), 'mgr-a', { ...d, spec: { ...d.spec, selector: { matchLabels: { app: 'other' } }, template: { ...d.spec.template, metadata: { labels: { app: 'other' } } } } }, true);
      expect(viaApply.status, viaApply.text).toBe(422);
    },
  },
  {
    group: WATCH,
    title: 'a watch from a resourceVersion gets only the later events',
    async run(t) {
      const ns = await namespace(t, 'watch-rv');
      const c1 = await createCm(t, ns, 'c1');
      await createCm(t, ns, 'c2');
      expect((await merge(t, cmPath(ns, 'c1'), { data: { k: 'changed' } })).status).toBe(200);
      const w = await t.admin.watch(`${cmPath(ns)}?watch=1&resourceVersion=${c1.metadata.resourceVersion}`);
      try {
        await w.waitFor((e) => e.type === 'MODIFIED', 'MODIFIED c1');
        // (kube-root-ca.crt, which the real controller-manager adds to every namespace, may show up too.)
        const mine = w.events.filter((e) => e.object.metadata.name !== 'kube-root-ca.crt');
        expect(mine.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED c2', 'MODIFIED c1']);
      } finally {
        w.stop();
      }
    },
  },
  {
    group: WATCH,
    title: 'an expired resourceVersion gets 410 Gone; one relist and a watch from its resourceVersion recover',
    async run(t) {
      // Secrets: the real target serves them without a watch cache (--watch-cache-sizes=secrets#0) and
      // compacts etcd every 2 s, so resourceVersion 1 is gone from etcd, as an old resourceVersion is on
      // a busy cluster. (With the watch cache, a fresh server still holds every event since it started
      // and replays them.) The sim run keeps 50 events; 60 writes push resourceVersion 1 out.
      const ns = await namespace(t, 'watch-gone');
      const secrets = `/api/v1/namespaces/${ns}/secrets`;
      expect((await t.admin.call('POST', secrets, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } } })).status).toBe(201);
      for (let i = 0; i < 60; i++) expect((await merge(t, `${secrets}/s`, { metadata: { labels: { i: String(i) } } })).status).toBe(200);
      let events: WatchEvent[] = [];
      await waitFor(
        async () => {
          const w = await t.admin.watch(`${secrets}?watch=1&resourceVersion=1`);
          await Promise.race([w.ended, new Promise((r) => setTimeout(r, 1000))]);
          w.stop();
          events = w.events;
          return events.some((e) => e.type === 'ERROR');
        },
        { what: 'a 410 ERROR event for resourceVersion 1', timeoutMs: 20_000, intervalMs: 500 },
      );
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
      // The relist.
      const rv = await listRv(t, secrets);
      const w2 = await t.admin.watch(`${secrets}?watch=1&resourceVersion=${rv}`);
      try {
        expect((await t.admin.call('POST', secrets, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'after' } } })).status).toBe(201);
        await w2.waitFor((e) => e.type === 'ADDED' && e.object.metadata.name === 'after', 'ADDED after the relist');
        expect(w2.events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED after']);
      } finally {
        w2.stop();
      }
    },
  },
  {
    group: WATCH,
    title: "bookmarks arrive at the target's cadence (real server: about every 60 s)",
    timeoutMs: 90_000,
    async prepare(t) {
      const ns = await namespace(t, 'bookmarks');
      return { ns, w: await t.admin.watch(`${cmPath(ns)}?watch=1&allowWatchBookmarks=true&resourceVersion=${await listRv(t, cmPath(ns))}`) };
    },
    async run(t, p) {
      const { w } = p as { w: WatchStream };
      try {
        const limit = t.bookmarkIntervalMs + 10_000;
        const left = Math.max(1000, w.openedAt + limit - Date.now());
        const first = await w.waitFor((e) => e.type === 'BOOKMARK', `a BOOKMARK within ${limit} ms of opening the watch`, left);
        expect(Number(first.object.metadata.resourceVersion)).toBeGreaterThan(0);
        const at = w.times[w.events.indexOf(first)]!;
        console.info(`[conformance ${t.kind}] first BOOKMARK after ${at} ms (configured/expected period ${t.bookmarkIntervalMs} ms)`);
        expect(at).toBeGreaterThanOrEqual(t.bookmarkIntervalMs * 0.5);
        expect(at).toBeLessThanOrEqual(limit);
        if (t.kind === 'sim') {
          // Configurable cadence: several bookmarks, spaced by the configured period.
          await w.waitFor((e) => e.type === 'BOOKMARK' && w.events.filter((x) => x.type === 'BOOKMARK').length >= 3, 'three bookmarks', t.bookmarkIntervalMs * 5);
          const ts = w.events.map((e, i) => (e.type === 'BOOKMARK' ? w.times[i]! : -1)).filter((x) => x >= 0);
          for (let i = 1; i < ts.length; i++) expect(ts[i]! - ts[i - 1]!).toBeGreaterThanOrEqual(t.bookmarkIntervalMs * 0.7);
        }
      } finally {
        w.stop();
      }
    },
  },
  {
    group: WATCH,
    title: 'a watch with timeoutSeconds is ended by the server on time, without an error',
    timeoutMs: 30_000,
    async run(t) {
      const ns = await namespace(t, 'watch-timeout');
      const w = await t.admin.watch(`${cmPath(ns)}?watch=1&allowWatchBookmarks=true&timeoutSeconds=3&resourceVersion=${await listRv(t, cmPath(ns))}`);
      const ended = await Promise.race([w.ended.then(() => Date.now() - w.openedAt), new Promise<number>((r) => setTimeout(() => r(-1), 15_000))]);
      w.stop();
      expect(ended, 'the server ended the watch').toBeGreaterThanOrEqual(2500);
      expect(ended).toBeLessThanOrEqual(6000);
      expect(w.events.filter((e) => e.type === 'ERROR')).toEqual([]);
    },
  },
  {
    group: WATCH,
    title: 'a label-selected watch sends DELETED/ADDED as objects leave/enter the selector',
    async run(t) {
      const ns = await namespace(t, 'watch-sel');
      const rv = await listRv(t, cmPath(ns));
      const w = await t.admin.watch(`${cmPath(ns)}?watch=1&labelSelector=${encodeURIComponent('sel=yes')}&resourceVersion=${rv}`);
      try {
        await createCm(t, ns, 'out', { k: 'v' }, { sel: 'no' });
        await createCm(t, ns, 'in', { k: 'v' }, { sel: 'yes' });
        await w.waitFor((e) => e.type === 'ADDED', 'ADDED in');
        expect((await merge(t, cmPath(ns, 'in'), { data: { k: 'w' } })).status).toBe(200);
        await w.waitFor((e) => e.type === 'MODIFIED', 'MODIFIED in');
        const left = await merge(t, cmPath(ns, 'in'), { metadata: { labels: { sel: 'no' } } });
        expect(left.status).toBe(200);
        await w.waitFor((e) => e.type === 'DELETED', 'DELETED when it leaves the selector');
        expect((await merge(t, cmPath(ns, 'out'), { metadata: { labels: { sel: 'yes' } } })).status).toBe(200);
        await w.waitFor((e) => e.type === 'ADDED' && e.object.metadata.name === 'out', 'ADDED when out enters');
        const seen = w.events.filter((e) => e.type !== 'BOOKMARK').map((e: WatchEvent) => `${e.type} ${e.object.metadata.name}`);
        expect(seen).toEqual(['ADDED in', 'MODIFIED in', 'DELETED in', 'ADDED out']);
        // DELETED carries the object as it last matched, at the resourceVersion of the change.
        const del = w.events.find((e) => e.type === 'DELETED')!;
        expect(del.object.metadata.labels.sel).toBe('yes');
        expect(del.object.metadata.resourceVersion).toBe(left.body.metadata.resourceVersion);
      } finally {
        w.stop();
      }
    },
  },
  {
    group: 'leases',
    title: 'Lease create race: one writer gets 201, the other 409 AlreadyExists',
    async run(t) {
      const ns = await namespace(t, 'lease-create');
      const lease = (holder: string) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'leader' }, spec: { holderIdentity: holder, leaseDurationSeconds: 15 } });
      const rs = await Promise.all([t.admin.call('POST', leasePath(ns), { body: lease('one') }), t.admin.call('POST', leasePath(ns), { body: lease('two') })]);
      expect(rs.map((r) => r.status).sort()).toEqual([201, 409]);
      const lost = rs.find((r) => r.status === 409)!;
      expect(lost.body.reason).toBe('AlreadyExists');
      const won = rs.find((r) => r.status === 201)!;
      expect((await t.admin.call('GET', leasePath(ns, 'leader'))).body.spec.holderIdentity).toBe(won.body.spec.holderIdentity);
    },
  },
  {
    group: 'leases',
    title: 'Lease renew race from the same resourceVersion: one wins, the other gets 409 Conflict',
    async run(t) {
      const ns = await namespace(t, 'lease-renew');
      const created = await t.admin.call('POST', leasePath(ns), {
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'leader' }, spec: { holderIdentity: 'old', leaseDurationSeconds: 15 } },
      });
      expect(created.status, created.text).toBe(201);
      const take = (holder: string) => {
        const b = JSON.parse(JSON.stringify(created.body)) as Any;
        b.spec.holderIdentity = holder;
        b.spec.renewTime = new Date().toISOString().replace('Z', '000Z').replace(/\.(\d{6})\d*Z$/, '.$1Z');
        return t.admin.call('PUT', leasePath(ns, 'leader'), { body: b });
      };
      const rs = await Promise.all([take('one'), take('two')]);
      expect(rs.map((r) => r.status).sort(), rs.map((r) => r.text).join('\n')).toEqual([200, 409]);
      const won = rs.find((r) => r.status === 200)!;
      expect(rs.find((r) => r.status === 409)!.body.reason).toBe('Conflict');
      expect((await t.admin.call('GET', leasePath(ns, 'leader'))).body.spec.holderIdentity).toBe(won.body.spec.holderIdentity);
    },
  },
  {
    group: CRD,
    title: 'every field the cluster-mgr FederatedApp schema accepts survives pruning',
    async run(t) {
      // The example is valid for cluster-mgr and uses every field its schema knows.
      const ns = await namespace(t, 'fapp-full');
      const doc = { ...FULL_FEDERATED_APP, metadata: { ...FULL_FEDERATED_APP.metadata, namespace: ns } };
      expect(FederatedAppSchema.safeParse(doc).success).toBe(true);
      const uncovered = zodPaths(FederatedAppSchema).filter((p) => !hasPath(doc, p));
      expect(uncovered, 'zod paths the example does not set').toEqual([]);
      const r = await t.admin.call('POST', fappPath(ns), { body: doc });
      expect(r.status, r.text).toBe(201);
      const got = (await t.admin.call('GET', fappPath(ns, 'full'))).body;
      expect(droppedPaths(doc.spec, got.spec), 'fields the server pruned (the CRD schema lacks them)').toEqual([]);
      expect(got.spec).toEqual(doc.spec);
    },
  },
  {
    group: CRD,
    title: 'unknown fields are pruned (except under x-kubernetes-preserve-unknown-fields)',
    async run(t) {
      const ns = await namespace(t, 'fapp-prune');
      const base = JSON.parse(JSON.stringify(FULL_FEDERATED_APP)) as Any;
      base.metadata = { name: 'prune', namespace: ns };
      base.bogusTop = 1;
      base.spec.bogus = 'x';
      base.spec.placement.bogus = 'x';
      base.spec.placement.perCluster.m1.bogus = 1;
      base.spec.autoscale.bogus = true;
      base.spec.propagate[0].bogus = 'x';
      base.spec.template.bogusKept = 'kept';
      base.spec.template.spec.bogusKept = { deep: 1 };
      const r = await t.admin.call('POST', fappPath(ns), { body: base });
      expect(r.status, r.text).toBe(201);
      const got = (await t.admin.call('GET', fappPath(ns, 'prune'))).body;
      expect(got.bogusTop).toBeUndefined();
      expect(got.spec.bogus).toBeUndefined();
      expect(got.spec.placement.bogus).toBeUndefined();
      expect(got.spec.placement.perCluster.m1).not.toHaveProperty('bogus');
      expect(got.spec.autoscale.bogus).toBeUndefined();
      expect(got.spec.propagate[0]).toEqual({ kind: 'ConfigMap', name: 'web-config' });
      expect(got.spec.template.bogusKept).toBe('kept');
      expect(got.spec.template.spec.bogusKept).toEqual({ deep: 1 });
    },
  },
  {
    group: CRD,
    title: '/status writes do not bump generation; spec writes do',
    async run(t) {
      const ns = await namespace(t, 'fapp-status');
      const doc = { ...FULL_FEDERATED_APP, metadata: { name: 's', namespace: ns } };
      const c = await t.admin.call('POST', fappPath(ns), { body: doc });
      expect(c.status, c.text).toBe(201);
      expect(c.body.metadata.generation).toBe(1);
      const withStatus = { ...c.body, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Spread', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }], observedGeneration: 1 } };
      const s = await t.admin.call('PUT', fappPath(ns, 's', 'status'), { body: { ...withStatus, spec: { ...c.body.spec, replicas: 99 } } });
      expect(s.status, s.text).toBe(200);
      expect(s.body.metadata.generation).toBe(1);
      expect(s.body.status.observedGeneration).toBe(1);
      expect(s.body.spec.replicas).toBe(6); // spec is ignored on /status
      const m = await merge(t, fappPath(ns, 's'), { spec: { replicas: 7 }, status: { observedGeneration: 5 } });
      expect(m.status, m.text).toBe(200);
      expect(m.body.metadata.generation).toBe(2);
      expect(m.body.status.observedGeneration).toBe(1); // status is ignored on the main resource
    },
  },
  {
    group: CRD,
    title: 'Table output has exactly the printer columns NAME REPLICAS SPREAD (no default Age)',
    async run(t) {
      const ns = await namespace(t, 'fapp-table');
      expect((await t.admin.call('POST', fappPath(ns), { body: { ...FULL_FEDERATED_APP, metadata: { name: 'tab', namespace: ns } } })).status).toBe(201);
      const r = await t.admin.call('GET', fappPath(ns), { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
      // With additionalPrinterColumns the server adds no Age column (the CRD does not declare one).
      expect(r.body.columnDefinitions.map((c: Any) => c.name)).toEqual(['Name', 'Replicas', 'Spread']);
      expect(r.body.columnDefinitions.map((c: Any) => c.type)).toEqual(['string', 'integer', 'string']);
      expect(r.body.rows).toHaveLength(1);
      expect(r.body.rows[0].cells).toEqual(['tab', 6, 'weighted']);
      expect(r.body.rows[0].object.metadata.name).toBe('tab');
    },
  },
  {
    group: 'namespaces',
    title: 'a Terminating namespace refuses new objects (403 NamespaceTerminating) and goes once finalizers are removed',
    timeoutMs: 120_000,
    async run(t) {
      const ns = await namespace(t, 'terminating');
      const held = await t.admin.call('POST', cmPath(ns), { body: { ...configMap('held'), metadata: { name: 'held', finalizers: ['conformance.flotilla.dev/hold'] } } });
      expect(held.status, held.text).toBe(201);
      await createCm(t, ns, 'plain');
      const del = await t.admin.call('DELETE', `/api/v1/namespaces/${ns}`);
      expect(del.status, del.text).toBe(200);
      await waitFor(async () => (await t.admin.call('GET', `/api/v1/namespaces/${ns}`)).body?.status?.phase === 'Terminating', { what: `${ns} Terminating`, timeoutMs: 10_000 });
      // The namespace's content is deleted; the object with a finalizer stays, marked for deletion.
      await waitFor(async () => (await t.admin.call('GET', cmPath(ns, 'held'))).body?.metadata?.deletionTimestamp, { what: 'held has a deletionTimestamp', timeoutMs: 30_000 });
      await waitFor(async () => (await t.admin.call('GET', cmPath(ns, 'plain'))).status === 404, { what: 'plain deleted', timeoutMs: 30_000 });
      const refused = await t.admin.call('POST', cmPath(ns), { body: configMap('late') });
      expect(refused.status, refused.text).toBe(403);
      expect(refused.body.reason).toBe('Forbidden');
      expect(refused.body.message).toContain('because it is being terminated');
      expect(refused.body.details.causes).toContainEqual(expect.objectContaining({ reason: 'NamespaceTerminating' }));
      expect((await t.admin.call('GET', `/api/v1/namespaces/${ns}`)).status).toBe(200);
      // Removing the finalizer lets the object and then the namespace go.
      expect((await merge(t, cmPath(ns, 'held'), { metadata: { finalizers: null } })).status).toBe(200);
      await waitFor(async () => (await t.admin.call('GET', cmPath(ns, 'held'))).status === 404, { what: 'held gone', timeoutMs: 30_000 });
      await waitFor(async () => (await t.admin.call('GET', `/api/v1/namespaces/${ns}`)).status === 404, { what: `${ns} gone`, timeoutMs: 90_000, intervalMs: 250 });
    },
  },
  {
    group: 'reads',
    title: 'an unsupported field selector is a 400; metadata.name is supported',
    async run(t) {
      const ns = await namespace(t, 'fieldsel');
      await createCm(t, ns, 'a', { k: 'x' });
      await createCm(t, ns, 'b', { k: 'y' });
      const bad = await t.admin.call('GET', `${cmPath(ns)}?fieldSelector=${encodeURIComponent('data.k=x')}`);
      expect(bad.status, bad.text).toBe(400);
      expect(bad.body.reason).toBe('BadRequest');
      expect(bad.body.message).toBe('"data.k" is not a known field selector: only "metadata.name", "metadata.namespace"');
      const badPods = await t.admin.call('GET', `/api/v1/namespaces/${ns}/pods?fieldSelector=${encodeURIComponent('spec.foo=x')}`);
      expect(badPods.status, badPods.text).toBe(400);
      expect(badPods.body.message).toBe('field label not supported: spec.foo');
      expect((await t.admin.call('GET', `/api/v1/namespaces/${ns}/pods?fieldSelector=${encodeURIComponent('spec.nodeName=n1,status.phase!=Failed')}`)).status).toBe(200);
      const ok = await t.admin.call('GET', `${cmPath(ns)}?fieldSelector=${encodeURIComponent('metadata.name=b')}`);
      expect(names(ok.body.items.map((i: Any) => i.metadata))).toEqual(['b']);
      const badWatch = await t.admin.call('GET', `${cmPath(ns)}?watch=1&fieldSelector=${encodeURIComponent('data.k=x')}`);
      expect(badWatch.status, badWatch.text).toBe(400);
    },
  },
  {
    group: 'reads',
    title: 'limit/continue pages through a list without gaps or repeats',
    async run(t) {
      // Leases: no controller adds any to a new namespace (ConfigMaps get kube-root-ca.crt).
      const ns = await namespace(t, 'paging');
      for (const n of ['p1', 'p2', 'p3', 'p4', 'p5'])
        expect((await t.admin.call('POST', leasePath(ns), { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: n }, spec: {} } })).status).toBe(201);
      const seen: string[] = [];
      let cont = '';
      let pages = 0;
      for (;;) {
        const r = await t.admin.call('GET', `${leasePath(ns)}?limit=2${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
        expect(r.status, r.text).toBe(200);
        pages++;
        expect(r.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...r.body.items.map((i: Any) => i.metadata.name));
        cont = r.body.metadata.continue ?? '';
        if (pages === 1) expect(r.body.metadata.remainingItemCount).toBe(3);
        if (!cont) break;
        expect(pages).toBeLessThan(5);
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
      const bad = await t.admin.call('GET', `${leasePath(ns)}?limit=2&continue=not-a-token`);
      expect(bad.status, bad.text).toBe(400);
      expect(bad.body.message).toMatch(/^invalid continue token: continue key is not valid/);
    },
  },
  // ---- authentication: real server only --------------------------------------------------------
  {
    group: AUTH,
    title: 'CA verification: the right CA passes, a wrong CA is a TLS error',
    simGap: AUTH_GAP,
    async run(t) {
      const good = client(kubeconfigFile(t, 'ca-good.yaml', { token: t.cp!.adminToken }));
      expect((await good.request('GET', '/api')).status).toBe(200);
      const bad = client(kubeconfigFile(t, 'ca-bad.yaml', { token: t.cp!.adminToken }, { caPem: otherCa(t) }));
      await expect(bad.request('GET', '/api')).rejects.toThrow(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|CERT_SIGNATURE_FAILURE|unable to verify/);
      const probe = await new KubeMember({ name: 'conf', kubeconfig: kubeconfigFile(t, 'ca-bad.yaml', { token: t.cp!.adminToken }, { caPem: otherCa(t) }), timeoutMs: 3000 }).probe();
      expect(probe).toMatchObject({ ok: false, problem: 'tls' });
    },
  },
  {
    group: AUTH,
    title: 'a client certificate authenticates',
    simGap: AUTH_GAP,
    async run(t) {
      const c = client(t.kubeconfigPath);
      expect(await whoami(c)).toBe('lab-admin');
    },
  },
  {
    group: AUTH,
    title: 'a bearer token authenticates; a wrong one is a 401',
    simGap: AUTH_GAP,
    async run(t) {
      expect(await whoami(client(kubeconfigFile(t, 'token.yaml', { token: t.cp!.adminToken })))).toBe('lab-admin');
      const r = await client(kubeconfigFile(t, 'token-bad.yaml', { token: 'wrong-token' })).request('GET', '/api');
      expect(r.status).toBe(401);
    },
  },
  {
    group: AUTH,
    title: "a token file authenticates (client-go's tokenFile and token-file, trailing newline)",
    simGap: AUTH_GAP,
    async run(t) {
      const file = join(t.dir, 'token.txt');
      writeFileSync(file, `${t.cp!.adminToken}\n`, { mode: 0o600 });
      expect(await whoami(client(kubeconfigFile(t, 'tokenfile.yaml', { tokenFile: file })))).toBe('lab-admin');
      expect(await whoami(client(kubeconfigFile(t, 'token-file.yaml', { 'token-file': file })))).toBe('lab-admin');
    },
  },
  {
    group: AUTH,
    title: 'an exec credential plugin authenticates, with and without expiry (cached until it expires)',
    simGap: AUTH_GAP,
    async run(t) {
      const plain = execPlugin(t, 'plugin-plain.cjs', { token: t.cp!.adminToken });
      const c1 = client(kubeconfigFile(t, 'exec-plain.yaml', execUser(plain.path)));
      expect(await whoami(c1)).toBe('lab-admin');
      expect((await c1.request('GET', '/api')).status).toBe(200);
      expect(plain.runs()).toBeGreaterThanOrEqual(1);
      const later = new Date(Date.now() + 3600_000).toISOString();
      const expiring = execPlugin(t, 'plugin-expiry.cjs', { token: t.cp!.adminToken, expiry: later });
      const c2 = client(kubeconfigFile(t, 'exec-expiry.yaml', execUser(expiring.path)));
      expect(await whoami(c2)).toBe('lab-admin');
      for (let i = 0; i < 3; i++) expect((await c2.request('GET', '/api')).status).toBe(200);
      expect(expiring.runs()).toBe(1);
    },
  },
  {
    group: AUTH,
    title: 'a hanging exec credential plugin is cut off by the request timeout',
    simGap: AUTH_GAP,
    timeoutMs: 20_000,
    async run(t) {
      const plugin = execPlugin(t, 'plugin-hang.cjs', { token: 'never', hang: true });
      const c = client(kubeconfigFile(t, 'exec-hang.yaml', execUser(plugin.path)), 1500);
      const t0 = Date.now();
      await expect(c.request('GET', '/api')).rejects.toMatchObject({ reason: 'Timeout' });
      expect(Date.now() - t0).toBeLessThan(4000);
      // The plugin process does not outlive the request.
      const pid = Number(await waitFor(() => (existsSync(plugin.pidFile) ? readFileSync(plugin.pidFile, 'utf8') : ''), { what: 'plugin pid' }));
      await waitFor(() => !alive(pid), { what: `exec plugin ${pid} killed`, timeoutMs: 3000 });
      const probe = await new KubeMember({ name: 'conf', kubeconfig: join(t.dir, 'exec-hang.yaml'), timeoutMs: 1500 }).probe();
      expect(probe).toMatchObject({ ok: false, problem: 'timeout' });
    },
  },
  {
    group: AUTH,
    title: 'an IPv6 server URL works (https://[::1]:PORT)',
    simGap: 'the simulator listens on 127.0.0.0/8 only',
    ipv6: true,
    async run(t) {
      expect(t.server).toMatch(/^https:\/\/\[::1\]:\d+$/);
      const c = client(t.kubeconfigPath);
      expect((await c.request('GET', '/readyz')).status).toBe(200);
      expect(await whoami(c)).toBe('lab-admin');
      expect(await whoami(client(kubeconfigFile(t, 'v6-token.yaml', { token: t.cp!.adminToken })))).toBe('lab-admin');
      const w = await watchViaAdapter(c, '/api/v1/namespaces?watch=1&timeoutSeconds=2');
      expect(w.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'default')).toBe(true);
    },
  },
  {
    group: AUTH,
    title: 'a 401 on /readyz is reported as an authentication problem, not as a down member',
    simGap: AUTH_GAP,
    async run(t) {
      const m = new KubeMember({ name: 'conf', kubeconfig: kubeconfigFile(t, 'readyz-bad.yaml', { token: 'wrong-token' }), timeoutMs: 3000 });
      const r = await m.probe();
      expect(r).toMatchObject({ ok: false, problem: 'auth' });
      expect((r as { reason: string }).reason).toMatch(/authentication failed.*401/i);
      // A member that is really gone is "unreachable".
      const port = t.cp!.port;
      const down = new KubeMember({ name: 'conf', kubeconfig: kubeconfigFile(t, 'down.yaml', { token: 'x' }, { server: t.server.replace(String(port), '1') }), timeoutMs: 3000 });
      expect(await down.probe()).toMatchObject({ ok: false, problem: 'unreachable' });
    },
  },
];

async function watchViaAdapter(c: KubeClient, path: string): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 10_000);
  try {
    await c.watch(path, (e) => events.push(e as WatchEvent), ac.signal);
  } finally {
    clearTimeout(timer);
  }
  return events;
}

