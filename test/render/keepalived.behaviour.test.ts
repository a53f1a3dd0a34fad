// Real behaviour (a): two netns edge hosts run the rendered edge keepalived config. Exactly one
// holds each VIP; killing the holder's keepalived moves every VIP to the other within 1.5 s;
// failing the holder's track check (its local readiness server stops) moves them too.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { keepalivedArgs, renderEdgeKeepalived } from '../../infra/render/index';
import { makeDir, requireTools, startDaemon, waitFor, waitForLog, type Daemon, type LabHost } from '../lab/index';
import { labBase, makeSite, withLab } from './helpers';

const READY_PORT = 15021;

/** The VIPs (without prefix) currently configured on a host's eth0. */
async function vipsOn(host: LabHost, vips: readonly string[]): Promise<string[]> {
  const r = await host.execOk('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0']);
  return vips.filter((v) => r.stdout.includes(` ${v}/`));
}

describe('edge keepalived (real VRRP between two netns hosts)', () => {
  it('one holder per VIP; failover within 1.5 s on keepalived death; moves on a failing track check', async (ctx) => {
    requireTools(ctx, ['ip', 'keepalived', 'curl', 'node'], { root: true });
    await withLab(async ({ lab, daemons, dirs }) => {
      const e1 = await lab.addHost('e1', 1);
      const e2 = await lab.addHost('e2', 2);
      const base = labBase(e1.address);
      const vips = [`${base}.100`, `${base}.101`];
      const site = makeSite((spec) => {
        spec.clusters = [
          {
            name: 'lab-a',
            kubeconfig: './kc',
            apiVIP: { address: `${base}.10/24`, interface: 'eth0', virtualRouterId: 10 },
            nodes: [
              { name: 'lab-a-m1', address: `${base}.11`, roles: ['master'] },
              { name: 'lab-a-e1', address: e1.address, roles: ['edge'] },
              { name: 'lab-a-e2', address: e2.address, roles: ['edge'] },
            ],
            edge: {
              vips: [
                { name: 'ingress', address: `${vips[0]}/24`, interface: 'eth0', virtualRouterId: 51, ports: [80, 443] },
                { name: 'mysql-proxy', address: `${vips[1]}/24`, interface: 'eth0', virtualRouterId: 52, ports: [3306] },
              ],
            },
          },
        ];
      });
      const cluster = site.spec.clusters[0]!;
      const hosts = { 'lab-a-e1': e1, 'lab-a-e2': e2 } as const;

      // The local "ingress gateway readiness" endpoint the track script curls, per host.
      const ready = new Map<LabHost, Daemon>();
      const startReady = async (host: LabHost) => {
        const d = startDaemon({
          name: `ready-${host.name}`,
          netns: host.netns,
          command: 'node',
          args: ['-e', `require('http').createServer((q,s)=>s.end('ok')).listen(${READY_PORT},'127.0.0.1',()=>console.log('listening'))`],
        });
        daemons.push(d);
        ready.set(host, d);
        await waitForLog(d, 'listening');
      };

      const keepalived = new Map<LabHost, Daemon>();
      const startKeepalived = async (host: LabHost, conf: string) => {
        const dir = makeDir(`ka-${host.name}`);
        dirs.push(dir);
        writeFileSync(join(dir, 'keepalived.conf'), conf);
        const d = startDaemon({
          name: `keepalived-${host.name}`,
          netns: host.netns,
          command: 'keepalived',
          dir,
          args: keepalivedArgs({ configFile: join(dir, 'keepalived.conf'), pidFile: join(dir, 'keepalived.pid'), vrrpPidFile: join(dir, 'vrrp.pid') }),
        });
        daemons.push(d);
        keepalived.set(host, d);
        await waitForLog(d, /Entering BACKUP STATE|Entering MASTER STATE/);
      };

      const confs = new Map<LabHost, string>();
      for (const node of cluster.nodes.filter((n) => n.roles.includes('edge'))) {
        const host = hosts[node.name as keyof typeof hosts];
        confs.set(host, renderEdgeKeepalived(site, cluster, node, { trackUrl: `http://127.0.0.1:${READY_PORT}/healthz/ready` }));
        await startReady(host);
      }
      for (const [host, conf] of confs) await startKeepalived(host, conf);

      const exactlyOneHolder = async (holder: LabHost, other: LabHost) => {
        const [h, o] = await Promise.all([vipsOn(holder, vips), vipsOn(other, vips)]);
        return h.length === vips.length && o.length === 0;
      };

      // Highest priority (first edge node) holds both VIPs; the other holds none.
      await waitFor(() => exactlyOneHolder(e1, e2), { timeoutMs: 10_000, what: 'e1 to hold both VIPs and e2 none' });

      // Kill the holder's keepalived (SIGKILL: no goodbye advert, its VIPs stay configured like
      // on a crashed node) and time until the other node holds every VIP.
      const t0 = performance.now();
      keepalived.get(e1)!.signal('SIGKILL');
      await waitFor(async () => (await vipsOn(e2, vips)).length === vips.length, { timeoutMs: 5000, intervalMs: 10, what: 'e2 to take both VIPs' });
      const failoverMs = performance.now() - t0;
      console.log(`edge VIP failover after keepalived SIGKILL: ${failoverMs.toFixed(0)} ms`);
      expect(failoverMs).toBeLessThan(1500);
      // …but not before the backup's Master_Down_Interval (3 × advert_int + skew) counted from the
      // last advert it heard, at most one advert_int before the kill: earlier would be two masters.
      const advert = Number(/advert_int ([\d.]+)/.exec(confs.get(e1)!)![1]) * 1000;
      expect(failoverMs).toBeGreaterThanOrEqual(2 * advert);
      await keepalived.get(e1)!.stop();

      // Restore: the crashed node comes back clean (stale VIPs gone) and takes its VIPs back.
      for (const v of vips) await e1.exec('ip', ['addr', 'del', `${v}/24`, 'dev', 'eth0']);
      await startKeepalived(e1, confs.get(e1)!);
      await waitFor(() => exactlyOneHolder(e1, e2), { timeoutMs: 10_000, what: 'e1 to take the VIPs back after restart' });

      // The holder's ingress gateway stops being ready: its track script fails and the VIPs move.
      const t1 = performance.now();
      await ready.get(e1)!.stop();
      await waitFor(() => exactlyOneHolder(e2, e1), { timeoutMs: 10_000, intervalMs: 20, what: 'VIPs to move to e2 after e1 failed its track check' });
      const trackMs = performance.now() - t1;
      console.log(`edge VIP move after track check failure: ${trackMs.toFixed(0)} ms`);
      // Only after `fall` failed checks, `interval` apart (the first may run right after the stop).
      const script = /vrrp_script[\s\S]*?interval ([\d.]+)[\s\S]*?fall (\d+)/.exec(confs.get(e1)!)!;
      expect(trackMs).toBeGreaterThanOrEqual((Number(script[2]) - 1) * Number(script[1]) * 1000 - 50);
      await waitForLog(keepalived.get(e1)!, /Entering FAULT STATE/, 2000);
    });
  });
});
