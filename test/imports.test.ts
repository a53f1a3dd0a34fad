// Import direction (DESIGN "How it should feel inside"): a leaf helpers module ← site model ←
// constructs, renderers, chart catalog ← synthesis ← Pulumi program and CLI; cluster-mgr uses only
// the leaf and the site model; nothing imports upward.
//
// Every relative import of every production file (infra, constructs, cluster-mgr, scripts, bin;
// not *.test.ts) is read and mapped to its *module* (infra/<x>, scripts/<x>, constructs,
// cluster-mgr, bin). The test fails on
//   (a) a cycle between modules (module → module edges; a module may import itself), and
//   (b) an import against the layer order below.
// It checks modules and layers, not top-level folders: infra/ holds both the site model (below
// constructs/) and synthesis (above it), so the folder-level cycle constructs/ ↔ infra/ is what the
// design asks for, while infra/site → constructs or constructs → infra/synth would be a real cycle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

type Layer = 'leaf' | 'site' | 'build' | 'synth' | 'app' | 'cluster-mgr';

/** Module (a folder below the top level, or a top-level file) → layer. */
export function layerOf(mod: string): Layer {
  if (mod === 'infra/lib' || mod === 'infra/day2') return 'leaf'; // import nothing of ours
  if (mod === 'infra/site') return 'site';
  if (mod === 'constructs' || mod === 'infra/render' || mod === 'infra/catalog') return 'build';
  if (mod === 'infra/synth') return 'synth';
  if (mod === 'cluster-mgr') return 'cluster-mgr';
  return 'app'; // infra/pulumi, infra/index.ts, scripts/*, bin
}

/** Which layers a layer may import (besides its own module). */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  leaf: [],
  site: ['leaf'],
  build: ['leaf', 'site', 'build'],
  synth: ['leaf', 'site', 'build'],
  app: ['leaf', 'site', 'build', 'synth', 'app', 'cluster-mgr'],
  'cluster-mgr': ['leaf', 'site'],
};

/**
 * Known exceptions, file → imported file; nothing else may be added here.
 * `cluster-mgr sim` is a composition root: its command injects infra/render's front-HAProxy renderer
 * into the simulator (`startSim({ renderFront })`), which itself imports nothing above the site model.
 */
const ALLOWED = new Set(['cluster-mgr/sim/cli.ts → infra/render/front.ts']);

const ROOTS = ['infra', 'constructs', 'cluster-mgr', 'scripts', 'bin'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'node_modules' ? [] : files(p);
    return /\.(ts|mts|mjs)$/.test(p) && !/\.test\.ts$/.test(p) ? [p.split(sep).join('/')] : [];
  });
}

const STATIC = /^[ \t]*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm;
const BARE = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Relative import specifiers of a source text (static, side-effect and dynamic). */
export function importsOf(text: string): string[] {
  return [...text.matchAll(STATIC), ...text.matchAll(BARE), ...text.matchAll(DYNAMIC)].map((m) => m[1]!).filter((s) => s.startsWith('.'));
}

/** `infra/render/bird.ts` → `infra/render`; `constructs/imports/x.ts` → `constructs`; `infra/index.ts` → `infra/index.ts`. */
export function moduleOf(file: string): string {
  const parts = file.split('/');
  if ((parts[0] === 'infra' || parts[0] === 'scripts') && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  return parts.length > 1 && parts[0] !== 'infra' && parts[0] !== 'scripts' ? parts[0]! : file;
}

function resolveImport(from: string, spec: string, known: ReadonlySet<string>): string {
  const base = normalize(join(dirname(from), spec)).split(sep).join('/');
  for (const c of [base, `${base}.ts`, `${base}/index.ts`, base.replace(/\.js$/, '.ts')]) if (known.has(c)) return c;
  return base; // non-source (a .yaml, a .json): still counted by its module
}

export interface Edge {
  readonly from: string;
  readonly to: string;
}

/** Import edges (file → file) of the given files, inside the repository only. */
export function edgesOf(root: string, list: readonly string[]): Edge[] {
  const known = new Set(list);
  return list.flatMap((f) =>
    importsOf(readFileSync(join(root, f), 'utf8'))
      .map((s) => resolveImport(f, s, known))
      .filter((to) => !relative('.', to).startsWith('..') && !to.startsWith('node_modules/'))
      .map((to) => ({ from: f, to })),
  );
}

/** Imports against the layer order (not in ALLOWED). */
export function violations(edges: readonly Edge[], allowed: ReadonlySet<string> = ALLOWED): string[] {
  return edges
    .filter((e) => {
      const a = moduleOf(e.from);
      const b = moduleOf(e.to);
      if (a === b) return false;
      return !MAY_IMPORT[layerOf(a)].includes(layerOf(b)) && !allowed.has(`${e.from} → ${e.to}`);
    })
    .map((e) => `${e.from} (${layerOf(moduleOf(e.from))}) → ${e.to} (${layerOf(moduleOf(e.to))})`);
}

/** Cycles in the module graph, each as `a → b → … → a` (one per strongly connected component). */
export function moduleCycles(edges: readonly Edge[], allowed: ReadonlySet<string> = ALLOWED): string[] {
  const graph = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = moduleOf(e.from);
    const b = moduleOf(e.to);
    if (a === b || allowed.has(`${e.from} → ${e.to}`)) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a)!.add(b);
  }
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push([...scc.sort(), scc[0]].join(' → '));
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

describe('import direction (layers)', () => {
  const list = ROOTS.flatMap((r) => files(r));
  const edges = edgesOf('.', list);

  it('reads the production files and their imports', () => {
    expect(list.length).toBeGreaterThan(100);
    expect(edges).toContainEqual({ from: 'infra/synth/index.ts', to: 'infra/render/index.ts' });
    expect(edges).toContainEqual({ from: 'bin/flotilla.mjs', to: 'scripts/flotilla.ts' });
  });

  it('no import against the layer order', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('no cycle between modules', () => {
    expect(moduleCycles(edges)).toEqual([]);
  });

  it('the leaf modules import nothing of ours', () => {
    expect(edges.filter((e) => layerOf(moduleOf(e.from)) === 'leaf' && moduleOf(e.to) !== moduleOf(e.from))).toEqual([]);
  });

  it('every allowed exception still exists (remove stale ones)', () => {
    const seen = new Set(edges.map((e) => `${e.from} → ${e.to}`));
    expect([...ALLOWED].filter((a) => !seen.has(a))).toEqual([]);
  });

  it('the checks can fail', () => {
    const bad: Edge[] = [
      { from: 'infra/site/schema.ts', to: 'constructs/common.ts' },
      { from: 'infra/lib/net.ts', to: 'infra/site/index.ts' },
      { from: 'cluster-mgr/core/plan.ts', to: 'infra/render/index.ts' },
      { from: 'infra/render/index.ts', to: 'infra/catalog/charts.ts' },
      { from: 'infra/catalog/charts.ts', to: 'infra/render/index.ts' },
    ];
    expect(violations(bad)).toEqual([
      'infra/site/schema.ts (site) → constructs/common.ts (build)',
      'infra/lib/net.ts (leaf) → infra/site/index.ts (site)',
      'cluster-mgr/core/plan.ts (cluster-mgr) → infra/render/index.ts (build)',
    ]);
    expect(moduleCycles(bad)).toEqual(['infra/catalog → infra/render → infra/catalog']);
    expect(importsOf("import {\n  a,\n} from './x';\nexport * from '../y';\nimport './z';\nconst m = await import('./w');\n// import nothing from 'react'\n")).toEqual(['./x', '../y', './z', './w']);
  });
});
