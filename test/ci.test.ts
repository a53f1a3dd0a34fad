// CI must run the README's test line, and nothing weaker; the committed lock must satisfy `npm ci`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

// `npm ci` refuses a lock that misses any package npm would resolve for package.json, including
// other platforms' optional binaries (@rollup/rollup-<os>-<arch>, @esbuild/<os>-<arch>). A dry
// run reads only package.json and the lock: offline, with an empty cache, no scripts, no writes.
function npmCiDryRun(pkg: string, lock: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-lock-'));
  try {
    writeFileSync(join(dir, 'package.json'), pkg);
    writeFileSync(join(dir, 'package-lock.json'), lock);
    const r = spawnSync(
      'npm',
      ['ci', '--dry-run', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', '--cache', join(dir, '.npm-cache')],
      { cwd: dir, encoding: 'utf8', timeout: 60_000 },
    );
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('package-lock.json', () => {
  const pkg = readFileSync('package.json', 'utf8');
  const lock = readFileSync('package-lock.json', 'utf8');

  it('is complete: `npm ci` accepts it on a fresh clone (every platform\'s optional packages locked)', () => {
    const r = npmCiDryRun(pkg, lock);
    expect(r.output).not.toMatch(/Missing: .* from lock file/);
    expect(r.status, r.output).toBe(0);
  });

  it('the check fails when the lock misses a platform package', () => {
    const parsed = JSON.parse(lock) as { packages: Record<string, unknown> };
    const victim = Object.keys(parsed.packages).find((k) => k.startsWith('node_modules/@rollup/rollup-darwin-'));
    expect(victim, 'the lock should hold @rollup/rollup-darwin-* entries').toBeDefined();
    delete parsed.packages[victim!];
    const r = npmCiDryRun(pkg, JSON.stringify(parsed, null, 2));
    expect(r.status).not.toBe(0);
    expect(r.output).toContain(`Missing: ${victim!.replace('node_modules/', '')}@`);
  });
});
