// Every object `flotilla synth` writes, for every bundled example, server-side applied to a REAL
// kube-apiserver (test/lab control plane) after the upstream CRDs from ../shared/crds are installed:
// zero rejections, CEL validation rules and structural pruning included. Objects that need a
// controller or a backend to be useful but would break later requests when applied for real
// (admission webhooks, APIServices) are applied with server dry-run. A broken object made on
// purpose must be rejected, so the test can fail.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { loadSite } from '../../infra/site/index';
import { synthesizeSite } from '../../infra/synth/index';
import type { K8sObject } from '../../infra/synth/types';
import { k8sAssets, requireK8s, startControlPlane, type ControlPlane } from '../lab';
import { CRD_DIRS, yamlFiles } from '../schema/validator';

const DRY_RUN_KINDS = new Set(['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'APIService']);
const examples = readdirSync('examples').filter((f) => f.endsWith('.yaml')).sort();

type Crd = { kind: string; metadata: { name: string }; spec: { group: string; names: { kind: string } } };

/** Upstream CRDs by `group/Kind` (first definition wins; per-resource files before bundles). */
function crdIndex(): Map<string, Crd> {
  const out = new Map<string, Crd>();
  const files = CRD_DIRS.flatMap(yamlFiles).sort((a, b) => Number(a.endsWith('all-crds.yaml')) - Number(b.endsWith('all-crds.yaml')));
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) {
      const crd = doc.toJS() as Crd | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const key = `${crd.spec.group}/${crd.spec.names.kind}`;
      if (!out.has(key)) out.set(key, crd);
    }
  }
  return out;
}

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');

/** Rejections kubectl reported, one line per object. */
function rejections(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/^Warning:/.test(l));
}

let cp: ControlPlane | undefined;
const crds = crdIndex();

beforeAll(async () => {
  if (!k8sAssets().ok) return;
  cp = await startControlPlane({ name: 'synth-apply', apiOnly: true });
}, 120_000);
afterAll(async () => {
  await cp?.stop();
});

/** A fresh API server per cluster: clusters of different examples reuse names with other values. */
async function freshServer(name: string): Promise<void> {
  await cp?.stop();
  cp = await startControlPlane({ name, apiOnly: true });
}

async function apply(file: string, dryRun: boolean): Promise<{ code: number | null; out: string; err: string }> {
  const args = ['apply', '--server-side', '--field-manager=flotilla-synth-test', '--force-conflicts', '-f', file];
  if (dryRun) args.push('--dry-run=server');
  const r = await cp!.kubectl(args, { timeoutMs: 120_000 });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

async function installCrds(objects: readonly K8sObject[], dir: string): Promise<string[]> {
  const needed = new Map<string, Crd>();
  for (const o of objects) {
    const g = groupOf(o.apiVersion);
    if (!g.includes('.') || o.kind === 'CustomResourceDefinition') continue;
    const crd = crds.get(`${g}/${o.kind}`);
    if (crd) needed.set(crd.metadata.name, crd);
  }
  if (needed.size === 0) return [];
  const file = join(dir, 'crds.yaml');
  writeFileSync(file, [...needed.values()].map((c) => stringify(c)).join('---\n'));
  const r = await apply(file, false);
  expect(r.code, `installing upstream CRDs:\n${r.err}`).toBe(0);
  const w = await cp!.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...[...needed.keys()].map((n) => `crd/${n}`)], { timeoutMs: 90_000 });
  expect(w.code, w.stderr).toBe(0);
  return [...needed.keys()];
}

describe.each(examples)('examples/%s on a real kube-apiserver', (file) => {
  it('every synthesized object is accepted by server-side apply (0 rejections)', async (ctx) => {
    requireK8s(ctx);
    const loaded = await loadSite(`examples/${file}`);
    if (!loaded.ok) throw new Error(`${file} does not validate`);
    const site = loaded.value;
    const synth = synthesizeSite(site);
    for (const cluster of synth.clusters) {
      await freshServer(`apply-${cluster.cluster}`);
      // Chart releases' namespaces are created by the Pulumi program (infra/pulumi/plan.ts) before
      // anything else; the synthesized objects that live there expect them.
      const releaseNamespaces = [...new Set(cluster.charts.map((r) => r.namespace))].map(
        (name): K8sObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
      );
      const own = cluster.components.flatMap((c) => c.objects);
      const objects = [...releaseNamespaces.filter((n) => !own.some((o) => o.kind === 'Namespace' && o.metadata.name === n.metadata.name)), ...own];
      // Clusters of one site may share object names; each gets a fresh set of namespaces below.
      const dir = cp!.dir;
      // A kind without a CRD is rejected by kubectl ("no matches for kind") and counted below.
      await installCrds(objects, dir);

      const order = (o: K8sObject) => (o.kind === 'Namespace' ? 0 : o.kind === 'CustomResourceDefinition' ? 1 : 2);
      const real = objects.filter((o) => !DRY_RUN_KINDS.has(o.kind)).sort((a, b) => order(a) - order(b));
      const dry = objects.filter((o) => DRY_RUN_KINDS.has(o.kind));
      const stage1 = real.filter((o) => order(o) < 2);
      const stage2 = real.filter((o) => order(o) === 2);
      const problems: string[] = [];
      for (const [name, batch, dryRun] of [
        ['namespaces-crds', stage1, false],
        ['objects', stage2, false],
        ['dry-run', dry, true],
      ] as const) {
        if (batch.length === 0) continue;
        const f = join(dir, `${cluster.cluster}-${name}.yaml`);
        writeFileSync(f, batch.map((o) => stringify(o)).join('---\n'));
        const r = await apply(f, dryRun);
        if (r.code !== 0) problems.push(...rejections(r.err));
        if (name === 'namespaces-crds' && batch.some((o) => o.kind === 'CustomResourceDefinition')) {
          await cp!.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'], { timeoutMs: 90_000 });
        }
      }
      expect(problems, `${file} cluster ${cluster.cluster}: rejected by the real API server`).toEqual([]);

      // Read back: what the server stored still says what we wrote (no field pruned away silently).
      const sample = stage2.find((o) => o.kind === 'Deployment') ?? stage2[0];
      if (sample) {
        const ns = sample.metadata.namespace ? ['-n', sample.metadata.namespace] : [];
        const got = await cp!.kubectl(['get', sample.kind.toLowerCase() + (groupOf(sample.apiVersion) ? `.${groupOf(sample.apiVersion)}` : ''), sample.metadata.name, ...ns, '-o', 'json']);
        expect(got.code, got.stderr).toBe(0);
        expect(JSON.parse(got.stdout).metadata.name).toBe(sample.metadata.name);
      }
      // The site ClusterIssuer is stored as written: its ACME solvers (DNS-01 included) survive pruning.
      const issuer = stage2.find((o) => o.kind === 'ClusterIssuer' && o.metadata.name === 'site-issuer');
      if (issuer) {
        const got = await cp!.kubectl(['get', 'clusterissuer.cert-manager.io', 'site-issuer', '-o', 'json']);
        expect(got.code, got.stderr).toBe(0);
        expect(JSON.parse(got.stdout).spec).toEqual(issuer.spec);
      }
    }
  }, 300_000);
});

describe('the real API server rejects a broken object (the test can fail)', () => {
  it('a Deployment whose selector does not match its template, and a CR violating its CRD schema', async (ctx) => {
    requireK8s(ctx);
    await freshServer('apply-broken');
    const dir = cp!.dir;
    const bad = resolve(dir, 'bad.yaml');
    writeFileSync(
      bad,
      stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'broken', namespace: 'default' },
        spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
      }),
    );
    const r = await apply(bad, false);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/selector.*does not match template labels|Invalid value/);

    // A cert-manager ClusterIssuer (CRD from ../shared/crds) with a field its schema does not allow.
    const issuerCrd = crds.get('cert-manager.io/ClusterIssuer');
    expect(issuerCrd, 'cert-manager CRDs in ../shared/crds').toBeDefined();
    const f = resolve(dir, 'issuer-crd.yaml');
    writeFileSync(f, stringify(issuerCrd));
    expect((await apply(f, false)).code).toBe(0);
    await cp!.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${issuerCrd!.metadata.name}`], { timeoutMs: 90_000 });
    const badCr = resolve(dir, 'bad-issuer.yaml');
    writeFileSync(badCr, stringify({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'broken' }, spec: { acme: { server: 'https://acme.invalid/dir' } } }));
    const r2 = await apply(badCr, false);
    expect(r2.code).not.toBe(0);
    expect(r2.err).toMatch(/privateKeySecretRef|Required value/);
  }, 180_000);
});
