// The chart catalog: every upstream Helm chart a cluster needs, pinned to an exact version, with its
// values for that cluster and every image it deploys with those values. Versions follow the CRD
// sources in ../shared/crds/*/SOURCE.txt (see docs/versions.md). Image tags are set explicitly in
// the values, so `images` is exactly what the chart pulls and air-gapped sites can rewrite them.
import type { Cluster } from '../site/index';
import { resolved, type SiteSource } from '../site/resolve';
import type { ChartRelease } from './types';
import { blackboxModules, ingressGatewayValues, kubePrometheusStackValues, meshRetryPolicy, res, type KubePrometheusStackImages } from './values';
import { clusterServiceUrl } from '../site/endpoints';
import { formatImageRef, mirrorImage, parseImageRef, type ImageRef as ParsedImageRef } from '../lib/image';

export const VERSIONS = {
  calico: 'v3.32.1',
  tigeraOperator: 'v1.42.3',
  certManager: 'v1.21.1',
  istio: '1.30.3',
  eck: '3.5.0',
  kubePrometheusStack: '88.0.0',
  prometheusOperator: 'v0.93.0',
  prometheus: 'v3.7.3',
  alertmanager: 'v0.29.0',
  nodeExporter: 'v1.10.2',
  kubeStateMetrics: 'v2.17.0',
  blackboxChart: '11.4.1',
  blackbox: 'v0.27.0',
  grafana: '12.3.1',
  grafanaSidecar: '2.1.4',
  csiNfsChart: 'v4.12.1',
  csiNfs: 'v4.12.1',
  cephCsi: '3.15.0',
  csiProvisioner: 'v5.3.0',
  csiAttacher: 'v4.9.0',
  csiResizer: 'v1.14.0',
  csiSnapshotter: 'v8.3.0',
  csiRegistrar: 'v2.14.0',
  livenessProbe: 'v2.16.0',
} as const;

export const REPOSITORIES = {
  tigera: 'https://docs.tigera.io/calico/charts',
  jetstack: 'https://charts.jetstack.io',
  istio: 'https://istio-release.storage.googleapis.com/charts',
  elastic: 'https://helm.elastic.co',
  prometheusCommunity: 'https://prometheus-community.github.io/helm-charts',
  csiNfs: 'https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts',
  cephCsi: 'https://ceph.github.io/csi-charts',
} as const;

/** Calico images the tigera-operator deploys (pulled through Installation.spec.registry). */
export const CALICO_IMAGES = ['apiserver', 'cni', 'csi', 'goldmane', 'kube-controllers', 'node', 'node-driver-registrar', 'pod2daemon-flexvol', 'typha', 'whisker', 'whisker-backend'].map(
  (n) => `docker.io/calico/${n}:${VERSIONS.calico}`,
);

/** An image reference with an explicit registry and tag (docker.io and `latest` when omitted). */
export type ImageRef = ParsedImageRef & { readonly tag: string };

/** Parses a catalog image reference; the catalog's references are constants, so a bad one is a bug. */
function parseImage(ref: string): ImageRef {
  const r = parseImageRef(ref);
  if (!r) throw new Error(`catalog: invalid image reference ${JSON.stringify(ref)}`);
  return { ...r, tag: r.tag ?? 'latest' };
}


export interface ChartsOptions {
  /**
   * Air-gapped mode: every image the values name is pulled from the site registry
   * (`<registry.host>/<original path>`).
   * @default - images keep their upstream references
   */
  readonly airGapped?: boolean;
  /**
   * Include the federation control plane's charts (none today; kept for symmetry with synth).
   * @default - false
   */
  readonly federation?: boolean;
}

/** Every chart release one cluster needs, sorted by id. Pure. */
export function chartsFor(input: SiteSource, cluster: Cluster, opts: ChartsOptions = {}): ChartRelease[] {
  const r = resolved(input);
  const { site } = r;
  const reg = opts.airGapped ? r.registry.host : undefined;
  const img = (ref: string): ImageRef => parseImage(reg ? mirrorImage(ref, reg) : ref);
  const full = (ref: string): string => formatImageRef(img(ref));
  /** `{ repository: 'registry/repo', tag }` for charts that take the registry inside the repository. */
  const repoTag = (ref: string) => {
    const i = img(ref);
    return { repository: `${i.registry}/${i.repository}`, tag: i.tag };
  };
  const regRepoTag = (ref: string) => ({ ...img(ref) });

  const releases: ChartRelease[] = [];
  const add = (r: ChartRelease) => releases.push(r);

  // --- calico
  const op = img(`quay.io/tigera/operator:${VERSIONS.tigeraOperator}`);
  add({
    id: 'tigera-operator',
    component: 'calico',
    chart: 'tigera-operator',
    repository: REPOSITORIES.tigera,
    version: VERSIONS.calico,
    namespace: 'tigera-operator',
    values: {
      installation: { enabled: false },
      apiServer: { enabled: false },
      goldmane: { enabled: false },
      whisker: { enabled: false },
      tigeraOperator: { registry: op.registry, image: op.repository, version: op.tag },
      resources: res('100m', '128Mi', '500m', '512Mi'),
    },
    images: [formatImageRef(op), ...CALICO_IMAGES.map(full)],
  });

  // --- cert-manager
  const cm = (n: string) => `quay.io/jetstack/cert-manager-${n}:${VERSIONS.certManager}`;
  add({
    id: 'cert-manager',
    component: 'cert-manager',
    chart: 'cert-manager',
    repository: REPOSITORIES.jetstack,
    version: VERSIONS.certManager,
    namespace: 'cert-manager',
    values: {
      crds: { enabled: true, keep: true },
      replicaCount: 2,
      image: repoTag(cm('controller')),
      resources: res('50m', '128Mi', '500m', '512Mi'),
      webhook: { replicaCount: 2, image: repoTag(cm('webhook')), resources: res('20m', '64Mi', '200m', '128Mi') },
      cainjector: { image: repoTag(cm('cainjector')), resources: res('20m', '128Mi', '200m', '256Mi') },
      startupapicheck: { image: repoTag(cm('startupapicheck')) },
      acmesolver: { image: repoTag(cm('acmesolver')) },
      prometheus: { enabled: true, servicemonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } } },
    },
    images: ['controller', 'webhook', 'cainjector', 'startupapicheck', 'acmesolver'].map((n) => full(cm(n))),
  });

  // --- istio
  const pilot = img(`docker.io/istio/pilot:${VERSIONS.istio}`);
  const proxy = full(`docker.io/istio/proxyv2:${VERSIONS.istio}`);
  const hub = { hub: `${pilot.registry}/${pilot.repository.split('/').slice(0, -1).join('/')}`, tag: VERSIONS.istio };
  const tp = cluster.istio.trafficPolicy;
  add({
    id: 'istio-base',
    component: 'istio',
    chart: 'base',
    repository: REPOSITORIES.istio,
    version: VERSIONS.istio,
    namespace: 'istio-system',
    values: { defaultRevision: 'default' },
    images: [],
  });
  add({
    id: 'istiod',
    component: 'istio',
    chart: 'istiod',
    repository: REPOSITORIES.istio,
    version: VERSIONS.istio,
    namespace: 'istio-system',
    values: {
      global: { ...hub, proxy: { resources: res('50m', '128Mi', '1', '512Mi') } },
      pilot: { replicaCount: 2, autoscaleEnabled: false, resources: res('200m', '512Mi', '1', '2Gi') },
      meshConfig: {
        accessLogFile: '/dev/stdout',
        accessLogEncoding: 'JSON',
        defaultHttpRetryPolicy: meshRetryPolicy(tp.retries.attempts, tp.retries.perTryTimeout),
      },
    },
    images: [formatImageRef(pilot), proxy],
  });
  const edges = r.cluster(cluster.name).edgeVip.holders;
  if (edges.length > 0) {
    add({
      id: 'istio-ingressgateway',
      component: 'edge-gateway',
      chart: 'gateway',
      repository: REPOSITORIES.istio,
      version: VERSIONS.istio,
      namespace: 'istio-ingress',
      values: { ...ingressGatewayValues(edges, cluster.edge.vips), global: hub },
      images: [proxy],
    });
  }

  // --- logging
  add({
    id: 'eck-operator',
    component: 'logging',
    chart: 'eck-operator',
    repository: REPOSITORIES.elastic,
    version: VERSIONS.eck,
    namespace: 'elastic-system',
    values: {
      image: repoTag(`docker.elastic.co/eck/eck-operator:${VERSIONS.eck}`),
      installCRDs: true,
      resources: res('100m', '150Mi', '1', '1Gi'),
      ...(reg ? { config: { containerRegistry: reg } } : {}),
    },
    images: [full(`docker.elastic.co/eck/eck-operator:${VERSIONS.eck}`)],
  });

  // --- monitoring
  const m = site.spec.monitoring;
  const kps = {
    operator: `quay.io/prometheus-operator/prometheus-operator:${VERSIONS.prometheusOperator}`,
    reloader: `quay.io/prometheus-operator/prometheus-config-reloader:${VERSIONS.prometheusOperator}`,
    prometheus: `quay.io/prometheus/prometheus:${VERSIONS.prometheus}`,
    alertmanager: `quay.io/prometheus/alertmanager:${VERSIONS.alertmanager}`,
    nodeExporter: `quay.io/prometheus/node-exporter:${VERSIONS.nodeExporter}`,
    ksm: `registry.k8s.io/kube-state-metrics/kube-state-metrics:${VERSIONS.kubeStateMetrics}`,
    grafana: `docker.io/grafana/grafana:${VERSIONS.grafana}`,
    grafanaSidecar: `quay.io/kiwigrid/k8s-sidecar:${VERSIONS.grafanaSidecar}`,
  };
  add({
    id: 'kube-prometheus-stack',
    component: 'monitoring',
    chart: 'kube-prometheus-stack',
    repository: REPOSITORIES.prometheusCommunity,
    version: VERSIONS.kubePrometheusStack,
    namespace: 'monitoring',
    values: kubePrometheusStackValues(m, Object.fromEntries(Object.entries(kps).map(([k, v]) => [k, regRepoTag(v)])) as unknown as KubePrometheusStackImages, clusterServiceUrl(site, cluster.name, 'grafana')),
    images: Object.values(kps).map(full).sort(),
  });
  const bb = `quay.io/prometheus/blackbox-exporter:${VERSIONS.blackbox}`;
  add({
    id: 'prometheus-blackbox-exporter',
    component: 'monitoring',
    chart: 'prometheus-blackbox-exporter',
    repository: REPOSITORIES.prometheusCommunity,
    version: VERSIONS.blackboxChart,
    namespace: 'monitoring',
    values: {
      fullnameOverride: 'prometheus-blackbox-exporter',
      image: regRepoTag(bb),
      resources: res('20m', '32Mi', '200m', '64Mi'),
      config: { modules: blackboxModules(m.probes.map((p) => ({ ...p }))) },
    },
    images: [full(bb)],
  });

  // --- storage
  const s = site.spec.storage;
  const sc = (n: string, tag: string) => `registry.k8s.io/sig-storage/${n}:${tag}`;
  if (s.nfs) {
    const imgs = {
      nfs: sc('nfsplugin', VERSIONS.csiNfs),
      csiProvisioner: sc('csi-provisioner', VERSIONS.csiProvisioner),
      csiResizer: sc('csi-resizer', VERSIONS.csiResizer),
      livenessProbe: sc('livenessprobe', VERSIONS.livenessProbe),
      nodeDriverRegistrar: sc('csi-node-driver-registrar', VERSIONS.csiRegistrar),
    };
    add({
      id: 'csi-driver-nfs',
      component: 'storage',
      chart: 'csi-driver-nfs',
      repository: REPOSITORIES.csiNfs,
      version: VERSIONS.csiNfsChart,
      namespace: 'kube-system',
      values: {
        image: Object.fromEntries(Object.entries(imgs).map(([k, v]) => [k, { ...repoTag(v), pullPolicy: 'IfNotPresent' }])),
        storageClass: { create: false },
        externalSnapshotter: { enabled: false },
        controller: { replicas: 2 },
      },
      images: Object.values(imgs).map(full).sort(),
    });
  }
  if (s.ceph) {
    const ceph = s.ceph;
    const csiConfig = [{ clusterID: ceph.clusterID ?? r.name, monitors: [...ceph.monitors] }];
    const cephImgs = {
      cephcsi: `quay.io/cephcsi/cephcsi:v${VERSIONS.cephCsi}`,
      provisioner: sc('csi-provisioner', VERSIONS.csiProvisioner),
      attacher: sc('csi-attacher', VERSIONS.csiAttacher),
      resizer: sc('csi-resizer', VERSIONS.csiResizer),
      snapshotter: sc('csi-snapshotter', VERSIONS.csiSnapshotter),
      registrar: sc('csi-node-driver-registrar', VERSIONS.csiRegistrar),
    };
    const cephValues = (withAttacher: boolean) => ({
      csiConfig,
      storageClass: { create: false },
      secret: { create: false },
      nodeplugin: { plugin: { image: repoTag(cephImgs.cephcsi) }, registrar: { image: repoTag(cephImgs.registrar) } },
      provisioner: {
        replicaCount: 2,
        provisioner: { image: repoTag(cephImgs.provisioner) },
        ...(withAttacher ? { attacher: { image: repoTag(cephImgs.attacher) } } : {}),
        resizer: { image: repoTag(cephImgs.resizer) },
        snapshotter: { image: repoTag(cephImgs.snapshotter) },
      },
    });
    const cephList = (withAttacher: boolean) =>
      Object.entries(cephImgs)
        .filter(([k]) => withAttacher || k !== 'attacher')
        .map(([, v]) => full(v))
        .sort();
    add({
      id: 'ceph-csi-rbd',
      component: 'storage',
      chart: 'ceph-csi-rbd',
      repository: REPOSITORIES.cephCsi,
      version: VERSIONS.cephCsi,
      namespace: 'ceph-csi',
      values: cephValues(true),
      images: cephList(true),
    });
    if (ceph.fsName) {
      add({
        id: 'ceph-csi-cephfs',
        component: 'storage',
        chart: 'ceph-csi-cephfs',
        repository: REPOSITORIES.cephCsi,
        version: VERSIONS.cephCsi,
        namespace: 'ceph-csi',
        values: cephValues(false),
        images: cephList(false),
      });
    }
  }
  return releases.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
