// The cluster-mgr image, built from Debian packages + the official Node.js binary + the bundled
// daemon with no base image and no registry: the same digest from two builds, and the image run for
// real under runc (Debian's OCI runtime) — read-only root filesystem, non-root user, the daemon as
// PID 1 — answering /healthz for a simulated member and exiting 0 on SIGTERM.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClusterMgrImage, NONROOT, type BuiltImage } from '../../scripts/image/build';
import { startSim, type Sim } from '../../cluster-mgr/sim/index';
import { freePort, makeDir, requireTools, startDaemon, waitFor, type Daemon } from '../lab/index';
import { rmSync } from 'node:fs';

// Debian's runc: crun refuses this kernel's hybrid cgroup mounts ("cgroups in hybrid mode not
// supported"), runc runs on them.
const RUNTIME = 'runc';

let a: BuiltImage | undefined;
let b: BuiltImage | undefined;
const dir = makeDir('image');

beforeAll(async () => {
  // Two builds from scratch (the package caches are shared; the layout is written anew each time).
  a = await buildClusterMgrImage({ out: join(dir, 'a') });
  b = await buildClusterMgrImage({ out: join(dir, 'b') });
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cluster-mgr image', () => {
  it('is reproducible: two builds give the same manifest digest and identical blobs', () => {
    expect(a!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b!.digest).toBe(a!.digest);
    expect(readFileSync(join(a!.layout, 'index.json'), 'utf8')).toBe(readFileSync(join(b!.layout, 'index.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(a!.layout, 'blobs', 'sha256', a!.digest.slice(7)), 'utf8')) as { config: { digest: string } };
    const config = JSON.parse(readFileSync(join(a!.layout, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8')) as { config: { User: string; Entrypoint: string[] } };
    expect(config.config.User).toBe(`${NONROOT.uid}:${NONROOT.gid}`);
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/cluster-mgr.mjs']);
    expect(a!.packages.map((p) => p.name)).toEqual(['libc6', 'libgcc-s1', 'libstdc++6']);
  });

  describe('runs under runc', () => {
    let sim: Sim | undefined;
    let ctr: Daemon | undefined;
    afterAll(async () => {
      await ctr?.stop(5000);
      try {
        execFileSync(RUNTIME, ['delete', '-f', 'flotilla-image-test'], { stdio: 'ignore' });
      } catch {
        // already gone
      }
      await sim?.stop();
    });

    it('read-only root, non-root, PID 1: serves /healthz for a simulated member and exits 0 on SIGTERM', async (ctx) => {
      requireTools(ctx, [RUNTIME], { root: true });
      const bundle = join(dir, 'bundle');
      const rootfs = join(bundle, 'rootfs');
      mkdirSync(rootfs, { recursive: true });
      const manifest = JSON.parse(readFileSync(join(a!.layout, 'blobs', 'sha256', a!.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
      execFileSync('tar', ['-xzf', join(a!.layout, 'blobs', 'sha256', manifest.layers[0]!.digest.slice(7)), '-C', rootfs]);

      sim = await startSim({ names: ['img-1'], outDir: join(dir, 'sim') });
      // The config as a Secret volume would present it: readable by the pod's user (fsGroup).
      execFileSync('cp', ['-r', join(dir, 'sim'), join(dir, 'etc')]);
      execFileSync('chown', ['-R', `${NONROOT.uid}:${NONROOT.gid}`, join(dir, 'etc')]);
      const port = await freePort();
      const spec = {
        ociVersion: '1.0.2',
        process: {
          terminal: false,
          user: { uid: NONROOT.uid, gid: NONROOT.gid },
          args: ['/usr/local/bin/node', '/app/cluster-mgr.mjs', 'run', '--config', '/etc/cluster-mgr/federation.yaml', '--listen', `127.0.0.1:${port}`],
          env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production'],
          cwd: '/',
          capabilities: { bounding: [], effective: [], permitted: [], ambient: [] },
          noNewPrivileges: true,
        },
        root: { path: 'rootfs', readonly: true },
        hostname: 'cluster-mgr',
        mounts: [
          { destination: '/proc', type: 'proc', source: 'proc' },
          { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
          { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=16m'] },
          { destination: '/etc/cluster-mgr', type: 'bind', source: join(dir, 'etc'), options: ['rbind', 'ro'] },
        ],
        // No network namespace: the daemon listens on the host's loopback, where the test reaches it
        // and where the simulated member's API is.
        linux: { namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }] },
      };
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
      ctr = startDaemon({ name: 'runc-cluster-mgr', command: RUNTIME, args: ['run', '--bundle', bundle, 'flotilla-image-test'] });
      const body = await waitFor(
        async () => {
          if (!ctr!.isRunning()) return Promise.reject(new Error(`container exited:\n${ctr!.logs()}`));
          const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
          return r?.status === 200 ? r.text() : undefined;
        },
        { timeoutMs: 30_000, what: '/healthz of the daemon in the container' },
      );
      expect(body).toMatch(/ok/i);
      const state = (await (await fetch(`http://127.0.0.1:${port}/api/state`)).json()) as { clusters: { name: string; health: string }[] };
      expect(state.clusters.map((c) => c.name)).toEqual(['img-1']);
      // The process in the container is PID 1, runs as nonroot, and the root filesystem is read-only.
      const pid1 = execFileSync(RUNTIME, ['exec', 'flotilla-image-test', '/usr/local/bin/node', '-e', "const fs=require('fs');let w='rw';try{fs.writeFileSync('/x','')}catch(e){w=e.code};console.log(JSON.stringify({uid:process.getuid(),pid1:fs.readFileSync('/proc/1/cmdline','utf8').split('\\0')[1],w}))"], { encoding: 'utf8' });
      expect(JSON.parse(pid1)).toEqual({ uid: NONROOT.uid, pid1: '/app/cluster-mgr.mjs', w: 'EROFS' });
      execFileSync(RUNTIME, ['kill', 'flotilla-image-test', 'TERM']);
      const exit = await ctr.exited;
      expect(exit.code, ctr.logs()).toBe(0);
    }, 120_000);
  });
});
