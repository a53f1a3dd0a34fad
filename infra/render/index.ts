// Host and network config renderers (pure functions): inventory model → file contents.
// The signatures of renderHostFiles and renderEdgeKeepalived are the contract other modules use.
import { HOST_PATHS } from '../lib/host-files';
import { logCleanupCron, logCleanupScript } from '../lib/pod-logs';
import { mirrorImage } from '../lib/image';
import type { Cluster, SiteNode } from '../site/index';
import { resolved, type ResolvedSite, type SiteSource } from '../site/resolve';
import {
  API_VIP_IMAGES,
  renderApiHaproxy,
  renderApiHaproxyPod,
  renderApiKeepalivedPod,
  renderCheckApiserver,
  resolveApiVipOptions,
  type ApiVipOptions,
} from './apivip';
import { renderRouterBird, type BirdOptions } from './bird';
import { renderContainerdConfig, renderContainerdHosts, renderContainerdMainConfig, type ContainerdOptions } from './containerd';
import { frontInputFromSite, renderFrontHaproxy, type FrontSiteOptions } from './front';
import { renderApiKeepalivedConf, renderEdgeKeepalivedConf, type ApiKeepalivedOptions, type EdgeKeepalivedOptions } from './keepalived';

export * from './apivip';
export * from './bird';
export { GENERATED } from './common';
export * from './containerd';
export * from './front';
export * from './keepalived';

/** File name of Flotilla's CRI drop-in in `/etc/containerd/conf.d/`. */
export const CONTAINERD_CRI_DROP_IN = '10-flotilla-cri.toml';

export interface RenderedFile {
  /** Path relative to `OUT/<site>/`, e.g. `hosts/bj1-a-m1/keepalived.conf`, `network/tor-a.bird.conf`. */
  readonly path: string;
  readonly content: string;
  /** Where the file goes on its host (host files only), e.g. `/etc/keepalived/keepalived.conf`. */
  readonly hostPath?: string;
  /** File mode on the host. @default 0o644 */
  readonly mode?: number;
}

export interface HostFilesOptions {
  /**
   * Air-gapped sites: pull the static pods' images from this registry host instead
   * (`<registry>/<path>`, the same layout as the synth's image rewrite and containerd's `flat` mirror).
   * @default - upstream image references
   */
  readonly imageRegistry?: string;
  readonly apiVip?: ApiVipOptions & Pick<ApiKeepalivedOptions, 'advertInterval' | 'checkInterval' | 'checkFall' | 'checkRise'>;
  readonly edge?: EdgeKeepalivedOptions;
  readonly bird?: BirdOptions;
  readonly front?: FrontSiteOptions;
  readonly containerd?: ContainerdOptions;
}


/** Images the host files of a site need (the API-VIP static pods), sorted. */
export function hostFileImages(site: SiteSource, opts: HostFilesOptions = {}): string[] {
  if (!resolved(site).clusters.some((c) => c.apiVip.holders.length > 0)) return [];
  const o = resolveApiVipOptions(apiVipOptions(opts));
  return [...new Set([o.keepalivedImage, o.haproxyImage])].sort();
}

function apiVipOptions(opts: HostFilesOptions): ApiVipOptions & Pick<ApiKeepalivedOptions, 'advertInterval' | 'checkInterval' | 'checkFall' | 'checkRise'> {
  const a = opts.apiVip ?? {};
  if (!opts.imageRegistry) return a;
  const reg = opts.imageRegistry;
  return {
    ...a,
    keepalivedImage: mirrorImage(a.keepalivedImage ?? API_VIP_IMAGES.keepalived, reg),
    haproxyImage: mirrorImage(a.haproxyImage ?? API_VIP_IMAGES.haproxy, reg),
  };
}

function masterFiles(site: ResolvedSite, cluster: Cluster, node: SiteNode, o: ReturnType<typeof resolveApiVipOptions<ReturnType<typeof apiVipOptions>>>): RenderedFile[] {
  const opts = o;
  const dir = `hosts/${node.name}`;
  return [
    {
      path: `${dir}/keepalived.conf`,
      hostPath: o.keepalivedConfPath,
      content: renderApiKeepalivedConf(site, cluster, node, { ...opts, checkScriptPath: o.checkScriptPath }),
    },
    { path: `${dir}/check_apiserver.sh`, hostPath: o.checkScriptPath, mode: 0o755, content: renderCheckApiserver(site, cluster, node, opts) },
    { path: `${dir}/haproxy.cfg`, hostPath: o.haproxyCfgPath, content: renderApiHaproxy(site, cluster, node, opts) },
    { path: `${dir}/manifests/keepalived.yaml`, hostPath: `${HOST_PATHS.staticPods}/keepalived.yaml`, content: renderApiKeepalivedPod(site, cluster, node, opts) },
    { path: `${dir}/manifests/haproxy.yaml`, hostPath: `${HOST_PATHS.staticPods}/haproxy.yaml`, content: renderApiHaproxyPod(site, cluster, node, opts) },
  ];
}

/**
 * Every host and network file of a site: API-VIP keepalived + HAProxy static pods on masters,
 * the edge keepalived.conf on edge nodes, per node containerd's config (main file + CRI drop-in with
 * `config_path`) and certs.d (hosts.toml per registry, ca.crt of the site CA and of peer sites), the ToR side of every BGP
 * session per router, the global front haproxy.cfg. Deterministic: same site, same files, sorted by
 * path.
 */
export function renderHostFiles(input: SiteSource, opts: HostFilesOptions = {}): RenderedFile[] {
  const site = resolved(input);
  const files: RenderedFile[] = [];
  const apiVip = site.clusters.some((c) => c.apiVip.holders.length > 0) ? resolveApiVipOptions(apiVipOptions(opts)) : undefined;
  const certsDir = opts.containerd?.certsDir ?? HOST_PATHS.containerdCertsDir;
  const hostsTomls = renderContainerdHosts(site, opts.containerd);
  const containerdMain = renderContainerdMainConfig();
  const containerdCri = renderContainerdConfig({ certsDir, ...opts.containerd?.cri });
  for (const { cluster } of site.clusters) {
    for (const node of cluster.nodes) {
      if (apiVip && node.roles.includes('master')) files.push(...masterFiles(site, cluster, node, apiVip));
      if (node.roles.includes('edge') && cluster.edge.vips.length > 0) {
        files.push({
          path: `hosts/${node.name}/keepalived-edge.conf`,
          hostPath: HOST_PATHS.edgeKeepalivedConf,
          content: renderEdgeKeepalived(site, cluster, node, opts.edge),
        });
      }
      files.push(...logCleanupFiles(node.name, site.site.spec.logging.fileLogs));
      for (const h of hostsTomls) {
        const file = h.file ?? 'hosts.toml';
        files.push({
          path: `hosts/${node.name}/containerd/certs.d/${h.registry}/${file}`,
          hostPath: `${certsDir}/${h.registry}/${file}`,
          content: h.content,
        });
      }
      files.push(
        { path: `hosts/${node.name}/containerd/config.toml`, hostPath: HOST_PATHS.containerdConfig, content: containerdMain },
        { path: `hosts/${node.name}/containerd/conf.d/${CONTAINERD_CRI_DROP_IN}`, hostPath: `${HOST_PATHS.containerdDropInDir}/${CONTAINERD_CRI_DROP_IN}`, content: containerdCri },
      );
    }
  }
  for (const { router } of site.routers) {
    files.push({ path: `network/${router.name}.bird.conf`, content: renderRouterBird(site, router, opts.bird) });
  }
  const front = frontInputFromSite(site, opts.front);
  if (front.backends.length > 0) files.push({ path: 'front/haproxy.cfg', content: renderFrontHaproxy(front) });
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every node: the daily cleanup of per-pod log folders (script + cron.d entry, retention from the inventory). */
function logCleanupFiles(node: string, fileLogs: { hostPath: string; retentionDays: number }): RenderedFile[] {
  const script = `hosts/${node}/log-cleanup/flotilla-log-cleanup`;
  return [
    { path: script, content: logCleanupScript(fileLogs.hostPath, fileLogs.retentionDays) },
    { path: `${script}.cron`, content: logCleanupCron(HOST_PATHS.logCleanupScript, fileLogs.hostPath, fileLogs.retentionDays) },
  ];
}

/**
 * keepalived.conf for one edge node's keepalived (run by the EdgeGateway DaemonSet): one VRRP v3
 * instance per edge VIP of the cluster, unicast to the other edge nodes, priority by node order,
 * tracking the local ingress gateway's readiness.
 */
export function renderEdgeKeepalived(site: SiteSource, cluster: Cluster, node: SiteNode, opts: EdgeKeepalivedOptions = {}): string {
  return renderEdgeKeepalivedConf(site, cluster, node, opts);
}
