// The highly available front (`spec.front`): per front host the front HAProxy config — the site's
// front (front.ts) plus the runtime API over TCP for cluster-mgr on the host's private address and a
// local health endpoint — and a keepalived config holding the front VIP (VRRP v3, unicast between
// the front hosts, priority by host order, a track script on the local HAProxy).
import { HOST_PATHS } from '../lib/host-files';
import { vrrpPriority } from '../site/resolve';
import { resolved, type SiteSource } from '../site/resolve';
import { frontInputFromSite, renderFrontHaproxy, type FrontSiteOptions } from './front';
import { renderKeepalived, type KeepalivedInput } from './keepalived';

export interface FrontHostOptions extends FrontSiteOptions {
  /** Port of the local health endpoint keepalived tracks. @default 8405 */
  readonly healthPort?: number;
  /** Server certificate + key (PEM) of the runtime API. @default '/etc/haproxy/runtime-api/server.pem' */
  readonly certFile?: string;
  /** CA of the client certificates. @default '/etc/haproxy/runtime-api/client-ca.pem' */
  readonly clientCaFile?: string;
  /** @default 0.2 (seconds, VRRP v3) */
  readonly advertInterval?: number;
  /** Track script: seconds between checks / failures before giving up the VIP / successes before holding it. @default 1, 2, 2 */
  readonly trackInterval?: number;
  readonly trackFall?: number;
  readonly trackRise?: number;
  /** keepalived `instance` name. @default 'front' */
  readonly instance?: string;
}

export const DEFAULT_FRONT_HEALTH_PORT = 8405;

export interface FrontHostFile {
  readonly path: string;
  readonly content: string;
  readonly hostPath: string;
}

/** The runtime API endpoints cluster-mgr drives (`traffic.haproxy.addresses`), in host order. */
export function frontRuntimeApiAddresses(input: SiteSource): string[] {
  const front = resolved(input).site.spec.front;
  return front ? front.hosts.map((h) => `${h.address}:${front.runtimeApi.port}`) : [];
}

/** Who may reach the runtime API unless the inventory says: cluster-mgr's pods (every cluster's pod CIDR) and the ops host (spec.federation.opsHost). */
function defaultRuntimeApiSources(input: SiteSource): string[] {
  const r = resolved(input);
  const ops = r.site.spec.federation.opsHost;
  return [...new Set([...r.clusters.map((c) => c.addressing.podCIDR), ...(ops ? [`${ops.address}/32`] : [])])];
}

/** The front HAProxy config of one front host. */
export function renderFrontHostHaproxy(input: SiteSource, host: string, opts: FrontHostOptions = {}): string {
  const r = resolved(input);
  const front = r.site.spec.front;
  const h = front?.hosts.find((x) => x.name === host);
  if (!front || !h) throw new Error(`front host ${JSON.stringify(host)} is not in spec.front.hosts`);
  const base = frontInputFromSite(r, opts);
  return renderFrontHaproxy({
    ...base,
    comment: [...(base.comment ?? []), `Front host ${h.name} (${h.address}); the runtime API listens on ${h.address}:${front.runtimeApi.port}.`],
    runtimeApi: {
      address: h.address,
      port: front.runtimeApi.port,
      allowedSources: front.runtimeApi.allowedSources ?? defaultRuntimeApiSources(r),
      certFile: opts.certFile ?? HOST_PATHS.frontRuntimeApiCert,
      clientCaFile: opts.clientCaFile ?? HOST_PATHS.frontRuntimeApiClientCa,
      clientName: front.runtimeApi.clientName,
    },
    health: { port: opts.healthPort ?? DEFAULT_FRONT_HEALTH_PORT },
  });
}

/** The keepalived input of one front host: the front VIP, tracking the local HAProxy. */
export function frontKeepalivedInput(input: SiteSource, host: string, opts: FrontHostOptions = {}): KeepalivedInput {
  const r = resolved(input);
  const front = r.site.spec.front;
  const i = front?.hosts.findIndex((x) => x.name === host) ?? -1;
  if (!front || i < 0) throw new Error(`front host ${JSON.stringify(host)} is not in spec.front.hosts`);
  const h = front.hosts[i]!;
  return {
    comment: [
      `keepalived for the front VIP ${front.vip.address} of site ${r.name} on front host ${h.name}.`,
      `Holders in priority order: ${front.hosts.map((x) => x.name).join(', ')}. A host whose HAProxy does not answer`,
      'goes to FAULT and never holds the VIP.',
    ],
    routerId: h.name,
    instance: opts.instance ?? 'front',
    scripts: [
      {
        name: 'chk_front_haproxy',
        command: `/usr/bin/curl -sf -m 1 http://127.0.0.1:${opts.healthPort ?? DEFAULT_FRONT_HEALTH_PORT}/healthz`,
        interval: opts.trackInterval ?? 1,
        timeout: Math.max(1, opts.trackInterval ?? 1),
        fall: opts.trackFall ?? 2,
        rise: opts.trackRise ?? 2,
        weight: 0,
      },
    ],
    instances: [
      {
        name: 'VI_front',
        interface: front.vip.interface,
        virtualRouterId: front.vip.virtualRouterId,
        priority: vrrpPriority(i, front.hosts.length),
        address: front.vip.address,
        unicastSrcIp: h.address,
        unicastPeers: front.hosts.filter((x) => x.name !== h.name).map((x) => x.address),
        trackScripts: ['chk_front_haproxy'],
        advertInterval: opts.advertInterval ?? 0.2,
        preempt: true,
      },
    ],
  };
}

/** Every front host's files: `hosts/<front>/front-haproxy.cfg` and `hosts/<front>/keepalived-front.conf`. */
export function renderFrontHostFiles(input: SiteSource, opts: FrontHostOptions = {}): FrontHostFile[] {
  const front = resolved(input).site.spec.front;
  if (!front) return [];
  return front.hosts.flatMap((h) => [
    { path: `hosts/${h.name}/front-haproxy.cfg`, hostPath: HOST_PATHS.frontHaproxyCfg, content: renderFrontHostHaproxy(input, h.name, opts) },
    { path: `hosts/${h.name}/keepalived-front.conf`, hostPath: HOST_PATHS.frontKeepalivedConf, content: renderKeepalived(frontKeepalivedInput(input, h.name, opts)) },
  ]);
}
