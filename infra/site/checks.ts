// Cross-field checks a data-center engineer expects of a Site inventory. Pure: takes the parsed
// model, returns issues with paths into the original document.
import { cidrContains, cidrsOverlap, formatCidr, parseCidr, parseIPv4, type Cidr } from '../lib/net';
import { checkAcme } from './acme-checks';
import { siteAddressing } from './addressing';
import type { Site } from './schema';

export type Path = readonly (string | number)[];

export interface Issue {
  readonly path: Path;
  readonly message: string;
}

const show = (v: unknown): string => JSON.stringify(v);

export function checkSite(site: Site): Issue[] {
  const issues: Issue[] = [];
  const add = (path: Path, message: string) => issues.push({ path, message });
  const spec = site.spec;
  const net = spec.network;

  // --- CIDRs, per cluster (its own or the site's): pod vs service, block size, and no range shared
  // with another cluster of the site (both would announce it to the same ToRs).
  const addressing = siteAddressing(site);
  const reserved: { name: string; cidr: Cidr }[] = [];
  const cidrPath = (ci: number, field: 'podCIDR' | 'serviceCIDR'): Path =>
    addressing[ci]!.inherited[field] ? ['spec', 'network', field] : ['spec', 'clusters', ci, 'network', field];
  const seen: { ci: number; field: 'podCIDR' | 'serviceCIDR'; cidr: Cidr }[] = [];
  addressing.forEach((a, ci) => {
    const pod = parseCidr(a.podCIDR)!;
    const svc = parseCidr(a.serviceCIDR)!;
    const label = spec.clusters.length > 1 ? `cluster ${show(a.cluster)} ` : '';
    if (cidrsOverlap(pod, svc)) {
      add(cidrPath(ci, 'podCIDR'), `${label}podCIDR ${show(a.podCIDR)} overlaps serviceCIDR ${show(a.serviceCIDR)}: choose non-overlapping ranges`);
    }
    // One message for the first cluster whose pool is too small (the field is site-wide).
    if (net.blockSize < pod.prefix && !issues.some((i) => i.path.join('.') === 'spec.network.blockSize')) {
      add(['spec', 'network', 'blockSize'], `blockSize ${net.blockSize} is larger than ${label}podCIDR ${show(a.podCIDR)} allows: expected ≥ ${pod.prefix}`);
    }
    for (const [field, cidr] of [['podCIDR', pod], ['serviceCIDR', svc]] as const) {
      for (const other of seen) {
        if (other.ci === ci || !cidrsOverlap(other.cidr, cidr)) continue;
        const o = addressing[other.ci]!;
        const inherited = a.inherited[field] ? ` (inherited from spec.network.${field})` : '';
        add(
          ['spec', 'clusters', ci, ...(a.inherited[field] ? ['name'] : ['network', field])],
          `cluster ${show(a.cluster)} ${field} ${show(formatCidr(cidr))}${inherited} overlaps cluster ${show(o.cluster)} ${other.field} ${show(formatCidr(other.cidr))}: give each cluster its own range in spec.clusters[${ci}].network.${field}`,
        );
        break;
      }
      reserved.push({ name: `${label}${field}`, cidr });
    }
    seen.push({ ci, field: 'podCIDR', cidr: pod }, { ci, field: 'serviceCIDR', cidr: svc });
  });
  const checkOutsideReserved = (path: Path, address: string) => {
    const a = parseIPv4(address);
    if (a === undefined) return;
    for (const r of reserved) {
      if (cidrContains(r.cidr, a)) {
        add(path, `${show(address)} lies inside ${r.name} ${formatCidr(r.cidr)}: host addresses must be outside it`);
      }
    }
  };

  // --- Routers.
  const routerNames = new Map<string, number>();
  const addresses = new Map<string, string>(); // address -> path text of first use
  const claimAddress = (path: Path, address: string, what: string) => {
    const prev = addresses.get(address);
    if (prev !== undefined) {
      add(path, `${what} address ${show(address)} is already used by ${prev}: addresses must be unique`);
    } else {
      addresses.set(address, formatPath(path));
    }
  };
  net.routers.forEach((r, i) => {
    const path: Path = ['spec', 'network', 'routers', i];
    if (routerNames.has(r.name)) add([...path, 'name'], `duplicate router name ${show(r.name)}: names must be unique`);
    routerNames.set(r.name, i);
    claimAddress([...path, 'address'], r.address, 'router');
    checkOutsideReserved([...path, 'address'], r.address);
  });

  // --- Clusters and nodes.
  const clusterNames = new Set<string>();
  const nodeNames = new Map<string, Path>();
  const vipAddresses = new Map<string, string>();
  spec.clusters.forEach((cluster, ci) => {
    const cpath: Path = ['spec', 'clusters', ci];
    if (clusterNames.has(cluster.name)) {
      add([...cpath, 'name'], `duplicate cluster name ${show(cluster.name)}: cluster names must be unique in a site`);
    }
    clusterNames.add(cluster.name);

    cluster.nodes.forEach((node, ni) => {
      const npath: Path = [...cpath, 'nodes', ni];
      if (nodeNames.has(node.name)) {
        add([...npath, 'name'], `duplicate node name ${show(node.name)} (also at ${formatPath(nodeNames.get(node.name)!)}): node names must be unique`);
      } else {
        nodeNames.set(node.name, npath);
      }
      claimAddress([...npath, 'address'], node.address, 'node');
      checkOutsideReserved([...npath, 'address'], node.address);
      if (new Set(node.roles).size !== node.roles.length) {
        add([...npath, 'roles'], `roles ${show(node.roles)} repeat a role: list each role once`);
      }
    });

    const masters = cluster.nodes.filter((n) => n.roles.includes('master'));
    const edges = cluster.nodes.filter((n) => n.roles.includes('edge'));
    if (masters.length === 0) {
      add([...cpath, 'nodes'], `cluster ${show(cluster.name)} has no node with role "master": at least one is required`);
    }

    // VIPs: valid subnet holding its holders, not a node address, unique, VRID unique per cluster.
    const vrids = new Map<number, string>();
    const checkVip = (path: Path, vip: { address: string; virtualRouterId: number }, holders: typeof cluster.nodes, holderRole: string) => {
      const c = parseCidr(vip.address);
      if (!c) return;
      const addressText = vip.address.split('/')[0]!;
      if (c.prefix === 32 || c.prefix === 31) {
        add([...path, 'address'], `VIP ${show(vip.address)} has prefix /${c.prefix}: give the prefix of the holders' subnet, e.g. /24`);
      } else if (c.address === c.network || c.address === (c.network | (0xffffffff >>> c.prefix)) >>> 0) {
        add([...path, 'address'], `VIP ${show(vip.address)} is the network or broadcast address of its subnet: pick a host address`);
      }
      const prevVip = vipAddresses.get(addressText);
      if (prevVip !== undefined) {
        add([...path, 'address'], `VIP ${show(addressText)} is already used at ${prevVip}: VIPs must be unique`);
      } else {
        vipAddresses.set(addressText, formatPath(path));
      }
      const clash = addresses.get(addressText);
      if (clash !== undefined) {
        add([...path, 'address'], `VIP ${show(addressText)} equals the address at ${clash}: a VIP must not be a node or router address`);
      }
      checkOutsideReserved([...path, 'address'], addressText);
      const outside = holders.filter((n) => {
        const a = parseIPv4(n.address);
        return a !== undefined && !cidrContains(c, a);
      });
      if (outside.length > 0) {
        add(
          [...path, 'address'],
          `VIP ${show(vip.address)} is outside the subnet of ${holderRole} node(s) ${outside.map((n) => `${n.name} (${n.address})`).join(', ')}: the VIP must be in the subnet ${formatCidr(c)} of the interface that carries it`,
        );
      }
      const prevVrid = vrids.get(vip.virtualRouterId);
      if (prevVrid !== undefined) {
        add(
          [...path, 'virtualRouterId'],
          `virtualRouterId ${vip.virtualRouterId} is already used by ${prevVrid} in cluster ${show(cluster.name)}: VRRP router ids must be unique per cluster`,
        );
      } else {
        vrids.set(vip.virtualRouterId, formatPath(path));
      }
    };
    checkVip([...cpath, 'apiVIP'], cluster.apiVIP, masters, 'master');

    const vipNames = new Set<string>();
    cluster.edge.vips.forEach((vip, vi) => {
      const vpath: Path = [...cpath, 'edge', 'vips', vi];
      if (vipNames.has(vip.name)) add([...vpath, 'name'], `duplicate VIP name ${show(vip.name)} in cluster ${show(cluster.name)}`);
      vipNames.add(vip.name);
      if (edges.length === 0) {
        add(
          [...vpath],
          `edge VIP ${show(vip.name)} has no node to run on: cluster ${show(cluster.name)} has no node with role "edge"; add the role to at least one node or remove the VIP`,
        );
      }
      checkVip(vpath, vip, edges, 'edge');
      if (new Set(vip.ports).size !== vip.ports.length) {
        add([...vpath, 'ports'], `ports ${show(vip.ports)} repeat a port: list each port once`);
      }
    });
  });

  // --- Route reflectors name existing nodes.
  net.routeReflectors.forEach((name, i) => {
    if (!nodeNames.has(name)) {
      add(
        ['spec', 'network', 'routeReflectors', i],
        `route reflector ${show(name)} is not a node of this site: expected one of ${[...nodeNames.keys()].slice(0, 8).join(', ')}${nodeNames.size > 8 ? ', …' : ''}`,
      );
    }
  });
  if (new Set(net.routeReflectors).size !== net.routeReflectors.length) {
    add(['spec', 'network', 'routeReflectors'], 'routeReflectors repeat a node: list each once');
  }

  // --- Storage: the default backend is configured.
  const storage = spec.storage;
  if (!storage[storage.default]) {
    add(
      ['spec', 'storage', 'default'],
      `default storage backend ${show(storage.default)} is not configured: add spec.storage.${storage.default} or choose a configured backend`,
    );
  }

  // --- Certificates.
  if (spec.certificates.issuer === 'acme' && !spec.certificates.acmeEmail) {
    add(['spec', 'certificates', 'acmeEmail'], 'issuer "acme" needs acmeEmail: give the ACME account email, or use issuer "ca"');
  }
  issues.push(...checkAcme(site));

  // --- Monitoring: receivers have exactly one target; names unique.
  const receiverNames = new Set<string>();
  spec.monitoring.receivers.forEach((r, i) => {
    const path: Path = ['spec', 'monitoring', 'receivers', i];
    if (receiverNames.has(r.name)) add([...path, 'name'], `duplicate receiver name ${show(r.name)}`);
    receiverNames.add(r.name);
    const targets = [r.webhook, r.email].filter(Boolean).length;
    if (targets !== 1) {
      add(path, `receiver ${show(r.name)} has ${targets} targets: give exactly one of webhook or email`);
    }
  });
  // --- front hosts: names are hosts/<name>/ folders next to the nodes'; the VIP is a host address of
  // the front hosts' subnet.
  if (spec.front) {
    const nodeNames = new Set(spec.clusters.flatMap((c) => c.nodes.map((n) => n.name)));
    const frontNames = new Set<string>();
    spec.front.hosts.forEach((h, i) => {
      const hpath = ['spec', 'front', 'hosts', i, 'name'];
      if (nodeNames.has(h.name)) add(hpath, `front host name ${show(h.name)} is also a node name: give the front host its own name`);
      else if (frontNames.has(h.name)) add(hpath, `duplicate front host name ${show(h.name)}: names must be unique`);
      frontNames.add(h.name);
    });
    const vip = parseCidr(spec.front.vip.address)!;
    spec.front.hosts.forEach((h, i) => {
      if (!cidrContains(vip, parseIPv4(h.address)!)) add(['spec', 'front', 'hosts', i, 'address'], `front host address ${show(h.address)} is outside the front VIP's subnet ${formatCidr(vip)}: VRRP needs the holders on the VIP's subnet`);
      else if (parseIPv4(h.address) === vip.address) add(['spec', 'front', 'vip', 'address'], `front VIP ${show(spec.front!.vip.address)} equals front host ${show(h.name)}'s address: pick a free address`);
    });
  }
  const probeNames = new Set<string>();
  spec.monitoring.probes.forEach((p, i) => {
    if (probeNames.has(p.name)) add(['spec', 'monitoring', 'probes', i, 'name'], `duplicate probe name ${show(p.name)}`);
    probeNames.add(p.name);
  });

  // --- cluster-mgr's autoscaling source "members": a URL per cluster (the first defaults in-cluster).
  const metrics = spec.federation.autoscaling.metrics;
  if (metrics?.source === 'members') {
    const at: Path = ['spec', 'federation', 'autoscaling', 'metrics', 'urls'];
    for (const name of Object.keys(metrics.urls)) if (!clusterNames.has(name)) add([...at, name], `unknown cluster ${show(name)}: known clusters: ${[...clusterNames].join(', ')}`);
    const missing = spec.clusters.slice(1).map((c) => c.name).filter((n) => metrics.urls[n] === undefined);
    if (missing.length > 0) {
      add(at, `cluster${missing.length > 1 ? 's' : ''} ${missing.map(show).join(', ')} ha${missing.length > 1 ? 've' : 's'} no Prometheus URL: source "members" sums every cluster's Prometheus and cluster-mgr runs in ${show(spec.clusters[0]!.name)} — add urls.${missing[0]}: <its Prometheus as cluster-mgr reaches it>, or use source "url" with one Prometheus or Thanos query URL`);
    }
  }

  const appKeys = new Set<string>();
  spec.apps.forEach((a, i) => {
    const path: Path = ['spec', 'apps', i];
    const key = `${a.namespace}/${a.name}`;
    if (appKeys.has(key)) add([...path, 'name'], `duplicate app ${show(key)}: namespace/name must be unique`);
    appKeys.add(key);
    (a.clusters ?? []).forEach((c, j) => {
      if (!clusterNames.has(c)) add([...path, 'clusters', j], `unknown cluster ${show(c)}: known clusters: ${[...clusterNames].join(', ')}`);
    });
    if (a.canary?.version === 'stable') add([...path, 'canary', 'version'], 'canary version "stable" is the stable pods\' version: give the canary another one, e.g. "v2"');
    if (a.consistentHash && Object.keys(a.consistentHash).length !== 1) {
      add([...path, 'consistentHash'], `consistentHash has ${Object.keys(a.consistentHash).length} keys: give exactly one of httpHeaderName, httpCookie, useSourceIp`);
    }
    if (a.host && a.host !== spec.domain && !a.host.endsWith(`.${spec.domain}`)) add([...path, 'host'], `host ${show(a.host)} is outside the site domain ${show(spec.domain)}: the site Gateway serves *.${spec.domain}`);
  });

  return issues;
}

/** `spec.clusters[0].nodes[3].address` */
export function formatPath(path: Path): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? '(root)' : out;
}
