// `npm start` smoke test: `node bin/flotilla.mjs demo` synthesizes the examples, starts simulated
// members named after examples/sh1.yaml's clusters and cluster-mgr with the dashboard, prints the
// URL; /api/state lists those clusters with replicas assigned; SIGINT → exit 0, no process left.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSite } from '../../infra/site/index';
import { freePort, k8sBinary, requireK8s, run, waitFor } from '../lab/index';

/** Every live descendant pid of `root` (from /proc). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(d), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp === p && !out.includes(c)) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(root);
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

interface DemoProc {
  readonly child: ChildProcess;
  readonly tmp: string;
  readonly exited: Promise<number | null>;
  out(): string;
  /** The process tree, recorded right before the interrupt. */
  tree: number[];
}

function spawnDemo(prefix: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): DemoProc {
  const tmp = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const child = spawn(process.execPath, ['bin/flotilla.mjs', 'demo', '--out', join(tmp, 'out'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, tmp, exited, out: () => out, tree: [] };
}

/** Ctrl-C: exit 0 within `graceMs`, and no process of the demo's tree left. */
async function interruptDemo(d: DemoProc, graceMs: number): Promise<void> {
  d.tree = descendants(d.child.pid!);
  d.child.kill('SIGINT');
  const code = await Promise.race([d.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs))]);
  expect(code, d.out()).toBe(0);
  await waitFor(() => d.tree.every((p) => !alive(p)), { what: `no process left of ${d.tree.join(', ')}`, timeoutMs: 10_000 });
}

/** Teardown whatever the test left running (after a failure). */
function cleanupDemo(d: DemoProc): void {
  if (d.child.exitCode === null) d.child.kill('SIGKILL');
  for (const p of d.tree) if (alive(p)) process.kill(p, 'SIGKILL');
  rmSync(d.tmp, { recursive: true, force: true });
}

describe('npm start (flotilla demo)', () => {
  it('serves the example site as a federation, then stops cleanly on SIGINT', async () => {
    const site = await loadSite('examples/sh1.yaml');
    if (!site.ok) throw new Error('examples/sh1.yaml invalid');
    const clusters = site.value.spec.clusters.map((c) => c.name).sort();
    const port = await freePort();
    const d = spawnDemo('flotilla-demo', ['--port', String(port)]);
    const tmp = d.tmp;
    const out = d.out;
    try {
      const url = await waitFor(() => /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out())?.[1], { what: `the dashboard URL in the output:\n${out()}`, timeoutMs: 90_000, intervalMs: 100 });
      expect(out()).toContain(`kubectl --kubeconfig ${join(tmp, 'out', 'federation', 'kubeconfigs', `${clusters[0]}.yaml`)} get deploy -A`);
      const state = await waitFor(
        async () => {
          const s = (await (await fetch(`${url}api/state`)).json()) as { clusters: { name: string; health: string }[]; apps: { assignments: Record<string, number>; running: Record<string, { ready: number }> }[] };
          const assigned = s.apps.flatMap((a) => Object.values(a.assignments)).reduce((x, y) => x + y, 0);
          return assigned > 0 && s.clusters.every((c) => c.health === 'Healthy') ? s : undefined;
        },
        { what: 'replicas assigned in /api/state', timeoutMs: 20_000, intervalMs: 200 },
      );
      expect(state.clusters.map((c) => c.name).sort()).toEqual(clusters);
      for (const c of clusters) expect(state.apps[0]!.assignments[c]).toBeGreaterThan(0);
      const page = await (await fetch(url)).text();
      expect(page).toContain('<html');
      await interruptDemo(d, 15_000);
      expect(out()).toContain('stopped');
      await waitFor(async () => (await fetch(url).catch(() => undefined)) === undefined, { what: 'the dashboard port closed', timeoutMs: 5000 });
    } finally {
      cleanupDemo(d);
    }
  }, 150_000);

  it('--no-serve / FLOTILLA_DEMO_ONESHOT=1 only synthesizes and exits 0', async () => {
    const d = spawnDemo('flotilla-demo-oneshot', [], { FLOTILLA_DEMO_ONESHOT: '1' });
    try {
      const code = await Promise.race([d.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000))]);
      expect(code, d.out()).toBe(0);
      expect(d.out()).toContain('✔ examples/sh1.yaml');
      expect(d.out()).not.toContain('Dashboard:');
      expect(readdirSync(join(d.tmp, 'out')).sort()).toEqual(expect.arrayContaining(['sh1']));
      expect(readdirSync(join(d.tmp, 'out'))).not.toContain('federation');
    } finally {
      cleanupDemo(d);
    }
  }, 120_000);

  it('--members real: the same demo on real control planes (kwok nodes), assigned replicas Ready on the real servers, SIGINT → exit 0, nothing left', async (ctx) => {
    requireK8s(ctx);
    const site = await loadSite('examples/sh1.yaml');
    if (!site.ok) throw new Error('examples/sh1.yaml invalid');
    const clusters = site.value.spec.clusters.map((c) => c.name).sort();
    const d = spawnDemo('flotilla-demo-real', ['--members', 'real', '--port', String(await freePort())]);
    const tmp = d.tmp;
    const out = d.out;
    try {
      const url = await waitFor(() => /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out())?.[1], { what: `the dashboard URL in the output:\n${out()}`, timeoutMs: 120_000, intervalMs: 100 });
      expect(out()).toMatch(/started 2 control planes in [\d.]+ s/);
      const state = await waitFor(
        async () => {
          const s = (await (await fetch(`${url}api/state`)).json()) as { clusters: { name: string; health: string }[]; apps: { name: string; namespace: string; assignments: Record<string, number> }[] };
          const assigned = s.apps.flatMap((a) => Object.values(a.assignments)).reduce((x, y) => x + y, 0);
          return assigned > 0 && s.clusters.every((c) => c.health === 'Healthy') ? s : undefined;
        },
        { what: 'replicas assigned in /api/state', timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(state.clusters.map((c) => c.name).sort()).toEqual(clusters);
      // The Deployment cluster-mgr wrote is on the real API server, and the real scheduler + kwok
      // made its pods Ready on worker nodes only (masters and edge nodes are tainted).
      const app = state.apps[0]!;
      const kubeconfig = join(tmp, 'out', 'federation', 'kubeconfigs', `${clusters[0]}.yaml`);
      const pods = await waitFor(
        async () => {
          const r = await run(k8sBinary('kubectl'), ['--kubeconfig', kubeconfig, 'get', 'pods', '-n', app.namespace, '-o', 'json']);
          const items = (JSON.parse(r.stdout) as { items: { spec: { nodeName?: string }; status: { conditions?: { type: string; status: string }[] } }[] }).items;
          const ready = items.filter((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
          return ready.length > 0 && ready.length === (app.assignments[clusters[0]!] ?? -1) ? ready : undefined;
        },
        { what: `${app.name}'s pods Ready on ${clusters[0]}`, timeoutMs: 30_000, intervalMs: 250 },
      );
      const workers = new Set(site.value.spec.clusters.find((c) => c.name === clusters[0])!.nodes.filter((n) => n.roles.includes('worker') && n.roles.length === 1).map((n) => n.name));
      for (const p of pods) expect(workers.has(p.spec.nodeName!), `pod on ${p.spec.nodeName}`).toBe(true);
      await interruptDemo(d, 30_000);
    } finally {
      cleanupDemo(d);
    }
  }, 240_000);

  it('--members real without the binaries: exit 2 saying how to get them', async () => {
    const d = spawnDemo('flotilla-demo-nobin', ['--members', 'real'], { KUBEBUILDER_ASSETS: tmpdir() });
    try {
      expect(await d.exited).toBe(2);
      expect(d.out()).toMatch(/--members real: k8s-assets: KUBEBUILDER_ASSETS=.* lacks: kube-apiserver/);
      expect(d.out()).toMatch(/run scripts\/setup/);
      expect(d.out()).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      cleanupDemo(d);
    }
  }, 120_000);

  it('--members with an unknown kind: exit 2 naming the value and the choices', async () => {
    const child = spawn(process.execPath, ['bin/flotilla.mjs', 'demo', '--members', 'cloud'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect(await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))).toBe(2);
    expect(err).toContain('--members "cloud" is not a member kind; use sim or real');
  }, 60_000);
});
