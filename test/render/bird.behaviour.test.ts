// Real behaviour (b): a BIRD standing in for a Calico node — configured from the synthesized
// BGPConfiguration (node AS, advertised service CIDR) and BGPPeer (router address and AS) objects —
// announces a pod block, the service CIDR and prefixes the ToR must refuse; a BIRD running the
// rendered ToR config establishes eBGP and learns exactly the pod block and the service CIDR.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderRouterBird } from '../../infra/render/index';
import { formatIPv4, parseCidr } from '../../infra/lib/net';
import { synthesizeCluster } from '../../infra/synth/index';
import type { Site } from '../../infra/site/index';
import { makeDir, requireTools, run, startDaemon, waitFor } from '../lab/index';
import { labBase, makeSite, withLab } from './helpers';

interface CalicoBgp {
  nodeAs: number;
  serviceCidrs: string[];
  peers: { name: string; address: string; asNumber: number }[];
}

/** What calico-node's BIRD is configured from: the `default` BGPConfiguration and the BGPPeers. */
function calicoBgpFromSynth(site: Site): CalicoBgp {
  const objects = synthesizeCluster(site, site.spec.clusters[0]!).components.find((c) => c.component === 'calico')!.objects;
  const conf = objects.find((o) => o.kind === 'BGPConfiguration' && o.metadata.name === 'default') as
    | { spec: { asNumber: number; serviceClusterIPs?: { cidr: string }[] } }
    | undefined;
  if (!conf) throw new Error('no BGPConfiguration "default" in the calico component');
  const peers = objects
    .filter((o) => o.kind === 'BGPPeer')
    .map((o) => ({ name: o.metadata.name, ...(o as unknown as { spec: { peerIP: string; asNumber: number } }).spec }))
    .map((p) => ({ name: p.name, address: p.peerIP, asNumber: p.asNumber }));
  return { nodeAs: conf.spec.asNumber, serviceCidrs: (conf.spec.serviceClusterIPs ?? []).map((c) => c.cidr), peers };
}

/** The node side, as Calico's BIRD would run it from BGPConfiguration + BGPPeer. */
function calicoNodeBird(bgp: CalicoBgp, nodeAddress: string, announce: readonly string[]): string {
  const router = bgp.peers[0]!;
  return [
    `router id ${nodeAddress};`,
    'log stderr all;',
    'protocol device { scan time 10; }',
    'protocol static announced {',
    '  ipv4;',
    ...announce.map((p) => `  route ${p} blackhole;`),
    '}',
    'protocol bgp tor_lab {',
    `  local ${nodeAddress} as ${bgp.nodeAs};`,
    `  neighbor ${router.address} as ${router.asNumber};`,
    '  connect retry time 1;',
    '  error wait time 1, 5;',
    '  ipv4 { import none; export where source = RTS_STATIC; };',
    '}',
    '',
  ].join('\n');
}

const birdc = (sock: string, ...cmd: string[]) => run('birdc', ['-s', sock, ...cmd], { timeoutMs: 5000 });

describe('ToR BIRD config (real eBGP between two netns hosts)', () => {
  it('establishes the session, learns the pod block and service CIDR, refuses everything else', async (ctx) => {
    requireTools(ctx, ['ip', 'bird', 'birdc'], { root: true });
    await withLab(async ({ lab, daemons, dirs }) => {
      const tor = await lab.addHost('tor', 1);
      const node = await lab.addHost('node', 2);
      const base = labBase(tor.address);
      const site = makeSite((spec) => {
        const net = spec.network as Record<string, unknown>;
        net.routers = [{ name: 'tor-lab', address: tor.address, asNumber: 65001 }];
        spec.clusters = [
          {
            name: 'lab-a',
            kubeconfig: './kc',
            apiVIP: { address: `${base}.10/24`, interface: 'eth0', virtualRouterId: 10 },
            nodes: [{ name: 'lab-a-w1', address: node.address, roles: ['master', 'worker'] }],
          },
        ];
      });
      const net = site.spec.network;
      const pod = parseCidr(net.podCIDR)!;
      // The node's pod block: block #3 of the pool at blockSize, plus a borrowed /32 inside the pool.
      const podBlock = `${formatIPv4(pod.network + 3 * 2 ** (32 - net.blockSize))}/${net.blockSize}`;
      const borrowed = `${formatIPv4(pod.network + 5 * 2 ** (32 - net.blockSize) + 7)}/32`;
      const outside = '192.0.2.0/24'; // TEST-NET-1: outside pod and service CIDRs
      const wholePool = net.podCIDR; // shorter than blockSize: refused
      const bgp = calicoBgpFromSynth(site);
      expect(bgp.peers.map((p) => `${p.address}/${p.asNumber}`)).toEqual([`${tor.address}/65001`]);
      expect(bgp.serviceCidrs).toEqual([net.serviceCIDR]);
      const announce = [podBlock, borrowed, ...bgp.serviceCidrs, outside, wholePool];

      const torDir = makeDir('bird-tor');
      dirs.push(torDir);
      writeFileSync(
        join(torDir, 'bird.conf'),
        renderRouterBird(site, site.spec.network.routers[0]!, {
          log: 'stderr',
          timers: { holdTime: 6, keepaliveTime: 2, connectRetryTime: 1, errorWaitTime: [1, 5] },
        }),
      );
      const nodeDir = makeDir('bird-node');
      dirs.push(nodeDir);
      writeFileSync(join(nodeDir, 'bird.conf'), calicoNodeBird(bgp, node.address, announce));
      const torSock = join(torDir, 'bird.ctl');
      const nodeSock = join(nodeDir, 'bird.ctl');
      for (const [host, dir, sock] of [
        [tor, torDir, torSock],
        [node, nodeDir, nodeSock],
      ] as const) {
        daemons.push(
          startDaemon({
            name: `bird-${host.name}`,
            netns: host.netns,
            command: 'bird',
            args: ['-f', '-c', join(dir, 'bird.conf'), '-s', sock, '-P', join(dir, 'bird.pid')],
          }),
        );
      }

      // Session established on the ToR side (protocol named after the node).
      const proto = 'node_lab_a_w1';
      await waitFor(async () => /Established/.test((await birdc(torSock, 'show', 'protocols', proto)).stdout), {
        timeoutMs: 20_000,
        what: `ToR session ${proto} to reach Established`,
      });
      // The node did announce everything, including the prefixes the ToR must refuse.
      const exported = await waitFor(
        async () => {
          const r = await birdc(nodeSock, 'show', 'route', 'export', 'tor_lab');
          return announce.every((p) => r.stdout.includes(p)) ? r.stdout : undefined;
        },
        { timeoutMs: 10_000, what: 'the node to export all its static routes' },
      );
      expect(exported).toContain(outside);

      const learned = await waitFor(
        async () => {
          const r = await birdc(torSock, 'show', 'route', 'protocol', proto);
          return r.stdout.includes(podBlock) && r.stdout.includes(net.serviceCIDR) && r.stdout.includes(borrowed) ? r.stdout : undefined;
        },
        { timeoutMs: 10_000, what: `the ToR to learn ${podBlock}, ${borrowed} and ${net.serviceCIDR}` },
      );
      expect(learned).not.toContain(outside);
      expect(learned).not.toContain(`${wholePool} `);
      const all = (await birdc(torSock, 'show', 'route')).stdout;
      expect(all).not.toContain(outside);
      // Imported routes reached the ToR's kernel table, via the node.
      const kernel = await tor.execOk('ip', ['-4', 'route', 'show', podBlock]);
      expect(kernel.stdout).toContain(`via ${node.address}`);
      // The ToR exports nothing to the node, although it has routes to offer.
      const toNode = (await birdc(torSock, 'show', 'route', 'export', proto)).stdout;
      expect(toNode).not.toMatch(/\d+\.\d+\.\d+\.\d+\/\d+/);
    });
  });
});
