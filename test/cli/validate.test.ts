// The `flotilla validate` CLI contract, run as a real process through the package bin.
import { readdirSync } from 'node:fs';
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

  it('--format json gives machine-readable errors', async () => {
    const r = await flotilla('validate', 'test/fixtures/invalid/unknown-field.yaml', '--format', 'json');
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(false);
    expect(out.errors[0]).toMatchObject({ path: 'spec.network.mtu', line: expect.any(Number), col: expect.any(Number) });
  });
});
