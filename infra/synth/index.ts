// Site synthesis: the validated Site model → per-cluster manifests (one cdk8s chart per component),
// the chart catalog, host/network files, and the `flotilla synth` output tree. Everything here is
// pure except writeSiteTree; output is deterministic (sorted keys, no timestamps).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { App, Chart } from 'cdk8s';
import pLimit from 'p-limit';
import type { Construct } from 'constructs';
import { stringify } from 'yaml';
import { apiObject, BgpMode, CalicoNetwork, CertManagerIssuers, Dns01Solver, EdgeGateway, FederationControl, FederationMember, IstioMesh, Logging, Monitoring, Registry, SiteApp, SiteIssuer, Storage, StorageBackend } from '../../constructs/index';
import type { ConsistentHash } from '../lib/canary';
import { canonical, canonicalJson } from '../lib/canonical';
import { mirrorImage } from '../lib/image';
import { CLUSTER_MGR_FRONT_TLS, CLUSTER_MGR_KUBECONFIGS } from '../lib/cluster-mgr-rbac';
import { chartsFor } from '../catalog/charts';
import { DEFAULT_FRONT_SOCKET, frontInputFromSite, frontRuntimeApiAddresses, renderClusterMgrHostFiles, hostFileImages, renderEdgeKeepalived, renderHostFiles, type EdgeKeepalivedOptions, type HostFilesOptions, type RenderedFile } from '../render/index';
import { resolved, type ResolvedCluster, type ResolvedSite, type SiteSource } from '../site/resolve';
import type { Cluster, Site } from '../site/index';
import { clusterServiceHost } from '../site/endpoints';
import { IN_CLUSTER_PROMETHEUS_URL, subscribedTemplates } from '../site/schema';
import { COMPONENTS, type ClusterSynth, type ComponentManifests, type ComponentName, type K8sObject, type SiteSynth, type SynthOptions } from './types';

export * from './types';

/**
 * keepalived's track check on the edge nodes: the local ingress gateway's readiness, through a
 * Service with `internalTrafficPolicy: Local` so only the gateway pod on the same node answers.
 */
export const EDGE_TRACK_URL = 'http://istio-ingressgateway-local.istio-ingress.svc.cluster.local:15021/healthz/ready';
export const EDGE_KEEPALIVED_OPTIONS: EdgeKeepalivedOptions = { trackUrl: EDGE_TRACK_URL };

/** The Federation document cluster-mgr runs with for a site (all its clusters as members). */
export function federationFromSite(input: SiteSource): Record<string, unknown> {
  const r = resolved(input);
  const { site } = r;
  const f = site.spec.federation;
  const host = r.clusters.find((c) => c.runsSiteServices)?.cluster.name ?? site.spec.clusters[0]!.name;
  return {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Federation',
    metadata: { name: site.metadata.name },
    spec: {
      members: site.spec.clusters.map((c) => ({
        name: c.name,
        // the host cluster's `cluster-mgr-kubeconfigs` Secret (Pulumi: one key per member, its member token)
        kubeconfig: `${CLUSTER_MGR_KUBECONFIGS.dir}/${c.name}.yaml`,
        labels: { site: site.metadata.name, env: site.spec.environment },
        traffic: { server: c.name },
      })),
      health: { ...f.health },
      // every backend of the site's front (front/haproxy.cfg): cluster-mgr drains a failed member in all
      // With front hosts (spec.front): their runtime APIs over TCP with mutual TLS, one address per host
      // (the keepalived pair: cluster-mgr keeps both in step); otherwise the single front's admin socket.
      traffic: { haproxy: { ...frontRuntimeApi(r), backends: frontInputFromSite(r).backends.map((b) => b.name) }, secondOpinion: f.traffic.secondOpinion },
      alerting: { alertmanager: { url: 'http://kube-prometheus-stack-alertmanager.monitoring.svc:9093' } },
      autoscaling: { metrics: federationMetrics(site) },
      // In the pod: its own service account (the Role of FederationControl); outside (systemd): the host member's kubeconfig.
      leaderElection: { namespace: FEDERATION_NAMESPACE, leaseName: FEDERATION_LEASE, inCluster: true, member: host, ...f.leaderElection },
      // FederatedApp CRs in the host cluster (the CRD is part of the federation component)
      appSources: { crs: {} },
      apps: [],
    },
  };
}

/** How cluster-mgr reaches the front's HAProxy runtime API (`traffic.haproxy` without `backends`). */
function frontRuntimeApi(r: ResolvedSite): Record<string, unknown> {
  if (!r.site.spec.front) return { socket: DEFAULT_FRONT_SOCKET };
  const t = CLUSTER_MGR_FRONT_TLS;
  return { addresses: frontRuntimeApiAddresses(r), tls: { caFile: `${t.dir}/${t.ca}`, certFile: `${t.dir}/${t.cert}`, keyFile: `${t.dir}/${t.key}` } };
}

/**
 * `autoscaling.metrics` of the Federation: the inventory's, the first cluster's Prometheus filled in
 * (or the default, that one Prometheus, with cluster-mgr's own default query timeout).
 */
function federationMetrics(site: Site): Record<string, unknown> {
  const m = site.spec.federation.autoscaling.metrics;
  if (!m) return { source: 'url', url: IN_CLUSTER_PROMETHEUS_URL };
  if (m.source === 'url') return { ...m };
  return { source: 'members', urls: Object.fromEntries(site.spec.clusters.map((c) => [c.name, m.urls[c.name] ?? IN_CLUSTER_PROMETHEUS_URL])), timeout: m.timeout };
}

/** The cluster's ingress gateway serves HTTPS on an edge VIP (site-gateway routes reach it). */
const servesHttps = ({ edgeVip, cluster }: ResolvedCluster) => edgeVip.holders.length > 0 && cluster.edge.vips.some((v) => v.ports.includes(443));
/** The IstioMesh site Gateway (`*.<domain>`, TLS with the wildcard certificate). */
const SITE_GATEWAY = 'istio-ingress/site-gateway';
/** The inventory's ACME settings as the construct's issuer (DNS-01 solver, zones, HTTP-01 fallback). */
function siteAcmeIssuer(c: Site['spec']['certificates']): SiteIssuer {
  const d = c.dns01;
  const dns01 = d?.rfc2136 ? Dns01Solver.rfc2136(d.rfc2136) : d?.webhook ? Dns01Solver.webhook(d.webhook) : undefined;
  return SiteIssuer.acme({ email: c.acmeEmail ?? '', server: c.acmeServer, ...(dns01 ? { dns01 } : {}), ...(d?.zones ? { dnsZones: d.zones } : {}), http01: d?.http01 ?? true });
}

/** The Federation config as YAML: the Deployment's ConfigMap and the ops host's file hold these bytes. */
export function federationConfigYaml(input: SiteSource): string {
  return stringify(federationFromSite(input), { lineWidth: 0 });
}

/** Namespace and Lease of the site's cluster-mgr (FederationControl's defaults; the construct rejects a config that differs). */
export const FEDERATION_NAMESPACE = 'flotilla-system';
export const FEDERATION_LEASE = 'cluster-mgr';

type Builder = (scope: Construct, site: ResolvedSite, rc: ResolvedCluster, opts: SynthOptions) => boolean;

const BUILDERS: Record<ComponentName, Builder> = {
  calico: (scope, site, rc, opts) => {
    const n = site.site.spec.network;
    const a = rc.addressing;
    new CalicoNetwork(scope, 'calico', {
      asNumber: a.asNumber,
      podCIDR: a.podCIDR,
      serviceCIDR: a.serviceCIDR,
      blockSize: n.blockSize,
      encapsulation: n.encapsulation,
      natOutgoing: n.natOutgoing,
      advertiseServiceCIDR: n.advertiseServiceCIDR,
      routers: n.routers,
      bgpMode: rc.routeReflectors.length > 0 ? BgpMode.routeReflectors(rc.routeReflectors, rc.routeReflectorClusterId) : BgpMode.fullMesh(),
      ...(opts.airGapped ? { registry: site.registry.host } : {}),
    });
    return true;
  },
  'edge-gateway': (scope, site, { cluster, edgeVip }) => {
    const edges = edgeVip.holders;
    if (edges.length === 0 || cluster.edge.vips.length === 0) return false;
    new EdgeGateway(scope, 'edge', {
      nodes: edges,
      vips: cluster.edge.vips,
      keepalivedConfigs: Object.fromEntries(edges.map((n) => [n.name, renderEdgeKeepalived(site, cluster, n, EDGE_KEEPALIVED_OPTIONS)])),
    });
    return true;
  },
  istio: (scope, site, { cluster }) => {
    const tp = cluster.istio.trafficPolicy;
    new IstioMesh(scope, 'mesh', {
      domain: site.site.spec.domain,
      tlsSecretName: 'site-wildcard-tls',
      loadBalancer: tp.loadBalancer,
      consecutive5xxErrors: tp.outlierDetection.consecutive5xxErrors,
      outlierInterval: tp.outlierDetection.interval,
      baseEjectionTime: tp.outlierDetection.baseEjectionTime,
      maxEjectionPercent: tp.outlierDetection.maxEjectionPercent,
      http1MaxPendingRequests: tp.connectionPool.http1MaxPendingRequests,
      maxRequestsPerConnection: tp.connectionPool.maxRequestsPerConnection,
      connectTimeout: tp.connectionPool.connectTimeout,
      retryAttempts: tp.retries.attempts,
    });
    return true;
  },
  'cert-manager': (scope, { site }) => {
    const c = site.spec.certificates;
    new CertManagerIssuers(scope, 'issuers', {
      domain: site.spec.domain,
      issuer: c.issuer === 'acme' ? siteAcmeIssuer(c) : SiteIssuer.privateCa(),
      secretName: 'site-wildcard-tls',
    });
    return true;
  },
  logging: (scope, { site }) => {
    const l = site.spec.logging;
    new Logging(scope, 'logging', {
      nodes: l.elasticsearch.nodes,
      storage: l.elasticsearch.storage,
      retentionDays: l.elasticsearch.retentionDays,
      ...(l.elasticsearch.storageClass ? { storageClass: l.elasticsearch.storageClass } : {}),
      fileLogsHostPath: l.fileLogs.hostPath,
    });
    return true;
  },
  monitoring: (scope, site, rc) => {
    const m = site.site.spec.monitoring;
    new Monitoring(scope, 'monitoring', {
      probes: m.probes,
      teams: m.teams.map((t) => ({ name: t.name, namespaces: t.namespaces, templates: subscribedTemplates(t), labels: t.labels })),
      capacity: m.capacity,
      // cluster-mgr (whose metrics the federation dashboard shows) runs in the first cluster
      federationDashboard: rc.runsSiteServices,
      smtpPasswordSecret: m.smtp?.username !== undefined,
      ...(servesHttps(rc) ? { grafanaGateway: SITE_GATEWAY, grafanaHost: clusterServiceHost(site.site, rc.cluster.name, 'grafana') } : {}),
    });
    return true;
  },
  registry: (scope, site, rc) => {
    // One site registry, run by the site's first cluster (the others pull from it).
    if (!rc.runsSiteServices) return false;
    const r = site.registry;
    const exposed = servesHttps(rc);
    new Registry(scope, 'registry', {
      host: r.host,
      issuerName: 'site-issuer',
      storage: site.site.spec.registry.storage.size,
      mirrors: r.mirrors,
      ...(exposed ? { ingressNamespace: 'istio-ingress' } : {}),
    });
    return true;
  },
  storage: (scope, { site }) => {
    const s = site.spec.storage;
    const backends: StorageBackend[] = [];
    if (s.nfs) backends.push(StorageBackend.nfs(s.nfs));
    if (s.ceph) backends.push(StorageBackend.ceph({ ...s.ceph, clusterID: s.ceph.clusterID ?? site.metadata.name }));
    new Storage(scope, 'storage', { backends, defaultBackend: s.default });
    return true;
  },
  federation: (scope, site, { runsSiteServices }) => {
    if (!runsSiteServices) return false;
    new FederationControl(scope, 'federation', {
      config: federationConfigYaml(site),
      namespace: FEDERATION_NAMESPACE,
      leaseName: FEDERATION_LEASE,
      // With front hosts: cert-manager issues the runtime API client certificate from the site CA (filled by Pulumi).
      ...(site.site.spec.front ? { frontTlsSecret: CLUSTER_MGR_FRONT_TLS.secret, frontClientCertificate: { commonName: site.site.spec.front.runtimeApi.clientName } } : {}),
    });
    return true;
  },
  // Every cluster is a member: cluster-mgr's ServiceAccount, least-privilege ClusterRole and token there.
  'federation-member': (scope) => {
    new FederationMember(scope, 'member', { namespace: FEDERATION_NAMESPACE });
    return true;
  },
  apps: (scope, { site }, { cluster }) => {
    const apps = site.spec.apps.filter((a) => !a.clusters || a.clusters.includes(cluster.name));
    if (apps.length === 0) return false;
    for (const ns of [...new Set(apps.map((a) => a.namespace))].filter((n) => n !== 'default').sort()) {
      apiObject(scope, `ns-${ns}`, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'istio-injection': 'enabled' } } });
    }
    for (const a of apps) {
      new SiteApp(scope, `${a.namespace}-${a.name}`, {
        name: a.name,
        namespace: a.namespace,
        image: a.image,
        port: a.port,
        replicas: a.replicas,
        ...(a.host ? { host: a.host } : {}),
        ...(a.canary ? { canary: a.canary } : {}),
        ...(a.consistentHash ? { consistentHash: a.consistentHash as ConsistentHash } : {}),
        ...(a.rateLimit ? { rateLimit: a.rateLimit } : {}),
        fileLogs: a.logs?.files ?? false,
        fileLogsHostPath: site.spec.logging.fileLogs.hostPath,
      });
    }
    return true;
  },
};

/** spec.federation.opsHost: cluster-mgr's systemd unit and its config (same bytes as the ConfigMap). */
export function opsHostFiles(site: SiteSource): RenderedFile[] {
  const ops = resolved(site).site.spec.federation.opsHost;
  return ops ? renderClusterMgrHostFiles(ops.name, { config: federationConfigYaml(site) }) : [];
}

/** Visits every `image: "<ref>"` string in a manifest tree. */
function mapImages(value: unknown, fn: (ref: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapImages(v, fn));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, k === 'image' && typeof v === 'string' ? fn(v) : mapImages(v, fn)]),
    );
  }
  return value;
}

/** Every image reference in the objects. */
export function imagesOf(objects: readonly unknown[]): string[] {
  const found = new Set<string>();
  for (const o of objects) mapImages(o, (ref) => (found.add(ref), ref));
  return [...found].sort();
}

/** All components of one cluster plus its charts. Pure: same input, same output. */
export function synthesizeCluster(input: SiteSource, cluster: Cluster, opts: SynthOptions = {}): ClusterSynth {
  const site = resolved(input);
  const rc = site.cluster(cluster.name);
  const components: ComponentManifests[] = [];
  for (const component of COMPONENTS) {
    const app = new App({ outdir: '/nonexistent' });
    const chart = new Chart(app, component, { disableResourceNameHashes: true });
    if (!BUILDERS[component](chart, site, rc, opts)) continue;
    let objects = chart.toJson() as K8sObject[];
    if (opts.airGapped) objects = objects.map((o) => mapImages(o, (ref) => mirrorImage(ref, site.registry.host)) as K8sObject);
    components.push({ component, objects });
  }
  return { cluster: cluster.name, components, charts: chartsFor(site, cluster, opts) };
}

/** The whole site: every cluster, the host/network files and the image list. Pure. */
export function synthesizeSite(input: SiteSource, opts: SynthOptions = {}): SiteSynth {
  const site = resolved(input); // once for the whole site
  const clusters = site.clusters.map((c) => synthesizeCluster(site, c.cluster, opts));
  const hostOpts: HostFilesOptions = { edge: EDGE_KEEPALIVED_OPTIONS, ...(opts.airGapped ? { imageRegistry: site.registry.host } : {}) };
  // host files: the API-VIP static pods' images
  const images = new Set<string>(hostFileImages(site, hostOpts));
  for (const c of clusters) {
    for (const comp of c.components) for (const i of imagesOf(comp.objects)) images.add(i);
    for (const ch of c.charts) for (const i of ch.images) images.add(i);
  }
  return {
    site: site.name,
    clusters,
    hostFiles: [...renderHostFiles(site, hostOpts), ...opsHostFiles(site)],
    images: [...images].sort(),
  };
}

/** Multi-document YAML of a component's objects, deterministic. */
export function toYaml(objects: readonly K8sObject[]): string {
  return objects.map((o) => stringify(canonical(o, true), { lineWidth: 0 })).join('---\n');
}

export interface SiteSummary {
  readonly site: string;
  readonly clusters: ReadonlyArray<{ cluster: string; components: Record<string, number>; charts: string[] }>;
  readonly images: number;
  readonly hostFiles: number;
}

export function summarize(synth: SiteSynth): SiteSummary {
  return {
    site: synth.site,
    clusters: synth.clusters.map((c) => ({
      cluster: c.cluster,
      components: Object.fromEntries(c.components.map((m) => [m.component, m.objects.length])),
      charts: c.charts.map((ch) => ch.id),
    })),
    images: synth.images.length,
    hostFiles: synth.hostFiles.length,
  };
}

/** Every file of the output tree, paths relative to `OUT/`. Pure. */
export function siteTreeFiles(synth: SiteSynth): Array<{ path: string; content: string }> {
  const root = synth.site;
  const files: Array<{ path: string; content: string }> = [];
  for (const c of synth.clusters) {
    for (const m of c.components) files.push({ path: `${root}/clusters/${c.cluster}/${m.component}.k8s.yaml`, content: toYaml(m.objects) });
  }
  for (const f of synth.hostFiles) files.push({ path: `${root}/${f.path}`, content: f.content });
  files.push({ path: `${root}/images.txt`, content: synth.images.length ? `${synth.images.join('\n')}\n` : '' });
  const charts = synth.clusters
    .flatMap((c) => c.charts.map((ch) => ({ cluster: c.cluster, ...ch })))
    .sort((a, b) => (a.cluster + '\0' + a.id < b.cluster + '\0' + b.id ? -1 : 1));
  files.push({ path: `${root}/charts.json`, content: canonicalJson({ charts }) });
  files.push({ path: `${root}/summary.json`, content: `${JSON.stringify(summarize(synth), null, 2)}\n` });
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Writes the layout of DESIGN.md under `outDir` (replacing `outDir/<site>/`). Returns the paths written.
 */
export async function writeSiteTree(synth: SiteSynth, outDir: string): Promise<string[]> {
  await rm(join(outDir, synth.site), { recursive: true, force: true });
  const files = siteTreeFiles(synth);
  const dirs = [...new Set(files.map((f) => dirname(join(outDir, f.path))))].sort();
  for (const d of dirs) await mkdir(d, { recursive: true });
  const limit = pLimit(16);
  await Promise.all(files.map((f) => limit(() => writeFile(join(outDir, f.path), f.content))));
  return files.map((f) => join(outDir, f.path));
}
