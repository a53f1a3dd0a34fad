// Import direction for the day-2 split: infra/day2 is a leaf (node builtins and itself only), so both
// `flotilla check` (scripts/) and cluster-mgr may use it; nothing in cluster-mgr (its CLI entry points
// included: they use cluster-mgr/cli/exit.ts) imports from scripts/; core/ touches no node built-in.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}
// Static `import … from '…'` / `export … from '…'` and dynamic `import('…')`.
const imports = (file: string) => {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+'([^']+)'/gm), ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!);
};

describe('import direction', () => {
  it('infra/day2 is a leaf', () => {
    const bad = files('infra/day2').flatMap((f) => imports(f).filter((i) => !i.startsWith('node:') && !i.startsWith('./')).map((i) => `${f} → ${i}`));
    expect(bad).toEqual([]);
  });

  it('nothing in cluster-mgr imports from scripts/', () => {
    const bad = files('cluster-mgr').flatMap((f) => imports(f).filter((i) => /(^|\/)scripts\//.test(i)).map((i) => `${f} → ${i}`));
    expect(bad).toEqual([]);
  });

  it('cluster-mgr/core imports no node built-in (pure)', () => {
    const bad = files('cluster-mgr/core').flatMap((f) => imports(f).filter((i) => i.startsWith('node:')).map((i) => `${f} → ${i}`));
    expect(bad).toEqual([]);
  });

  it('the checker sees imports (it can fail)', () => {
    expect(imports('cluster-mgr/cli/run.ts')).toContain('./exit');
    expect(imports('infra/day2/probe.ts')).toContain('node:tls');
  });
});
