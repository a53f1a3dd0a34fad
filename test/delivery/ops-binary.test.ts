// The pure parts of putting cluster-mgr on the ops host from the bundle: reading files out of an image
// layer (tar archives written by the real GNU tar: ustar, pax and GNU long names) and the wrapper
// script (run for real: it finds its files relative to its own path and passes arguments through).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLUSTER_MGR_LIB_DIR, pruneOldVersionsScript, renderClusterMgrWrapper, tarFiles } from '../../scripts/delivery/ops-binary';
import { HOST_PATHS } from '../../infra/lib/host-files';
import { makeDir } from '../lab/index';

const dir = makeDir('ops-binary');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LONG = `app/${'deep/'.repeat(25)}cluster-mgr.mjs`; // > 100 characters: needs a pax or GNU long name

function archive(format: 'posix' | 'gnu', files: Record<string, string>, extraArgs: string[] = []): Buffer {
  const root = join(dir, `root-${format}-${Object.keys(files).length}`);
  rmSync(root, { recursive: true, force: true });
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), c);
  }
  return execFileSync('tar', ['--sort=name', `--format=${format}`, ...extraArgs, '-C', root, '-cf', '-', '.'], { maxBuffer: 1 << 24 });
}

describe('tarFiles', () => {
  it.each(['posix', 'gnu'] as const)('reads the named regular files of a %s archive, long names included', (format) => {
    const tar = archive(format, { 'usr/local/bin/node': 'NODE', [LONG]: 'DAEMON', 'etc/passwd': 'x', 'big.bin': 'y'.repeat(5000) });
    const got = tarFiles(tar, ['/usr/local/bin/node', LONG, '/big.bin', '/not/there']);
    expect([...got.keys()].sort()).toEqual(['big.bin', LONG, 'usr/local/bin/node'].sort());
    expect(got.get('usr/local/bin/node')!.toString()).toBe('NODE');
    expect(got.get(LONG)!.toString()).toBe('DAEMON');
    expect(got.get('big.bin')!.toString()).toBe('y'.repeat(5000));
  });
  it('a later entry of the same name wins, as extraction would', () => {
    const a = archive('gnu', { 'app/x': 'old' });
    const b = archive('gnu', { 'app/x': 'new' });
    // two archives back to back without the first end-of-archive blocks: tar -A (concatenate) semantics
    const zero = Buffer.alloc(512);
    const strip = (t: Buffer) => {
      let off = 0;
      while (off < t.length && !t.subarray(off, off + 512).equals(zero)) off += 512; // no data block here is all zeros
      return t.subarray(0, off);
    };
    const joined = Buffer.concat([strip(a), b]);
    expect(tarFiles(joined, ['app/x']).get('app/x')?.toString()).toBe('new');
  });
  it('a cut archive is an error, not a short file', () => {
    const tar = archive('gnu', { 'big.bin': 'z'.repeat(3000) });
    expect(() => tarFiles(tar.subarray(0, 1024), ['big.bin'])).toThrow(/big\.bin is cut short/);
  });
});

describe('the wrapper', () => {
  it('runs the entrypoint from its version folder relative to its own path, with the image environment, arguments passed through', () => {
    const root = join(dir, 'host');
    const version = 'abc123def456';
    const lib = join(root, CLUSTER_MGR_LIB_DIR, version);
    mkdirSync(lib, { recursive: true });
    // a stand-in interpreter: prints its script, the environment variable and the arguments
    writeFileSync(join(lib, 'node'), '#!/bin/sh\necho "script=$(readlink -f "$1") env=$NODE_ENV"; shift; echo "args=$*"\n');
    writeFileSync(join(lib, 'cluster-mgr.mjs'), '');
    chmodSync(join(lib, 'node'), 0o755);
    const text = renderClusterMgrWrapper({ ref: 'r:1', digest: 'sha256:x', version, entrypoint: ['/usr/local/bin/node', '/app/cluster-mgr.mjs'], env: ['PATH=/usr/bin', 'NODE_ENV=production'], files: ['node', 'cluster-mgr.mjs'] });
    expect(text).not.toContain('PATH='); // the host's PATH stays
    const wrapper = join(root, HOST_PATHS.clusterMgrBinary);
    mkdirSync(join(wrapper, '..'), { recursive: true });
    writeFileSync(wrapper, text);
    chmodSync(wrapper, 0o755);
    const out = execFileSync(wrapper, ['run', '--config', "it's here.yaml"], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(out).toBe(`script=${lib}/cluster-mgr.mjs env=production\nargs=run --config it's here.yaml\n`);
    // through a symlink (e.g. /usr/bin/cluster-mgr → the wrapper) too
    execFileSync('ln', ['-sf', wrapper, join(dir, 'link')]);
    expect(execFileSync(join(dir, 'link'), ['x'], { encoding: 'utf8' })).toContain(`script=${lib}/cluster-mgr.mjs`);
    // pruning keeps only the current version
    mkdirSync(join(root, CLUSTER_MGR_LIB_DIR, 'old000000000'), { recursive: true });
    execFileSync('sh', ['-c', pruneOldVersionsScript(version, (p) => join(root, p))]);
    expect(execFileSync('ls', [join(root, CLUSTER_MGR_LIB_DIR)], { encoding: 'utf8' }).trim()).toBe(version);
  });
});
