// A node that is master and edge (the customer example) runs two keepalived processes side by side:
// the API-VIP one (static pod) and the edge one (DaemonSet). With the rendered configs (distinct
// `instance` names and VRIDs) and their own pid files (keepalivedArgs) both run in one network
// namespace and each holds its VIP; sharing pid files makes the second refuse to start.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keepalivedArgs, renderApiKeepalivedConf, renderEdgeKeepalived } from '../../infra/render/index';
import { createLab, makeDir, requireTools, startDaemon, waitFor, waitForLog, type Daemon } from '../lab/index';
import { labBase, makeSite } from './helpers';

describe('two keepalived instances on one master+edge node', () => {
  it('run side by side with their own pid files and hold their own VIPs', async (ctx) => {
    requireTools(ctx, ['ip', 'keepalived'], { root: true });
    const lab = await createLab();
    const daemons: Daemon[] = [];
    const dir = makeDir('ka2');
    try {
      const h = await lab.addHost('n1', 1);
      const base = labBase(h.address);
      const site = makeSite((spec) => {
        spec.clusters = [
          {
            name: 'lab-a',
            kubeconfig: './kc',
            apiVIP: { address: `${base}.10/24`, interface: 'eth0', virtualRouterId: 31 },
            nodes: [{ name: 'lab-a-n1', address: h.address, roles: ['master', 'edge', 'worker'] }],
            edge: { vips: [{ name: 'ingress', address: `${base}.100/24`, interface: 'eth0', virtualRouterId: 32, ports: [80, 443] }] },
          },
        ];
      });
      const cluster = site.spec.clusters[0]!;
      const node = cluster.nodes[0]!;
      writeFileSync(join(dir, 'api.conf'), renderApiKeepalivedConf(site, cluster, node, { checkScriptPath: '/bin/true' }));
      writeFileSync(join(dir, 'edge.conf'), renderEdgeKeepalived(site, cluster, node, { trackCommand: '/bin/true' }));
      const start = (name: string, conf: string, pids: string) => {
        const d = startDaemon({
          name,
          netns: h.netns,
          command: 'keepalived',
          args: keepalivedArgs({ configFile: join(dir, conf), pidFile: join(dir, `${pids}.pid`), vrrpPidFile: join(dir, `${pids}-vrrp.pid`) }),
        });
        daemons.push(d);
        return d;
      };
      const api = start('keepalived-api', 'api.conf', 'api');
      const edge = start('keepalived-edge', 'edge.conf', 'edge');
      await Promise.all([waitForLog(api, /Entering MASTER STATE/), waitForLog(edge, /Entering MASTER STATE/)]);
      await waitFor(
        async () => {
          const out = (await h.execOk('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout;
          return out.includes(` ${base}.10/24`) && out.includes(` ${base}.100/24`);
        },
        { timeoutMs: 5000, what: 'both VIPs on the node' },
      );
      expect(api.isRunning() && edge.isRunning()).toBe(true);

      // The gotcha: a second keepalived with the same pid files does not run.
      const clash = start('keepalived-clash', 'edge.conf', 'api');
      await waitFor(() => !clash.isRunning(), { timeoutMs: 5000, what: `keepalived sharing pid files to refuse to run (log: ${clash.logs().slice(-300)})` });
      expect(api.isRunning()).toBe(true);
    } finally {
      await Promise.all(daemons.map((d) => d.stop()));
      await lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
