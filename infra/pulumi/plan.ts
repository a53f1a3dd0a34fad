// Per-cluster plan (pure): which charts and object groups, in which order, which secrets go where,
// and the cluster's outputs. The ClusterPlatform component only turns this plan into resources.
import type { Cluster, Site } from '../site/index';
import type { ChartRelease, ClusterSynth, ComponentName, K8sObject } from '../synth/types';
import type { StackConfig } from './config';

/**
 * Custom-resource API groups and the upstream charts (by chart name) that install their CRDs and
 * controllers. An object of one of these groups is applied only after those charts: Calico objects
 * after tigera-operator, issuers after cert-manager, gateways after istiod, ECK objects after the
 * ECK operator, rules/probes after the Prometheus operator.
 */
export const GROUP_CHARTS: readonly { readonly groups: readonly string[]; readonly charts: readonly string[] }[] = [
  { groups: ['operator.tigera.io', 'crd.projectcalico.org', 'projectcalico.org'], charts: ['tigera-operator'] },
  { groups: ['cert-manager.io', 'acme.cert-manager.io'], charts: ['cert-manager'] },
  { groups: ['networking.istio.io', 'security.istio.io', 'telemetry.istio.io'], charts: ['base', 'istiod'] },
  { groups: ['elasticsearch.k8s.elastic.co', 'kibana.k8s.elastic.co', 'beat.k8s.elastic.co', 'agent.k8s.elastic.co'], charts: ['eck-operator'] },
  { groups: ['monitoring.coreos.com'], charts: ['kube-prometheus-stack'] },
];

/** Chart → charts it must follow (by chart name): Istio's CRDs, then istiod, then the gateways. */
export const CHART_AFTER: Readonly<Record<string, readonly string[]>> = {
  istiod: ['base'],
  gateway: ['istiod'],
};

export const apiGroup = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

/** Chart names an object needs installed first (from its API group). */
export function chartsNeededBy(obj: Pick<K8sObject, 'apiVersion'>): readonly string[] {
  const g = apiGroup(obj.apiVersion);
  return GROUP_CHARTS.find((e) => e.groups.includes(g))?.charts ?? [];
}

/** Kinds applied first, in the foundation group, before any chart (namespaces, CRDs). */
const FOUNDATION_KINDS = new Set(['Namespace', 'CustomResourceDefinition']);

export interface ObjectGroupPlan {
  readonly component: ComponentName;
  readonly objects: readonly K8sObject[];
  /** Release ids this group is applied after. */
  readonly afterCharts: readonly string[];
  /** Secret ids this group is applied after. */
  readonly afterSecrets: readonly string[];
}

export interface ChartPlan {
  readonly release: ChartRelease;
  /** Release ids this chart is installed after. */
  readonly afterCharts: readonly string[];
}

export interface SecretRef {
  /** A stack secret (`flotilla:<key>`) or a derived value. */
  readonly from: 'registryPassword' | 'cephKey' | 'tsigKey' | 'caKey' | 'caCert' | 'dockerconfigjson' | 'literal';
  readonly value?: string;
}

export interface SecretPlan {
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
  readonly stringData: Readonly<Record<string, SecretRef>>;
  readonly consumers: readonly ComponentName[];
}

export interface ClusterPlan {
  readonly cluster: string;
  /** Namespaces and CRDs, applied before everything else. */
  readonly foundation: readonly K8sObject[];
  readonly charts: readonly ChartPlan[];
  readonly groups: readonly ObjectGroupPlan[];
  readonly secrets: readonly SecretPlan[];
}

/** Well-known secret names the constructs reference. */
export const SECRET_NAMES = {
  ca: 'flotilla-ca',
  ceph: 'csi-rbd-secret',
  registry: 'registry-credentials',
  tsig: 'flotilla-tsig',
} as const;

const uniqSorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

function namespaceOf(synth: ClusterSynth, component: ComponentName): string | undefined {
  for (const c of synth.components) {
    if (c.component !== component) continue;
    const ns = c.objects.find((o) => o.metadata.namespace)?.metadata.namespace;
    if (ns) return ns;
  }
  return undefined;
}

const chartNamespace = (synth: ClusterSynth, ...names: string[]) => synth.charts.find((r) => names.includes(r.chart))?.namespace;

/** Secrets this cluster gets from the stack's secret settings (what is configured and relevant). */
export function planSecrets(site: Site, synth: ClusterSynth, cfg: Pick<StackConfig, 'registryPassword' | 'cephKey' | 'tsigKey' | 'caKey' | 'caCert'>): SecretPlan[] {
  const out: SecretPlan[] = [];
  if (site.spec.certificates.issuer === 'ca' && cfg.caKey !== undefined && cfg.caCert !== undefined) {
    out.push({
      id: 'ca',
      name: SECRET_NAMES.ca,
      namespace: chartNamespace(synth, 'cert-manager') ?? 'cert-manager',
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': { from: 'caCert' }, 'tls.key': { from: 'caKey' } },
      consumers: ['cert-manager'],
    });
  }
  if (site.spec.storage.ceph && cfg.cephKey !== undefined) {
    out.push({
      id: 'ceph',
      name: SECRET_NAMES.ceph,
      namespace: chartNamespace(synth, 'ceph-csi-rbd', 'ceph-csi-cephfs') ?? namespaceOf(synth, 'storage') ?? 'ceph-csi',
      type: 'Opaque',
      stringData: {
        userID: { from: 'literal', value: 'kubernetes' },
        userKey: { from: 'cephKey' },
        adminID: { from: 'literal', value: 'kubernetes' },
        adminKey: { from: 'cephKey' },
      },
      consumers: ['storage'],
    });
  }
  if (cfg.registryPassword !== undefined) {
    out.push({
      id: 'registry',
      name: SECRET_NAMES.registry,
      namespace: namespaceOf(synth, 'registry') ?? 'registry',
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': { from: 'dockerconfigjson' } },
      consumers: ['registry'],
    });
  }
  if (cfg.tsigKey !== undefined) {
    out.push({
      id: 'tsig',
      name: SECRET_NAMES.tsig,
      namespace: namespaceOf(synth, 'federation') ?? 'flotilla-system',
      type: 'Opaque',
      stringData: { key: { from: 'tsigKey' } },
      consumers: ['federation', 'cert-manager'],
    });
  }
  return out;
}

/** Which stack secrets an inventory requires (a run without them fails with a clear message). */
export function requiredSecrets(site: Site): { key: 'caKey' | 'caCert' | 'cephKey'; why: string }[] {
  const req: { key: 'caKey' | 'caCert' | 'cephKey'; why: string }[] = [];
  if (site.spec.certificates.issuer === 'ca') {
    req.push({ key: 'caCert', why: 'spec.certificates.issuer is "ca"' }, { key: 'caKey', why: 'spec.certificates.issuer is "ca"' });
  }
  if (site.spec.storage.ceph) req.push({ key: 'cephKey', why: 'spec.storage.ceph is set' });
  return req;
}

/** The whole per-cluster plan: foundation objects, charts with their order, object groups with theirs. */
export function planCluster(synth: ClusterSynth, secrets: readonly SecretPlan[]): ClusterPlan {
  const byName = new Map<string, string[]>();
  for (const r of synth.charts) byName.set(r.chart, [...(byName.get(r.chart) ?? []), r.id]);
  const idsOf = (names: readonly string[]) => names.flatMap((n) => byName.get(n) ?? []);

  const seenFoundation = new Set<string>();
  const foundation: K8sObject[] = [];
  const addFoundation = (o: K8sObject) => {
    const key = `${o.kind}/${o.metadata.name}`;
    if (seenFoundation.has(key)) return;
    seenFoundation.add(key);
    foundation.push(o);
  };
  const groups: ObjectGroupPlan[] = synth.components.map((c) => {
    const objects: K8sObject[] = [];
    for (const o of c.objects) {
      if (FOUNDATION_KINDS.has(o.kind)) addFoundation(o);
      else objects.push(o);
    }
    const after = [
      ...synth.charts.filter((r) => r.component === c.component).map((r) => r.id),
      ...objects.flatMap((o) => idsOf(chartsNeededBy(o))),
    ];
    return {
      component: c.component,
      objects,
      afterCharts: uniqSorted(after),
      afterSecrets: secrets.filter((s) => s.consumers.includes(c.component)).map((s) => s.id),
    };
  });
  const namespaces = uniqSorted([...synth.charts.map((r) => r.namespace), ...secrets.map((s) => s.namespace)]);
  for (const ns of namespaces) addFoundation({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  foundation.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'Namespace' ? -1 : 1));

  const charts: ChartPlan[] = synth.charts.map((r) => ({ release: r, afterCharts: uniqSorted(idsOf(CHART_AFTER[r.chart] ?? [])) }));
  return { cluster: synth.cluster, foundation, charts, groups, secrets };
}

/** Release ids in an order that respects `afterCharts` (stable otherwise); throws on a cycle. */
export function chartOrder(charts: readonly ChartPlan[]): string[] {
  const done = new Set<string>();
  const out: string[] = [];
  const visiting = new Set<string>();
  const byId = new Map(charts.map((c) => [c.release.id, c]));
  const visit = (id: string) => {
    if (done.has(id)) return;
    if (visiting.has(id)) throw new Error(`chart order has a cycle through ${id}`);
    visiting.add(id);
    for (const dep of byId.get(id)?.afterCharts ?? []) visit(dep);
    visiting.delete(id);
    done.add(id);
    out.push(id);
  };
  for (const c of charts) visit(c.release.id);
  return out;
}

export interface ClusterEndpoints {
  readonly apiServer: string;
  readonly ingressVIPs: readonly { readonly name: string; readonly address: string; readonly ports: readonly number[] }[];
  readonly registryUrl: string;
  readonly kibanaUrl: string;
  readonly grafanaUrl: string;
  readonly clusterMgrEndpoint: string;
}

const vipAddress = (cidr: string) => cidr.split('/')[0] ?? cidr;

/** Stack outputs of one cluster: VIPs, registry, Kibana/Grafana and cluster-mgr URLs. */
export function clusterEndpoints(site: Site, cluster: Cluster): ClusterEndpoints {
  const d = site.spec.domain;
  const multi = site.spec.clusters.length > 1;
  const host = (svc: string) => (multi ? `${svc}-${cluster.name}.${d}` : `${svc}.${d}`);
  return {
    apiServer: `https://${vipAddress(cluster.apiVIP.address)}:6443`,
    ingressVIPs: cluster.edge.vips.map((v) => ({ name: v.name, address: vipAddress(v.address), ports: v.ports })),
    registryUrl: `https://${site.spec.registry.host}`,
    kibanaUrl: `https://${host('kibana')}`,
    grafanaUrl: `https://${host('grafana')}`,
    clusterMgrEndpoint: `https://${host('cluster-mgr')}`,
  };
}
