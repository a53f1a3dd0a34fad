// `flotilla synth` as a real process: the DESIGN.md layout, byte-identical output on a second run,
// exit 2 with positioned errors on invalid input.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadSite } from '../../infra/site/index';
import { run } from '../lab/exec';

const flotilla = (...args: string[]) => run('node', ['bin/flotilla.mjs', ...args], { timeoutMs: 60_000 });
const examples = ['bj1', 'sh1', 'customer-airgap'];
const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

async function tree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(dir);
  return out;
}

describe('flotilla synth', () => {
  it.each(examples)('examples/%s.yaml: layout, summary table, byte-identical on a second run', async (name) => {
    const a = await mkdtemp(join(tmpdir(), 'flotilla-synth-a-'));
    const b = await mkdtemp(join(tmpdir(), 'flotilla-synth-b-'));
    tmp.push(a, b);
    const r1 = await flotilla('synth', `examples/${name}.yaml`, '--out', a);
    expect(r1.stderr).toBe('');
    expect(r1.code).toBe(0);
    const r2 = await flotilla('synth', `examples/${name}.yaml`, '--out', b);
    expect(r2.code).toBe(0);
    const ta = await tree(a);
    const tb = await tree(b);
    expect([...ta.keys()]).toEqual([...tb.keys()]);
    expect(Object.fromEntries(ta)).toEqual(Object.fromEntries(tb));

    const site = await loadSite(`examples/${name}.yaml`);
    if (!site.ok) throw new Error('invalid example');
    const s = site.value;
    const root = join(a, s.metadata.name);
    // Layout of DESIGN.md
    for (const c of s.spec.clusters) {
      for (const comp of ['calico', 'istio', 'cert-manager', 'logging', 'monitoring', 'storage']) {
        expect((await stat(join(root, 'clusters', c.name, `${comp}.k8s.yaml`))).isFile()).toBe(true);
      }
      for (const n of c.nodes) expect((await stat(join(root, 'hosts', n.name))).isDirectory()).toBe(true);
    }
    for (const rt of s.spec.network.routers) expect((await stat(join(root, 'network', `${rt.name}.bird.conf`))).isFile()).toBe(true);
    expect((await stat(join(root, 'front', 'haproxy.cfg'))).isFile()).toBe(true);
    const images = (await readFile(join(root, 'images.txt'), 'utf8')).trimEnd().split('\n');
    expect(images).toEqual([...new Set(images)].sort());
    const charts = JSON.parse(await readFile(join(root, 'charts.json'), 'utf8')) as { charts: Array<Record<string, unknown>> };
    expect(charts.charts.length).toBeGreaterThan(5);
    for (const ch of charts.charts) {
      expect(Object.keys(ch).sort()).toEqual(['chart', 'cluster', 'component', 'id', 'images', 'namespace', 'repository', 'values', 'version']);
      for (const i of ch.images as string[]) expect(images).toContain(i);
    }
    const summary = JSON.parse(await readFile(join(root, 'summary.json'), 'utf8')) as { site: string; clusters: Array<{ cluster: string; components: Record<string, number> }> };
    expect(summary.site).toBe(s.metadata.name);
    // every image in the manifests is listed in images.txt; every file parses as YAML
    for (const c of s.spec.clusters) {
      for (const f of await readdir(join(root, 'clusters', c.name))) {
        const text = await readFile(join(root, 'clusters', c.name, f), 'utf8');
        for (const m of text.matchAll(/^\s*image: (\S+)$/gm)) expect(images).toContain(m[1]);
        const docs = text.split(/^---$/m).map((d) => parse(d) as { kind: string });
        expect(docs.length).toBe(summary.clusters.find((x) => x.cluster === c.name)!.components[f.replace('.k8s.yaml', '')]);
      }
    }
    // the summary table names every cluster and component
    for (const c of s.spec.clusters) expect(r1.stdout).toMatch(new RegExp(`^${s.metadata.name}\\s+${c.name}\\s+calico\\s+\\d+`, 'm'));
  });

  it('--air-gapped rewrites every image to the site registry', async () => {
    const out = await mkdtemp(join(tmpdir(), 'flotilla-synth-ag-'));
    tmp.push(out);
    const r = await flotilla('synth', 'examples/customer-airgap.yaml', '--out', out, '--air-gapped');
    expect(r.code).toBe(0);
    const images = (await readFile(join(out, 'acme-cust', 'images.txt'), 'utf8')).trimEnd().split('\n');
    expect(images.length).toBeGreaterThan(20);
    for (const i of images) expect(i.startsWith('registry.k8s.customer.internal/')).toBe(true);
    const calico = await readFile(join(out, 'acme-cust', 'clusters', 'cust-main', 'calico.k8s.yaml'), 'utf8');
    expect(calico).toContain('registry: registry.k8s.customer.internal/');
  });

  it.each([
    ['unknown-field', 'spec.network.mtu', /unknown field "mtu"/],
    ['pod-overlaps-service', 'spec.network.podCIDR', /overlaps serviceCIDR/],
  ])('invalid inventory %s: exit 2, positioned errors, nothing written', async (name, path, msg) => {
    const out = await mkdtemp(join(tmpdir(), 'flotilla-synth-bad-'));
    tmp.push(out);
    const file = `test/fixtures/invalid/${name}.yaml`;
    const r = await flotilla('synth', file, '--out', out);
    expect(r.code).toBe(2);
    const line = r.stderr.split('\n').find((l) => l.includes(` ${path}: `));
    expect(line, r.stderr).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}:\\d+:\\d+ `));
    expect(line).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
    expect(await readdir(out)).toEqual([]);
  });

  it('an unwritable --out is a clean exit 2 naming the folder', async () => {
    const r = await flotilla('synth', 'examples/bj1.yaml', '--out', 'package.json');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^--out package\.json: cannot write .*choose a writable folder/m);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
  });

  it('a missing file and no argument are clean exit 2', async () => {
    const r = await flotilla('synth', 'no/such/file.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read/);
    const r2 = await flotilla('synth');
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/missing required argument/);
  });
});
