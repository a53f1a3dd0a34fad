// The keepalived image (Debian's keepalived + the track scripts' tools and their library packages,
// no base image, no registry): the same digest from two builds, the reference synthesis uses, and the
// image run for real under runc inside a lab network namespace the way the EdgeGateway DaemonSet runs
// it — read-only root filesystem, root with only NET_ADMIN/NET_BROADCAST/NET_RAW, keepalived as
// PID 1 — taking the edge VIP with the rendered config, its track script (curl) passing, the
// API-VIP check script's tools present, and on SIGTERM giving the VIP up and exiting 0.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEEPALIVED_IMAGE as KEEPALIVED_REF } from '../../constructs/edge-gateway';
import { API_VIP_IMAGES, renderEdgeKeepalived } from '../../infra/render/index';
import { buildKeepalivedImage, KEEPALIVED_ROOT_PACKAGES, dependsNames } from '../../scripts/image/build';
import { requireTools, startDaemon, waitFor, waitForLog } from '../lab/index';
import { labBase, labCluster, makeSite, withLab } from '../render/helpers';
import { buildTwice, deleteContainer, imageConfig, RUNTIME, writeRuncBundle } from './runc';

const ID = 'flotilla-keepalived-test';
const built = buildTwice('keepalived-image', buildKeepalivedImage, 900_000, () => deleteContainer(ID)); // two builds; minutes on a loaded 2-core machine (apt-cache is slow there)

describe('dependsNames (Depends field → package names)', () => {
  it.each([
    ['iproute2, libc6 (>= 2.34), libglib2.0-0 (>= 2.26.0), libsnmp40 (>= 5.9.3+dfsg)', ['iproute2', 'libc6', 'libglib2.0-0', 'libsnmp40']],
    ['libcurl4 (= 7.88.1-10+deb12u15), zlib1g (>= 1:1.1.4)', ['libcurl4', 'zlib1g']],
    ['libdb5.3 | libdb-dev, perl:any, debconf (>= 0.5) | debconf-2.0', ['debconf', 'libdb5.3', 'perl']],
    ['libstdc++6 (>= 12), init-system-helpers (>= 1.54~)', ['init-system-helpers', 'libstdc++6']],
    ['', []],
  ])('%s', (field, want) => expect(dependsNames(field)).toEqual(want));
});

describe('keepalived image', () => {
  it('is reproducible, has the reference synthesis writes, runs as root with keepalived as entrypoint', () => {
    expect(built.b!.digest).toBe(built.a!.digest);
    expect(built.a!.reference).toBe(KEEPALIVED_REF);
    expect(API_VIP_IMAGES.keepalived).toBe(KEEPALIVED_REF);
    const c = imageConfig(built.a!);
    expect(c.User).toBe('0:0');
    expect(c.Entrypoint).toEqual(['/usr/sbin/keepalived']);
    const names = built.a!.packages.map((p) => p.name);
    for (const p of [...KEEPALIVED_ROOT_PACKAGES, 'libc6', 'libnl-3-200', 'libcurl4', 'zlib1g']) expect(names).toContain(p);
    for (const p of ['debconf', 'perl', 'init-system-helpers']) expect(names).not.toContain(p);
    expect(built.a!.packages.find((p) => p.name === 'keepalived')!.version).toMatch(new RegExp(`^(\\d+:)?${KEEPALIVED_REF.split(':').pop()!.replace(/-\d+$/, '').replaceAll('.', '\\.')}-`));
  });

  it('under runc in a netns: PID 1, read-only root, 3 capabilities; takes the VIP, tracks, and releases it on SIGTERM', async (ctx) => {
    requireTools(ctx, [RUNTIME, 'ip', 'node'], { root: true });
    await withLab(async ({ lab, daemons }) => {
      const e1 = await lab.addHost('e1', 1);
      const base = labBase(e1.address);
      const vip = `${base}.100`;
      const site = makeSite((spec) => {
        spec.clusters = [
          labCluster('lab-a', base, 0, {
            edgeNodes: [{ name: 'lab-a-e1', address: e1.address }],
            vips: [{ name: 'ingress', address: `${vip}/24`, interface: 'eth0', virtualRouterId: 51, ports: [80] }],
          }),
        ];
      });
      const cluster = site.spec.clusters[0]!;
      const node = cluster.nodes[1]!;
      // The ingress gateway's readiness endpoint the rendered track script curls.
      const ready = startDaemon({
        name: 'ready-e1',
        netns: e1.netns,
        command: 'node',
        args: ['-e', "require('http').createServer((q,s)=>s.end('ok')).listen(15021,'127.0.0.1',()=>console.log('listening'))"],
      });
      daemons.push(ready);
      await waitForLog(ready, 'listening');
      const etc = join(built.dir, 'etc');
      mkdirSync(etc, { recursive: true });
      writeFileSync(join(etc, `${node.name}.conf`), renderEdgeKeepalived(site, cluster, node));
      const bundle = join(built.dir, 'bundle');
      // What the EdgeGateway DaemonSet runs: command keepalived, the same args, root, 3 capabilities,
      // read-only root, the config read-only at /etc/keepalived, memory emptyDirs at /run/keepalived and /tmp.
      writeRuncBundle(built.a!, bundle, {
        uid: 0,
        gid: 0,
        capabilities: ['CAP_NET_ADMIN', 'CAP_NET_BROADCAST', 'CAP_NET_RAW'],
        args: ['keepalived', '--dont-fork', '--log-console', '--vrrp', `--use-file=/etc/keepalived/${node.name}.conf`],
        netnsPath: `/var/run/netns/${e1.netns}`,
        mounts: [
          { destination: '/etc/keepalived', type: 'bind', source: etc, options: ['rbind', 'ro'] },
          { destination: '/run/keepalived', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m'] },
        ],
      });
      deleteContainer(ID);
      const ctr = startDaemon({ name: 'runc-keepalived', command: RUNTIME, args: ['run', '--bundle', bundle, ID] });
      daemons.push(ctr);
      const holds = async () => (await e1.execOk('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(` ${vip}/24`);
      await waitFor(
        async () => {
          if (!ctr.isRunning()) throw new Error(`container exited:\n${ctr.logs()}`);
          return (await holds()) || undefined;
        },
        { timeoutMs: 20_000, what: `VIP ${vip} held by keepalived in the container` },
      );
      const inside = (args: string[]) => execFileSync(RUNTIME, ['exec', ID, ...args], { encoding: 'utf8' });
      // (no coreutils in the image: shell builtins and grep only)
      expect(inside(['/bin/sh', '-c', `read c < /proc/1/comm; echo $c; grep -a -c -- '--use-file=/etc/keepalived/${node.name}.conf' /proc/1/cmdline`])).toBe('keepalived\n1\n');
      expect(inside(['/bin/sh', '-c', '(: > /x) 2>&1; echo rc=$?'])).toMatch(/Read-only file system\nrc=2/);
      // The API VIP's check_apiserver.sh needs sh, curl, ip and grep: all run.
      expect(inside(['/bin/sh', '-c', `command -v curl && ip -4 addr show | grep -c " ${vip}/"`])).toMatch(/\/usr\/bin\/curl\n1\n/);
      expect(ctr.logs()).toMatch(/VRRP_Script\(chk_ingress_gateway\) succeeded/);
      execFileSync(RUNTIME, ['kill', ID, 'TERM']);
      const exit = await ctr.exited;
      expect(exit.code, ctr.logs()).toBe(0);
      expect(await holds()).toBe(false);
    });
  }, 120_000);
});
