// Unit tests of the pure host/network renderers: peers, priorities, VRIDs, BGP sessions per node vs
// per route reflector, import filters, front server names, containerd mirrors, determinism.
import { describe, expect, it } from 'vitest';
import { KEEPALIVED_IMAGE } from '../../constructs/edge-gateway';
import {
  API_VIP_IMAGES,
  GENERATED,
  apiKeepalivedInput,
  bgpPeersOfRouter,
  birdInputOfRouter,
  edgeKeepalivedInput,
  failoverWeight,
  frontBackendName,
  frontInputFromSite,
  hostFileImages,
  importPrefixes,
  keepalivedArgs,
  renderApiHaproxy,
  renderCheckApiserver,
  renderContainerdAuths,
  renderContainerdConfig,
  renderContainerdHosts,
  renderContainerdMainConfig,
  renderRegistryHosts,
  renderEdgeKeepalived,
  renderFrontHaproxy,
  renderHostFiles,
  renderRouterBird,
  vrrpPriority,
} from '../../infra/render/index';
import type { Site } from '../../infra/site/index';
import { EXAMPLES, loadExample, makeSite } from './helpers';

const bj1 = await loadExample('bj1.yaml');
const sh1 = await loadExample('sh1.yaml');
const cust = await loadExample('customer-airgap.yaml');
const node = (site: Site, name: string) => {
  for (const c of site.spec.clusters) {
    const n = c.nodes.find((x) => x.name === name);
    if (n) return { cluster: c, node: n };
  }
  throw new Error(`no node ${name}`);
};
const lines = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).map((l) => l.trim());

describe('vrrpPriority / failoverWeight', () => {
  it.each([
    [0, 1, 200],
    [0, 2, 200],
    [1, 2, 190],
    [2, 3, 180],
    [0, 30, 200],
    [29, 30, 200 - 29 * 6],
    [190, 191, 10],
  ])('holder %i of %i has priority %i', (i, n, p) => {
    expect(vrrpPriority(i, n)).toBe(p);
  });

  it('is strictly descending and within 1–254 for every group size', () => {
    for (let n = 1; n <= 191; n++) {
      const ps = Array.from({ length: n }, (_, i) => vrrpPriority(i, n));
      ps.forEach((p, i) => {
        expect(p).toBeGreaterThanOrEqual(1);
        expect(p).toBeLessThanOrEqual(254);
        if (i > 0) expect(p).toBeLessThan(ps[i - 1]!);
      });
    }
  });

  it('refuses groups keepalived priorities cannot order', () => {
    expect(() => vrrpPriority(0, 192)).toThrow(/192 VRRP holders are too many/);
    expect(() => vrrpPriority(3, 3)).toThrow(/outside 0–2/);
  });

  it('a failing holder drops below every healthy one', () => {
    for (let n = 2; n <= 60; n++) {
      const lowestHealthy = vrrpPriority(n - 1, n);
      for (let i = 0; i < n; i++) expect(vrrpPriority(i, n) + failoverWeight(n)).toBeLessThan(lowestHealthy);
      expect(failoverWeight(n)).toBeGreaterThanOrEqual(-253);
    }
  });
});

describe('edge keepalived', () => {
  const { cluster, node: e1 } = node(bj1, 'bj1-a-e1');
  const e2 = node(bj1, 'bj1-a-e2').node;

  it('one VRRP v3 instance per edge VIP, unicast to the other edge nodes, priority by node order', () => {
    const a = edgeKeepalivedInput(bj1, cluster, e1);
    const b = edgeKeepalivedInput(bj1, cluster, e2);
    expect(a.instances.map((i) => [i.name, i.virtualRouterId, i.address, i.interface])).toEqual([
      ['VI_ingress', 51, '10.10.1.100/24', 'eth0'],
      ['VI_mysql-proxy', 52, '10.10.1.101/24', 'eth0'],
    ]);
    expect(a.instances.every((i) => i.unicastSrcIp === '10.10.1.21' && i.unicastPeers.join() === '10.10.1.22' && i.priority === 200)).toBe(true);
    expect(b.instances.every((i) => i.unicastSrcIp === '10.10.1.22' && i.unicastPeers.join() === '10.10.1.21' && i.priority === 190)).toBe(true);
    expect(a.instances.every((i) => i.advertInterval === 0.2)).toBe(true);
  });

  it('renders v3, sub-second adverts, script security and the default readiness check', () => {
    const text = renderEdgeKeepalived(bj1, cluster, e1);
    expect(text.startsWith(`# ${GENERATED}\n`)).toBe(true);
    expect(lines(text, /^\s*version /)).toEqual(['version 3', 'version 3']);
    expect(lines(text, /advert_int/)).toEqual(['advert_int 0.2', 'advert_int 0.2']);
    expect(text).toContain('enable_script_security');
    expect(text).toContain('script_user root');
    expect(text).toContain('script "/usr/bin/curl -sf -m 1 http://127.0.0.1:15021/healthz/ready"');
    expect(lines(text, /^\s*chk_ingress_gateway$/)).toHaveLength(2); // tracked by both instances
    expect(text).toContain('instance edge');
    // Masters and workers are not VRRP peers of the edge VIPs.
    expect(text).not.toContain('10.10.1.11');
    expect(text).not.toContain('10.10.1.31');
  });

  it('takes the track check command or URL and the instance name as options', () => {
    expect(renderEdgeKeepalived(bj1, cluster, e1, { trackUrl: 'http://127.0.0.1:9999/ready' })).toContain(
      'script "/usr/bin/curl -sf -m 1 http://127.0.0.1:9999/ready"',
    );
    const t = renderEdgeKeepalived(bj1, cluster, e1, { trackCommand: '/bin/true', instance: 'edge2', advertInterval: 0.5, trackFall: 3 });
    expect(t).toContain('script "/bin/true"');
    expect(t).toContain('instance edge2');
    expect(t).toContain('advert_int 0.5');
    expect(t).toContain('fall 3');
  });

  it('names the node and the fix when asked for a non-edge node', () => {
    expect(() => renderEdgeKeepalived(bj1, cluster, node(bj1, 'bj1-a-w1').node)).toThrow(
      /node "bj1-a-w1" is not an edge node of cluster "bj1-a": give it the edge role or render for one of bj1-a-e1, bj1-a-e2/,
    );
  });

  it('names the node when asked for a non-master API VIP config', () => {
    expect(() => apiKeepalivedInput(bj1, cluster, e1)).toThrow(/node "bj1-a-e1" is not a master node of cluster "bj1-a": give it the master role/);
  });

  it('a master+edge node gets two keepalived configs with distinct instances and VRIDs', () => {
    const { cluster: c, node: n1 } = node(cust, 'cust-n1');
    const edge = edgeKeepalivedInput(cust, c, n1);
    const api = apiKeepalivedInput(cust, c, n1);
    expect(edge.instance).not.toBe(api.instance);
    expect(edge.instances.map((i) => i.virtualRouterId)).not.toContain(api.instances[0]!.virtualRouterId);
  });
});

describe('API VIP (kubeadm HA)', () => {
  const { cluster, node: m2 } = node(bj1, 'bj1-a-m2');

  it('keepalived: peers are the other masters, VRID and VIP from apiVIP, weighted apiserver check', () => {
    const k = apiKeepalivedInput(bj1, cluster, m2);
    const i = k.instances[0]!;
    expect(i.unicastSrcIp).toBe('10.10.1.12');
    expect(i.unicastPeers).toEqual(['10.10.1.11', '10.10.1.13']);
    expect(i.priority).toBe(190);
    expect(i.virtualRouterId).toBe(10);
    expect(i.address).toBe('10.10.1.10/24');
    expect(k.scripts[0]!.command).toBe('/etc/keepalived/check_apiserver.sh');
    expect(k.scripts[0]!.weight).toBe(failoverWeight(3));
  });

  it('haproxy.cfg balances *:8443 to every master apiserver on 6443 with /healthz checks', () => {
    const cfg = renderApiHaproxy(bj1, cluster, m2);
    expect(cfg).toContain('bind *:8443');
    expect(lines(cfg, /^\s*server /)).toEqual([
      'server bj1-a-m1 10.10.1.11:6443 check verify none',
      'server bj1-a-m2 10.10.1.12:6443 check verify none',
      'server bj1-a-m3 10.10.1.13:6443 check verify none',
    ]);
    expect(cfg).toContain('http-check send meth GET uri /healthz');
    expect(renderApiHaproxy(bj1, cluster, m2, { frontendPort: 16443 })).toContain('bind *:16443');
    expect(() => renderApiHaproxy(bj1, cluster, m2, { frontendPort: 6443 })).toThrow(/frontendPort 6443 equals apiserverPort/);
  });

  it('check_apiserver.sh checks through HAProxy and the VIP when held', () => {
    const sh = renderCheckApiserver(bj1, cluster, m2);
    expect(sh.startsWith('#!/bin/sh\n')).toBe(true);
    expect(sh).toContain(GENERATED);
    expect(sh).toContain('get https://localhost:8443/healthz');
    expect(sh).toContain('grep -q " 10.10.1.10/"');
  });

  it('static-pod images: upstream by default, the site registry when asked', () => {
    expect(hostFileImages(bj1)).toEqual(['docker.io/library/haproxy:2.8.5-alpine', 'ghcr.io/flotilla-dev/keepalived:2.2.8-1']);
    expect(API_VIP_IMAGES.keepalived).toBe(KEEPALIVED_IMAGE); // one keepalived image for API VIP and edge
    const files = renderHostFiles(bj1, { imageRegistry: 'registry.bj1.example.com' });
    const ka = files.find((f) => f.path === 'hosts/bj1-a-m1/manifests/keepalived.yaml')!;
    expect(ka.content).toContain('image: registry.bj1.example.com/flotilla-dev/keepalived:2.2.8-1');
  });

  it('keepalivedArgs keeps pid files apart', () => {
    expect(keepalivedArgs({ pidFile: '/run/a/k.pid', vrrpPidFile: '/run/a/v.pid' })).toEqual(
      expect.arrayContaining(['--pid=/run/a/k.pid', '--vrrp_pid=/run/a/v.pid', '--dont-fork', '--use-file=/etc/keepalived/keepalived.conf']),
    );
  });
});

describe('ToR BIRD config', () => {
  it('one session per node when there are no route reflectors', () => {
    const router = bj1.spec.network.routers[0]!;
    const input = birdInputOfRouter(bj1, router);
    expect(input.neighbors.map((n) => n.address)).toEqual(bj1.spec.clusters[0]!.nodes.map((n) => n.address));
    expect(new Set(input.neighbors.map((n) => n.asNumber))).toEqual(new Set([64512]));
    const text = renderRouterBird(bj1, router);
    expect(lines(text, /^protocol bgp /)).toHaveLength(7);
    expect(text).toContain('router id 10.10.0.1;');
    expect(text).toContain('local 10.10.0.1 as 65001;');
    expect(lines(text, /neighbor /)).toContain('neighbor 10.10.1.11 as 64512;');
  });

  it('one session per route reflector when routeReflectors is set', () => {
    const peers = bgpPeersOfRouter(sh1).map((n) => n.name);
    expect(peers).toEqual(['sh1-a-m1', 'sh1-a-m2', 'sh1-b-m1', 'sh1-b-m2']);
    const text = renderRouterBird(sh1, sh1.spec.network.routers[1]!);
    expect(lines(text, /^protocol bgp /)).toEqual([
      'protocol bgp node_sh1_a_m1 from flotilla_node {',
      'protocol bgp node_sh1_a_m2 from flotilla_node {',
      'protocol bgp node_sh1_b_m1 from flotilla_node {',
      'protocol bgp node_sh1_b_m2 from flotilla_node {',
    ]);
    expect(text).toContain('local 10.20.0.2 as 65010;');
  });

  it('imports exactly the pod blocks (blockSize–32) and the service CIDR, exports nothing', () => {
    expect(importPrefixes(bj1, bj1.spec.clusters[0]!)).toEqual(['10.244.0.0/16{26,32}', '10.96.0.0/12{12,32}']);
    const noSvc = makeSite((spec) => {
      Object.assign(spec.network as object, { advertiseServiceCIDR: false, blockSize: 24 });
    });
    expect(importPrefixes(noSvc, noSvc.spec.clusters[0]!)).toEqual(['10.128.0.0/14{24,32}']);
    const text = renderRouterBird(bj1, bj1.spec.network.routers[0]!);
    expect(lines(text, /if net ~/)).toEqual(['if net ~ [ 10.244.0.0/16{26,32}, 10.96.0.0/12{12,32} ] then accept;']);
    expect(lines(text, /export /).filter((l) => !l.includes('RTS_BGP'))).toEqual(['export none;']);
    expect(lines(text, /import filter/)).toEqual(new Array(7).fill('ipv4 { import filter flotilla_import_bj1_a; };'));
  });

  it("per-cluster filters: each cluster's nodes may announce only that cluster's ranges, with its own AS", () => {
    expect(importPrefixes(sh1, sh1.spec.clusters[0]!)).toEqual(['10.48.0.0/15{26,32}', '10.112.0.0/17{17,32}']);
    expect(importPrefixes(sh1, sh1.spec.clusters[1]!)).toEqual(['10.50.0.0/15{26,32}', '10.112.128.0/17{17,32}']);
    const text = renderRouterBird(sh1, sh1.spec.network.routers[0]!);
    expect(lines(text, /^filter /)).toEqual(['filter flotilla_import_sh1_a {', 'filter flotilla_import_sh1_b {']);
    expect(lines(text, /if net ~/)).toEqual([
      'if net ~ [ 10.48.0.0/15{26,32}, 10.112.0.0/17{17,32} ] then accept;',
      'if net ~ [ 10.50.0.0/15{26,32}, 10.112.128.0/17{17,32} ] then accept;',
    ]);
    expect(lines(text, /neighbor /)).toEqual(['neighbor 10.20.1.11 as 64513;', 'neighbor 10.20.1.12 as 64513;', 'neighbor 10.20.2.11 as 64514;', 'neighbor 10.20.2.12 as 64514;']);
    expect(lines(text, /import filter/)).toEqual([
      'ipv4 { import filter flotilla_import_sh1_a; };',
      'ipv4 { import filter flotilla_import_sh1_a; };',
      'ipv4 { import filter flotilla_import_sh1_b; };',
      'ipv4 { import filter flotilla_import_sh1_b; };',
    ]);
  });

  it('timers: sane production defaults, low error wait for tests', () => {
    const r = bj1.spec.network.routers[0]!;
    expect(renderRouterBird(bj1, r)).toContain('error wait time 60, 300;');
    const t = renderRouterBird(bj1, r, { timers: { errorWaitTime: [1, 5], holdTime: 6, keepaliveTime: 2 }, log: 'stderr', kernel: false });
    expect(t).toContain('error wait time 1, 5;');
    expect(t).toContain('hold time 6;');
    expect(t).toContain('log stderr all;');
    expect(t).not.toContain('protocol kernel');
  });

  it('multihop only when the router is outside the nodes subnets', () => {
    expect(birdInputOfRouter(bj1, bj1.spec.network.routers[0]!).multihop).toBe(true); // 10.10.0.1 vs 10.10.1.0/24
    const adjacent = makeSite((spec) => {
      (spec.network as Record<string, unknown>).routers = [{ name: 'tor', address: '10.250.0.1', asNumber: 65001 }];
    });
    expect(birdInputOfRouter(adjacent, adjacent.spec.network.routers[0]!).multihop).toBe(false);
    expect(renderRouterBird(adjacent, adjacent.spec.network.routers[0]!)).not.toContain('multihop');
  });
});

describe('front HAProxy', () => {
  it('one backend per edge-VIP port, one server per cluster named as the cluster', () => {
    const input = frontInputFromSite(sh1);
    expect(input.backends.map((b) => [b.name, b.mode, b.bindPort, b.servers.map((s) => `${s.name}=${s.address}:${s.port}`)])).toEqual([
      ['web', 'http', 80, ['sh1-a=10.20.1.100:80', 'sh1-b=10.20.2.100:80']],
      ['ingress-443', 'tcp', 443, ['sh1-a=10.20.1.100:443', 'sh1-b=10.20.2.100:443']],
      ['mysql-proxy-3306', 'tcp', 3306, ['sh1-b=10.20.2.101:3306']],
    ]);
    expect(frontBackendName('ingress', 80)).toBe('web');
    expect(frontBackendName('api', 80)).toBe('api-80');
  });

  it('renders health checks, retries, redispatch, retry-on and the admin socket', () => {
    const cfg = renderFrontHaproxy(frontInputFromSite(sh1));
    expect(cfg.startsWith(`# ${GENERATED}\n`)).toBe(true);
    expect(lines(cfg, /default-server/)).toEqual(Array(3).fill('default-server inter 500ms fall 2 rise 2'));
    expect(cfg).toContain('retries 3');
    expect(cfg).toContain('option redispatch');
    expect(lines(cfg, /retry-on/)).toEqual(['retry-on all-retryable-errors']); // HTTP backend only
    expect(cfg).toMatch(/stats socket \/run\/haproxy\/admin\.sock .*level admin/);
    expect(lines(cfg, /^\s*server /)).toContain('server sh1-b 10.20.2.101:3306 check weight 100');
    expect(renderFrontHaproxy(frontInputFromSite(sh1, { socketPath: '/tmp/x.sock' }))).toContain('stats socket /tmp/x.sock ');
    expect(lines(cfg, /http-check send/)).toEqual(['http-check send meth GET uri / ver HTTP/1.1 hdr Host sh1.example.com']);
    expect(renderFrontHaproxy(frontInputFromSite(sh1, { healthCheck: { path: '/healthz', inter: '1s' } }))).toContain('http-check send meth GET uri /healthz\n');
  });

  it('refuses duplicate servers, duplicate backends, shared ports and bad names', () => {
    const s = { name: 'a', address: '127.0.0.1', port: 1 };
    expect(() => renderFrontHaproxy({ backends: [{ name: 'web', mode: 'http', bindPort: 80, servers: [s, s] }] })).toThrow(/server "a" appears twice/);
    expect(() =>
      renderFrontHaproxy({
        backends: [
          { name: 'web', mode: 'http', bindPort: 80, servers: [] },
          { name: 'web', mode: 'tcp', bindPort: 81, servers: [] },
        ],
      }),
    ).toThrow(/backend "web" appears twice/);
    expect(() =>
      renderFrontHaproxy({
        backends: [
          { name: 'a', mode: 'http', bindPort: 80, servers: [] },
          { name: 'b', mode: 'tcp', bindPort: 80, servers: [] },
        ],
      }),
    ).toThrow(/both listen on \*:80/);
    expect(() => renderFrontHaproxy({ backends: [{ name: 'we b', mode: 'http', bindPort: 80, servers: [] }] })).toThrow(/not a valid HAProxy name/);
    const clash = makeSite((spec) => {
      const c = (spec.clusters as Record<string, unknown>[])[0]!;
      c.nodes = [
        { name: 'lab-a-m1', address: '10.250.0.11', roles: ['master'] },
        { name: 'lab-a-e1', address: '10.250.0.21', roles: ['edge'] },
      ];
      c.edge = {
        vips: [
          { name: 'one', address: '10.250.0.100/24', interface: 'eth0', virtualRouterId: 51, ports: [8080] },
          { name: 'two', address: '10.250.0.101/24', interface: 'eth0', virtualRouterId: 52, ports: [8081] },
        ],
      };
    });
    // validate refuses two VIPs on one port (the gateway has one listener per port); the renderer
    // still guards input that never went through validation.
    const [cl] = clash.spec.clusters;
    const vips = cl!.edge.vips.map((v) => ({ ...v, ports: [8080] }));
    const unvalidated = { ...clash, spec: { ...clash.spec, clusters: [{ ...cl!, edge: { ...cl!.edge, vips } }] } } as typeof clash;
    expect(() => frontInputFromSite(unvalidated)).toThrow(/edge VIPs "one" and "two" both serve port 8080/);
  });
});

describe('containerd hosts.toml', () => {
  it('the site registry, public registries and mirrored sites pull through the site registry', () => {
    const h = renderContainerdHosts(bj1).filter((x) => (x.file ?? 'hosts.toml') === 'hosts.toml');
    const names = h.map((x) => x.registry);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['registry.bj1.example.com', 'docker.io', 'quay.io', 'registry.k8s.io', 'registry.sh1.example.com']));
    const docker = h.find((x) => x.registry === 'docker.io')!.content;
    expect(docker).toContain('server = "https://registry-1.docker.io"');
    expect(docker).toContain('[host."https://registry.bj1.example.com"]');
    expect(docker).toContain('capabilities = ["pull", "resolve"]');
    // bj1 has its site CA in the inventory: nodes trust it for the site registry, in every entry.
    expect(docker).toContain('ca = "/etc/containerd/certs.d/registry.bj1.example.com/ca.crt"');
    expect(renderContainerdHosts(sh1).find((x) => x.registry === 'docker.io')!.content).not.toContain('ca = ');
    const own = h.find((x) => x.registry === 'registry.bj1.example.com')!.content;
    expect(own).toContain('capabilities = ["pull", "resolve", "push"]');
    expect(own).toContain('ca = "/etc/containerd/certs.d/registry.bj1.example.com/ca.crt"');
  });

  it('writes the CA files it points at: the site CA and each peer site\'s CA, nothing else', () => {
    const files = (s: typeof bj1) => renderContainerdHosts(s).filter((x) => x.file === 'ca.crt');
    const bjCa = files(bj1);
    expect(bjCa.map((x) => x.registry)).toEqual(['registry.bj1.example.com']);
    expect(bjCa[0]!.content).toContain(bj1.spec.certificates.caCert!.trim());
    expect(bjCa[0]!.content.startsWith(`# ${GENERATED}`)).toBe(true);
    // sh1 (ACME, public chain) trusts bj1's CA for bj1's registry only, as a fallback server CA.
    const shCa = files(sh1);
    expect(shCa.map((x) => x.registry)).toEqual(['registry.bj1.example.com']);
    const peer = renderContainerdHosts(sh1).find((x) => x.registry === 'registry.bj1.example.com' && x.file === undefined)!.content;
    expect(peer).toMatch(/^ca = "\/etc\/containerd\/certs\.d\/registry\.bj1\.example\.com\/ca\.crt"$/m);
    // Every `ca =` path any hosts.toml names is a file the renderer writes.
    for (const s of [bj1, sh1]) {
      const all = renderContainerdHosts(s);
      const written = new Set(all.filter((x) => x.file === 'ca.crt').map((x) => `/etc/containerd/certs.d/${x.registry}/ca.crt`));
      for (const h of all) for (const m of h.content.matchAll(/ca = "([^"]+)"/g)) expect(written.has(m[1]!), `${h.registry}: ${m[1]}`).toBe(true);
    }
  });

  it('a site CA-less private-CA site points at no ca.crt (the issue: hosts.toml named a file nothing wrote)', () => {
    const noCa = { ...bj1, spec: { ...bj1.spec, certificates: { ...bj1.spec.certificates, caCert: undefined } } };
    const all = renderContainerdHosts(noCa);
    expect(all.some((x) => x.file === 'ca.crt' || x.content.includes('ca = '))).toBe(false);
  });

  it('renderRegistryHosts: a registry with its CA and a mirror list (the bootstrap-registry case)', () => {
    const t = renderRegistryHosts({ registry: 'registry.bj1.example.com', serverCaFile: '/etc/containerd/certs.d/registry.bj1.example.com/ca.crt', mirrors: [{ url: 'https://10.10.1.11:5000', caFile: '/etc/flotilla/bootstrap-ca.crt' }] });
    expect(t).toContain('server = "https://registry.bj1.example.com"\nca = "/etc/containerd/certs.d/registry.bj1.example.com/ca.crt"');
    expect(t).toContain('[host."https://10.10.1.11:5000"]\n  capabilities = ["pull", "resolve"]\n  ca = "/etc/flotilla/bootstrap-ca.crt"');
    const alone = renderRegistryHosts({ registry: 'r.example', serverCaFile: '/ca.crt' });
    expect(alone).toContain('[host."https://r.example"]\n  capabilities = ["pull", "resolve", "push"]\n  ca = "/ca.crt"');
  });

  it('the CRI drop-in sets config_path; credentials only when given, TOML-escaped, appended at the end', () => {
    const plain = renderContainerdConfig();
    expect(plain).toContain('[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"');
    expect(plain).toContain('SystemdCgroup = true');
    expect(plain).not.toContain('password');
    const auths = [{ registry: 'registry.bj1.example.com', username: 'flotilla', password: 'p"w\\x\n' }];
    const withAuth = renderContainerdConfig({ auths });
    expect(withAuth).toBe(plain + renderContainerdAuths(auths));
    expect(withAuth).toContain('[plugins."io.containerd.grpc.v1.cri".registry.configs."registry.bj1.example.com".auth]\n  username = "flotilla"\n  password = "p\\"w\\\\x\\u000a"');
    expect(renderContainerdMainConfig()).toContain('imports = ["/etc/containerd/conf.d/*.toml"]');
  });

  it('per-upstream layout uses override_path under /v2/<upstream>', () => {
    const docker = renderContainerdHosts(bj1, { layout: 'per-upstream' }).find((x) => x.registry === 'docker.io')!.content;
    expect(docker).toContain('[host."https://registry.bj1.example.com/v2/docker.io"]');
    expect(docker).toContain('override_path = true');
  });
});

describe('renderHostFiles', () => {
  it.each(EXAMPLES)('%s: deterministic, sorted, every file marked generated, input untouched', async (ex) => {
    const site = await loadExample(ex);
    const before = JSON.stringify(site);
    const a = renderHostFiles(site);
    const b = renderHostFiles(await loadExample(ex));
    expect(b).toEqual(a);
    expect(JSON.stringify(site)).toBe(before);
    const paths = a.map((f) => f.path);
    expect(paths).toEqual([...paths].sort());
    expect(new Set(paths).size).toBe(paths.length);
    for (const f of a) expect(f.content.split('\n').slice(0, 2).join('\n'), f.path).toContain(GENERATED);
  });

  it('carries host paths and modes for installation', () => {
    const files = renderHostFiles(bj1);
    const get = (p: string) => files.find((f) => f.path === p)!;
    expect(get('hosts/bj1-a-m1/keepalived.conf').hostPath).toBe('/etc/keepalived/keepalived.conf');
    expect(get('hosts/bj1-a-m1/check_apiserver.sh').mode).toBe(0o755);
    expect(get('hosts/bj1-a-e1/keepalived-edge.conf').hostPath).toBe('/etc/keepalived/keepalived-edge.conf');
    expect(get('hosts/bj1-a-w1/containerd/certs.d/docker.io/hosts.toml').hostPath).toBe('/etc/containerd/certs.d/docker.io/hosts.toml');
    expect(get('network/tor-a.bird.conf').hostPath).toBeUndefined();
    // Workers get no VRRP files: only containerd's and the log-folder cleanup.
    expect(files.filter((f) => f.path.startsWith('hosts/bj1-a-w1/') && !f.path.includes('/containerd/') && !f.path.includes('/log-cleanup/'))).toEqual([]);
  });

  it('a site without routers or edge VIPs renders no BIRD or front file', () => {
    const files = renderHostFiles(makeSite());
    expect(files.some((f) => f.path.startsWith('network/') || f.path.startsWith('front/'))).toBe(false);
    expect(files.some((f) => f.path === 'hosts/lab-a-m1/keepalived.conf')).toBe(true);
  });
});
