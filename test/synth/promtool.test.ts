// Every PrometheusRule group we generate passes `promtool check rules` (the rules file is the spec).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadSite } from '../../infra/site/index';
import { synthesizeSite } from '../../infra/synth/index';
import { run } from '../lab/exec';
import { requireTools } from '../lab/tools';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('promtool check rules', () => {
  it.for(['bj1', 'sh1', 'customer-airgap'])('every PrometheusRule of examples/%s.yaml', async (name, ctx) => {
    requireTools(ctx, ['promtool']);
    const r = await loadSite(`examples/${name}.yaml`);
    if (!r.ok) throw new Error('example invalid');
    const rules = synthesizeSite(r.value)
      .clusters.flatMap((c) => c.components)
      .flatMap((m) => m.objects)
      .filter((o) => o.kind === 'PrometheusRule');
    expect(rules.length).toBeGreaterThan(0);
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-rules-'));
    dirs.push(dir);
    for (const [i, rule] of rules.entries()) {
      const file = join(dir, `rules-${i}.yaml`);
      await writeFile(file, stringify((rule as unknown as { spec: unknown }).spec));
      const res = await run('promtool', ['check', 'rules', file], { timeoutMs: 30_000 });
      expect(res.stdout + res.stderr, file).toMatch(/SUCCESS: \d+ rules found/);
      expect(res.code).toBe(0);
    }
  });

  it('catches a broken expression (the check can fail)', async (ctx) => {
    requireTools(ctx, ['promtool']);
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-rules-'));
    dirs.push(dir);
    const file = join(dir, 'bad.yaml');
    await writeFile(file, stringify({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum(rate(x[5m]) >' }] }] }));
    const res = await run('promtool', ['check', 'rules', file], { timeoutMs: 30_000 });
    expect(res.code).not.toBe(0);
  });
});
