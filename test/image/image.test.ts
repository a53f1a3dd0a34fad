// The cluster-mgr image, built from Debian packages + the official Node.js binary + the bundled
// daemon with no base image and no registry: the same digest from two builds, and the image run for
// real under runc (Debian's OCI runtime) — read-only root filesystem, non-root user, the daemon as
// PID 1 — answering /healthz for a simulated member and exiting 0 on SIGTERM.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildClusterMgrImage, NONROOT } from '../../scripts/image/build';
import { CLUSTER_MGR_IMAGE as CLUSTER_MGR_IMAGE_REF } from '../../constructs/federation-control';
import { startSim, type Sim } from '../../cluster-mgr/sim/index';
import { freePort, requireTools, startDaemon, waitFor, type Daemon } from '../lab/index';
import { buildTwice, deleteContainer, imageConfig, RUNTIME, writeRuncBundle } from './runc';


// Two builds from scratch (the package caches are shared; the layout is written anew each time).
const built = buildTwice('image', buildClusterMgrImage, 300_000);

describe('cluster-mgr image', () => {
  it('is reproducible: two builds give the same manifest digest and identical blobs', () => {
    expect(built.a!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(built.b!.digest).toBe(built.a!.digest);
    expect(readFileSync(join(built.a!.layout, 'index.json'), 'utf8')).toBe(readFileSync(join(built.b!.layout, 'index.json'), 'utf8'));
    const config = imageConfig(built.a!);
    expect(config.User).toBe(`${NONROOT.uid}:${NONROOT.gid}`);
    expect(config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/cluster-mgr.mjs']);
    expect(built.a!.reference).toBe(CLUSTER_MGR_IMAGE_REF); // what the synthesized Deployment runs
    expect(built.a!.packages.map((p) => p.name)).toEqual(['libc6', 'libgcc-s1', 'libstdc++6']);
  });

  describe('runs under runc', () => {
    let sim: Sim | undefined;
    let ctr: Daemon | undefined;
    afterAll(async () => {
      await ctr?.stop(5000);
      deleteContainer('flotilla-image-test');
      await sim?.stop();
    });

    it('read-only root, non-root, PID 1: serves /healthz for a simulated member and exits 0 on SIGTERM', async (ctx) => {
      requireTools(ctx, [RUNTIME], { root: true });
      const bundle = join(built.dir, 'bundle');
      sim = await startSim({ names: ['img-1'], outDir: join(built.dir, 'sim') });
      // The config as a Secret volume would present it: readable by the pod's user (fsGroup).
      execFileSync('cp', ['-r', join(built.dir, 'sim'), join(built.dir, 'etc')]);
      execFileSync('chown', ['-R', `${NONROOT.uid}:${NONROOT.gid}`, join(built.dir, 'etc')]);
      const port = await freePort();
      // No network namespace: the daemon listens on the host's loopback, where the test reaches it
      // and where the simulated member's API is.
      writeRuncBundle(built.a!, bundle, {
        uid: NONROOT.uid,
        gid: NONROOT.gid,
        args: ['/usr/local/bin/node', '/app/cluster-mgr.mjs', 'run', '--config', '/etc/cluster-mgr/federation.yaml', '--listen', `127.0.0.1:${port}`],
        mounts: [{ destination: '/etc/cluster-mgr', type: 'bind', source: join(built.dir, 'etc'), options: ['rbind', 'ro'] }],
      });
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
