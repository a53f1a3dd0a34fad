// Registers the conformance cases (suite.ts) against one target. One target per test file, started in
// beforeAll. On the simulator, a case it does not model becomes "gap: <behaviour> (documented)",
// which passes only while docs/sim.md lists the gap next to the real-server test covering it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCI, k8sAssets, REPO_ROOT, requireK8s } from '../lab';
import { CASES, type Case } from './suite';
import type { Target } from './targets';

export interface DocRow {
  readonly behaviour: string;
  readonly sim: string;
  readonly real: string;
}

/** The behaviour table of docs/sim.md ("## Conformance" section): behaviour | sim | real-server test. */
export function conformanceTable(): DocRow[] {
  const md = readFileSync(join(REPO_ROOT, 'docs', 'sim.md'), 'utf8');
  const start = md.indexOf('\n## Conformance');
  if (start < 0) return [];
  const end = md.indexOf('\n## ', start + 5);
  const section = md.slice(start, end < 0 ? undefined : end);
  const rows: DocRow[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| behaviour') || line.startsWith('|---')) continue;
    const cells = line.split(' | ').map((c) => c.replace(/^\|\s*|\s*\|$/g, '').trim());
    if (cells.length < 3) continue;
    rows.push({ behaviour: cells[0]!, sim: cells[1]!, real: cells.slice(2).join(' | ') });
  }
  return rows;
}

export interface RunOptions {
  readonly kind: 'sim' | 'real';
  readonly start: () => Promise<Target>;
  /** Which cases this file runs. @default - every case for its kind (IPv6 cases only on IPv6 targets) */
  readonly include?: (c: Case) => boolean;
}

export function runConformance(o: RunOptions): void {
  const cases = CASES.filter(o.include ?? ((c) => !c.ipv6 || o.kind === 'sim'));
  let target: Target | undefined;
  const prepared = new Map<Case, Promise<unknown>>();

  beforeAll(async () => {
    if (o.kind === 'real') {
      const a = k8sAssets();
      if (!a.ok) {
        if (isCI()) throw new Error(`required under CI=true: lab Kubernetes binaries missing: ${a.message}`);
        return; // every test skips with the reason (requireK8s)
      }
    }
    target = await o.start();
    for (const c of cases) {
      if (!c.prepare || (o.kind === 'sim' && c.simGap)) continue;
      const p = c.prepare(target);
      p.catch(() => undefined); // reported by the case itself
      prepared.set(c, p);
    }
  }, 180_000);

  afterAll(async () => {
    await target?.stop();
  }, 60_000);

  // Cases with a `prepare` (long waits started in beforeAll) go last, so their wait overlaps the rest.
  const ordered = [...cases.filter((c) => !c.prepare), ...cases.filter((c) => c.prepare)];
  const blocks: { group: string; cases: Case[] }[] = [];
  for (const c of ordered) {
    const last = blocks[blocks.length - 1];
    const same = blocks.find((b) => b.group === c.group && (!!b.cases[0]!.prepare === !!c.prepare));
    if (same) same.cases.push(c);
    else if (last && last.group === c.group) last.cases.push(c);
    else blocks.push({ group: c.group, cases: [c] });
  }
  for (const { group: g, cases: inBlock } of blocks) {
    describe(g, () => {
      for (const c of inBlock) {
        if (o.kind === 'sim' && c.simGap) {
          it(`gap: ${c.title} (documented)`, () => {
            const row = conformanceTable().find((r) => r.behaviour === c.title);
            expect(row, `docs/sim.md "## Conformance" has no row for "${c.title}"`).toBeDefined();
            expect(row!.sim, 'the sim column names the gap').toMatch(/^gap\b/);
            expect(row!.real, 'the row names the real-server test').toMatch(/test\/conformance\/real(-ipv6)?\.test\.ts/);
          });
          continue;
        }
        it(
          c.title,
          async (ctx) => {
            if (o.kind === 'real') requireK8s(ctx);
            if (!target) throw new Error('the target did not start (see beforeAll)');
            await c.run(target, await prepared.get(c));
          },
          c.timeoutMs ?? 30_000,
        );
      }
    });
  }
}
