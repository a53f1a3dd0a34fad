// Import direction for the day-2 split: infra/day2 is a leaf (node builtins and itself only), so both
// `flotilla check` (scripts/) and cluster-mgr may use it; cluster-mgr's daemon side (everything but
// the CLI entry points, which share scripts/cli's command plumbing) never imports from scripts/;
// core/ touches no node built-in.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}
const imports = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);

describe('import direction', () => {
  it('infra/day2 is a leaf', () => {
    const bad = files('infra/day2').flatMap((f) => imports(f).filter((i) => !i.startsWith('node:') && !i.startsWith('./')).map((i) => `${f} → ${i}`));
    expect(bad).toEqual([]);
  });

  it('cluster-mgr (outside its CLI entry points) does not import from scripts/', () => {
    const cli = new Set(['cluster-mgr/main.ts', 'cluster-mgr/cli/run.ts', 'cluster-mgr/cli/plan.ts', 'cluster-mgr/sim/cli.ts']);
    const bad = files('cluster-mgr')
      .filter((f) => !cli.has(f))
      .flatMap((f) => imports(f).filter((i) => /(^|\/)scripts\//.test(i)).map((i) => `${f} → ${i}`));
    expect(bad).toEqual([]);
  });

  it('cluster-mgr/core imports no node built-in (pure)', () => {
    const bad = files('cluster-mgr/core').flatMap((f) => imports(f).filter((i) => i.startsWith('node:')).map((i) => `${f} → ${i}`));
    expect(bad).toEqual([]);
  });

  it('the checker sees imports (it can fail)', () => {
    expect(imports('cluster-mgr/cli/run.ts')).toContain('../../scripts/cli/exit');
    expect(imports('infra/day2/probe.ts')).toContain('node:tls');
  });
});
