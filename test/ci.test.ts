// CI must run the README's test line, and nothing weaker.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('CI contract', () => {
  it('.ci/run calls the README test command exactly', () => {
    const readme = readFileSync('README.md', 'utf8');
    const blocks = [...readme.matchAll(/```sh\n([^`]+)```/g)].map((m) => m[1]!.trim());
    const testLine = blocks.find((b) => b.includes('npm test'));
    expect(testLine).toBeDefined();
    const ci = readFileSync('.ci/run', 'utf8').split('\n').map((l) => l.trim());
    expect(ci).toContain(testLine);
  });

  it('package.json test script runs lint, typecheck and the suite', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(pkg.scripts.test).toMatch(/lint/);
    expect(pkg.scripts.test).toMatch(/typecheck/);
    expect(pkg.scripts.test).toMatch(/vitest run/);
    expect(pkg.engines.node).toBe('>=20');
    expect(pkg.dependencies['@kubernetes/client-node']).toBe('^1.4.0');
  });
});
