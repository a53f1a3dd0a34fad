// keepalived.conf renderers: a generic VRRP config over a plain input type, and the two uses the
// inventory has — the kube-apiserver VIP on masters (kubeadm HA style) and the edge VIPs in front of
// the Istio ingress gateways. VRRP version 3 with sub-second adverts (DESIGN.md: 0.7 s failover with
// `advert_int 0.2`, ~3.1 s with v2 and 1 s adverts), unicast between the holders.
import { HOST_PATHS } from '../lib/host-files';
import type { Cluster, SiteNode } from '../site/index';
import { holderPriority, resolved, type SiteSource } from '../site/resolve';
import { blocks, dq, header, indent } from './common';

export interface VrrpScript {
  /** Script name (a keepalived identifier), e.g. `chk_ingress`. */
  readonly name: string;
  /** Command line; the program must be an absolute path owned by root (`enable_script_security`). */
  readonly command: string;
  /** Seconds between runs (whole seconds in keepalived 2.2). */
  readonly interval: number;
  /** Seconds before a run counts as failed. */
  readonly timeout: number;
  readonly fall: number;
  readonly rise: number;
  /**
   * Priority change while failing (negative), or 0: a failing check puts the instance in FAULT so
   * it never holds the VIP.
   */
  readonly weight: number;
}

export interface VrrpInstance {
  /** Instance name (keepalived identifier), e.g. `VI_ingress`. */
  readonly name: string;
  readonly interface: string;
  readonly virtualRouterId: number;
  readonly priority: number;
  /** The VIP with its subnet prefix, e.g. `10.10.1.100/24`. */
  readonly address: string;
  /** This host's address: VRRP adverts are unicast from it. */
  readonly unicastSrcIp: string;
  /** The other holders' addresses; empty = a single holder (no peers block). */
  readonly unicastPeers: readonly string[];
  /** Names of `VrrpScript`s tracked by this instance. */
  readonly trackScripts: readonly string[];
  /** Advert interval in seconds (sub-second allowed with VRRP v3). */
  readonly advertInterval: number;
  /** Take the VIP back when this node's priority is the highest again. */
  readonly preempt: boolean;
}

export interface KeepalivedInput {
  /** Comment lines after the generated header. */
  readonly comment: readonly string[];
  /** `router_id` in global_defs (the host name). */
  readonly routerId: string;
  /**
   * keepalived `instance` name: keeps pid files of several keepalived processes on one host apart
   * (API VIP and edge VIPs on a master+edge node).
   */
  readonly instance: string;
  readonly scripts: readonly VrrpScript[];
  readonly instances: readonly VrrpInstance[];
}

/** Renders a keepalived.conf (VRRP only). Pure and deterministic. */
export function renderKeepalived(input: KeepalivedInput): string {
  const daemon = [
    '# pid files carry the instance name (/run/keepalived/…): several keepalived processes on one',
    '# host (API VIP and edge VIPs on a master+edge node) must not share them',
    `instance ${input.instance}`,
    'use_pid_dir',
  ].join('\n');
  const global = [
    'global_defs {',
    `  router_id ${input.routerId}`,
    '  # track scripts run as root and must not be writable by anyone else',
    '  enable_script_security',
    '  script_user root',
    '  vrrp_version 3',
    '  # on becoming MASTER send 3 gratuitous ARPs at once and 3 more a second later',
    '  vrrp_garp_master_delay 1',
    '  vrrp_garp_master_repeat 3',
    '}',
  ].join('\n');
  const scripts = input.scripts.map((s) =>
    [
      `vrrp_script ${s.name} {`,
      `  script ${dq(s.command)}`,
      `  interval ${s.interval}`,
      `  timeout ${s.timeout}`,
      `  fall ${s.fall}`,
      `  rise ${s.rise}`,
      ...(s.weight !== 0 ? [`  weight ${s.weight}`] : []),
      '}',
    ].join('\n'),
  );
  const instances = input.instances.map((v) => {
    const lines = [
      `vrrp_instance ${v.name} {`,
      '  state BACKUP',
      `  interface ${v.interface}`,
      `  virtual_router_id ${v.virtualRouterId}`,
      `  priority ${v.priority}`,
      '  version 3',
      `  advert_int ${v.advertInterval}`,
      ...(v.preempt ? [] : ['  nopreempt']),
    ];
    if (v.unicastPeers.length > 0) {
      lines.push(`  unicast_src_ip ${v.unicastSrcIp}`, '  unicast_peer {', indent(v.unicastPeers.join('\n'), 4), '  }');
    } else {
      // keepalived -t rejects unicast_src_ip without peers; a lone holder has nobody to advertise to,
      // so it keeps the VIP on its own (VRRP multicast adverts that no peer listens to).
      lines.push('  # single holder: no VRRP peers, this node always holds the VIP');
    }
    lines.push('  virtual_ipaddress {', `    ${v.address} dev ${v.interface}`, '  }');
    if (v.trackScripts.length > 0) {
      lines.push('  track_script {', indent(v.trackScripts.join('\n'), 4), '  }');
    }
    lines.push('}');
    return lines.join('\n');
  });
  return blocks([header(input.comment), daemon, global, ...scripts, ...instances]);
}

export { failoverWeight, vrrpPriority } from '../site/resolve';

/** A keepalived identifier from a name (letters, digits, `_`, `-`). */
export function keepalivedId(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

export interface EdgeKeepalivedOptions {
  /**
   * Command of the track check on the local ingress gateway's readiness.
   * @default - `/usr/bin/curl -sf -m 1 <trackUrl>`
   */
  readonly trackCommand?: string;
  /**
   * Readiness URL of the local Istio ingress gateway, used when `trackCommand` is not given.
   * @default 'http://127.0.0.1:15021/healthz/ready'
   */
  readonly trackUrl?: string;
  /** @default 1 (seconds) */
  readonly trackInterval?: number;
  /** Consecutive failures before the node gives up its VIPs. @default 2 */
  readonly trackFall?: number;
  /** Consecutive successes before it may hold them again. @default 2 */
  readonly trackRise?: number;
  /** @default 0.2 (seconds, VRRP v3) */
  readonly advertInterval?: number;
  /** @default true */
  readonly preempt?: boolean;
  /** keepalived `instance` name (pid files apart from the API-VIP keepalived). @default 'edge' */
  readonly instance?: string;
}

export const DEFAULT_TRACK_URL = 'http://127.0.0.1:15021/healthz/ready';

/** The KeepalivedInput of one edge node: one VRRP instance per edge VIP of its cluster. */
export function edgeKeepalivedInput(site: SiteSource, cluster: Cluster, node: SiteNode, opts: EdgeKeepalivedOptions = {}): KeepalivedInput {
  const r = resolved(site);
  const vip = r.cluster(cluster.name).edgeVip;
  const edges = vip.holders;
  const priority = holderPriority(vip, node, cluster.name);
  const command = opts.trackCommand ?? `/usr/bin/curl -sf -m 1 ${opts.trackUrl ?? DEFAULT_TRACK_URL}`;
  const peers = edges.filter((n) => n.name !== node.name).map((n) => n.address);
  return {
    comment: [
      `keepalived for the edge VIPs of cluster ${cluster.name} (site ${r.name}) on edge node ${node.name}.`,
      `Holders in priority order: ${edges.map((n) => n.name).join(', ')}. A node whose ingress gateway is not`,
      'ready goes to FAULT and never holds a VIP.',
    ],
    routerId: node.name,
    instance: opts.instance ?? 'edge',
    scripts: [
      {
        name: 'chk_ingress_gateway',
        command,
        interval: opts.trackInterval ?? 1,
        timeout: Math.max(1, opts.trackInterval ?? 1),
        fall: opts.trackFall ?? 2,
        rise: opts.trackRise ?? 2,
        weight: 0,
      },
    ],
    instances: cluster.edge.vips.map((vip) => ({
      name: `VI_${keepalivedId(vip.name)}`,
      interface: vip.interface,
      virtualRouterId: vip.virtualRouterId,
      priority,
      address: vip.address,
      unicastSrcIp: node.address,
      unicastPeers: peers,
      trackScripts: ['chk_ingress_gateway'],
      advertInterval: opts.advertInterval ?? 0.2,
      preempt: opts.preempt ?? true,
    })),
  };
}

/** keepalived.conf of one edge node's keepalived (run by the EdgeGateway DaemonSet). */
export function renderEdgeKeepalivedConf(site: SiteSource, cluster: Cluster, node: SiteNode, opts: EdgeKeepalivedOptions = {}): string {
  return renderKeepalived(edgeKeepalivedInput(site, cluster, node, opts));
}

export interface ApiKeepalivedOptions {
  /** Path of check_apiserver.sh on the host (and in the keepalived static pod). @default '/etc/keepalived/check_apiserver.sh' */
  readonly checkScriptPath?: string;
  /** @default 0.2 (seconds, VRRP v3) */
  readonly advertInterval?: number;
  /** @default 1 */
  readonly checkInterval?: number;
  /** @default 3 */
  readonly checkFall?: number;
  /** @default 2 */
  readonly checkRise?: number;
  /** keepalived `instance` name. @default 'apiserver' */
  readonly instance?: string;
}

export const DEFAULT_CHECK_APISERVER_PATH = HOST_PATHS.checkApiserver;

/**
 * The KeepalivedInput of one master for the API VIP. A failing apiserver check lowers the master's
 * priority below every healthy master (weight), so the VIP stays held even while all apiservers
 * are down (e.g. during `kubeadm init`).
 */
export function apiKeepalivedInput(site: SiteSource, cluster: Cluster, node: SiteNode, opts: ApiKeepalivedOptions = {}): KeepalivedInput {
  const r = resolved(site);
  const vip = r.cluster(cluster.name).apiVip;
  const masters = vip.holders;
  const priority = holderPriority(vip, node, cluster.name);
  return {
    comment: [
      `keepalived for the kube-apiserver VIP ${cluster.apiVIP.address} of cluster ${cluster.name} (site ${r.name})`,
      `on master ${node.name}. Holders in priority order: ${masters.map((n) => n.name).join(', ')}.`,
    ],
    routerId: node.name,
    instance: opts.instance ?? 'apiserver',
    scripts: [
      {
        name: 'check_apiserver',
        command: opts.checkScriptPath ?? DEFAULT_CHECK_APISERVER_PATH,
        interval: opts.checkInterval ?? 1,
        timeout: 3,
        fall: opts.checkFall ?? 3,
        rise: opts.checkRise ?? 2,
        weight: vip.failoverWeight,
      },
    ],
    instances: [
      {
        name: 'VI_apiserver',
        interface: cluster.apiVIP.interface,
        virtualRouterId: cluster.apiVIP.virtualRouterId,
        priority,
        address: cluster.apiVIP.address,
        unicastSrcIp: node.address,
        unicastPeers: masters.filter((n) => n.name !== node.name).map((n) => n.address),
        trackScripts: ['check_apiserver'],
        advertInterval: opts.advertInterval ?? 0.2,
        preempt: true,
      },
    ],
  };
}

export function renderApiKeepalivedConf(site: SiteSource, cluster: Cluster, node: SiteNode, opts: ApiKeepalivedOptions = {}): string {
  return renderKeepalived(apiKeepalivedInput(site, cluster, node, opts));
}

export interface KeepalivedRunOptions {
  /** Config file. @default '/etc/keepalived/keepalived.conf' */
  readonly configFile?: string;
  /** Parent process pid file: one per keepalived process on a host. */
  readonly pidFile: string;
  /** VRRP child pid file: one per keepalived process on a host. */
  readonly vrrpPidFile: string;
}

/**
 * Arguments to run keepalived in the foreground (container or test) with its own pid files, VRRP
 * only, logging to the console. Two keepalived processes on one host must not share pid files.
 */
export function keepalivedArgs(opts: KeepalivedRunOptions): string[] {
  return [
    '--dont-fork',
    '--log-console',
    '--log-detail',
    '--vrrp',
    `--use-file=${opts.configFile ?? HOST_PATHS.apiKeepalivedConf}`,
    `--pid=${opts.pidFile}`,
    `--vrrp_pid=${opts.vrrpPidFile}`,
  ];
}
