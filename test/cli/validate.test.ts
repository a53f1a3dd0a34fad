// The `flotilla validate` CLI contract, run as a real process through the package bin.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../lab/exec';

const flotilla = (...args: string[]) => run('node', ['bin/flotilla.mjs', ...args], { timeoutMs: 30_000 });

describe('flotilla validate', () => {
  it.each(readdirSync('examples').filter((f) => f.endsWith('.yaml')))('examples/%s exits 0 with a summary', async (f) => {
    const r = await flotilla('validate', `examples/${f}`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid — site \S+ \((prod|pre|test)\): \d+ cluster/);
  });

  it.each([
    ['pod-overlaps-service', 'spec.network.podCIDR', /overlaps serviceCIDR/],
    ['duplicate-node-address', 'spec.clusters[0].nodes[6].address', /already used/],
    ['vip-outside-subnet', 'spec.clusters[0].edge.vips[0].address', /outside the subnet/],
    ['unknown-field', 'spec.network.mtu', /unknown field "mtu"/],
    ['bad-indent', '(yaml)', /indent|column|mapping/i],
  ])('%s exits 2 naming the path and line', async (name, path, msg) => {
    const file = `test/fixtures/invalid/${name}.yaml`;
    const r = await flotilla('validate', file);
    expect(r.code).toBe(2);
    const line = r.stderr.split('\n').find((l) => l.includes(` ${path}: `));
    expect(line, r.stderr).toBeDefined();
    expect(line).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}:\\d+:\\d+ `));
    expect(line).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/); // no stack trace
  });

  it.each([
    ['a missing file', ['validate', 'no/such/file.yaml'], /cannot read: no such file/],
    ['a directory', ['validate', 'examples'], /is a directory/],
    ['a binary file', ['validate', 'node_modules/.bin/../esbuild/bin/esbuild'], /.+/],
    ['no argument', ['validate'], /missing required argument/],
    ['an unknown option', ['validate', 'examples/bj1.yaml', '--frobnicate'], /unknown option/],
  ])('%s is a clean exit 2', async (_n, args, msg) => {
    const r = await flotilla(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
  });

  it('the sites of one federation together: every example at once exits 0', async () => {
    const files = readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => `examples/${f}`);
    const r = await flotilla('validate', ...files);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${files.length} sites: no pod or service range shared between their clusters`);
    const json = JSON.parse((await flotilla('validate', ...files, '--format', 'json')).stdout);
    expect(json.summaries.map((s: { file: string }) => s.file)).toEqual(files);
  });

  it('a pod range shared with another site exits 2, located in the later file and naming the earlier', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'validate-'));
    try {
      const bj1 = join(dir, 'bj1.yaml');
      writeFileSync(bj1, readFileSync('examples/bj1.yaml', 'utf8').replace('podCIDR: 10.244.0.0/16', 'podCIDR: 10.49.0.0/16'));
      expect((await flotilla('validate', bj1)).code).toBe(0); // fine on its own
      const r = await flotilla('validate', 'examples/sh1.yaml', bj1);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^${bj1}:\\d+:\\d+ spec.network.podCIDR: cluster "bj1-a" podCIDR "10.49.0.0/16" .*overlaps site "sh1" \\(examples/sh1.yaml\\) cluster "sh1-a"`, 'm'));
      expect(r.stderr).toContain('2 files: 1 error');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--format json gives machine-readable errors', async () => {
    const r = await flotilla('validate', 'test/fixtures/invalid/unknown-field.yaml', '--format', 'json');
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(false);
    expect(out.errors[0]).toMatchObject({ path: 'spec.network.mtu', line: expect.any(Number), col: expect.any(Number) });
  });
});
