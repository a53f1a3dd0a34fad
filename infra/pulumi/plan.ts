// Per-cluster plan (pure): which charts and object groups, in which order, which secrets go where,
// and the cluster's outputs. The ClusterPlatform component only turns this plan into resources.
import { CLUSTER_MGR_FRONT_CLIENT_CERT, CLUSTER_MGR_MEMBER } from '../lib/cluster-mgr-rbac';
import type { Cluster, Site } from '../site/index';
import { clusterServiceUrl } from '../site/endpoints';
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

/**
 * Charts a release's values make it depend on: cert-manager integration (`certManager.enabled`, a
 * hard requirement: the chart creates Issuer/Certificate objects) and Prometheus-operator objects
 * (`serviceMonitor|servicemonitor|prometheusRule.enabled`, an add-on).
 */
export function valueNeeds(values: unknown): { chart: string; kind: 'required' | 'addon'; why: string }[] {
  const out = new Map<string, { chart: string; kind: 'required' | 'addon'; why: string }>();
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${path}[${i}]`));
    if (typeof v !== 'object' || v === null) return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const here = path ? `${path}.${k}` : k;
      const enabled = typeof x === 'object' && x !== null && (x as Record<string, unknown>).enabled === true;
      if (enabled && k === 'certManager') out.set('cert-manager', { chart: 'cert-manager', kind: 'required', why: here });
      else if (enabled && /^(serviceMonitor|servicemonitor|prometheusRule|podMonitor)$/.test(k) && !out.has('kube-prometheus-stack')) {
        out.set('kube-prometheus-stack', { chart: 'kube-prometheus-stack', kind: 'addon', why: here });
      }
      walk(x, here);
    }
  };
  walk(values, '');
  return [...out.values()];
}

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
  readonly from: 'registryPassword' | 'cephKey' | 'tsigKey' | 'tsigSecret' | 'caKey' | 'caCert' | 'dockerconfigjson' | 'htpasswd' | 'literal' | 'smtpPassword';
  readonly value?: string;
}

export interface SecretPlan {
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
  readonly stringData: Readonly<Record<string, SecretRef>>;
  readonly consumers: readonly ComponentName[];
  /** A synthesized object this secret takes the place of (removed from its group). */
  readonly replaces?: { readonly kind: string; readonly namespace?: string; readonly name: string };
}

export interface ClusterPlan {
  readonly cluster: string;
  /** Namespaces and CRDs, applied before everything else. */
  readonly foundation: readonly K8sObject[];
  readonly charts: readonly ChartPlan[];
  readonly groups: readonly ObjectGroupPlan[];
  readonly secrets: readonly SecretPlan[];
  /** Ordering compromises worth telling the operator about. */
  readonly warnings: readonly string[];
  /**
   * cluster-mgr runs in this cluster (its `federation` component): the namespace of its Deployment,
   * where the member kubeconfigs and the API token Secret go. @default - not the host cluster
   */
  readonly federationNamespace?: string;
  /**
   * The `federation-member` component's service-account token Secret, taken out of its group: the
   * program creates it as a resource of its own that waits for the token controller to fill it, and
   * builds this member's kubeconfig from its outputs. @default - not a member
   */
  readonly memberToken?: K8sObject;
}

/** Well-known secret names the constructs reference. */
export const SECRET_NAMES = {
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

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const objKey = (o: { kind: string; namespace?: string; name: string }) => `${o.kind}/${o.namespace ?? ''}/${o.name}`;

/** Keys of the constructs' placeholder Secrets (annotated `flotilla.dev/filled-by`) and their source. */
export const FILLABLE_KEYS: Readonly<Record<string, SecretRef['from'] | 'cephUser'>> = {
  userKey: 'cephKey',
  adminKey: 'cephKey',
  userID: 'cephUser',
  adminID: 'cephUser',
  key: 'tsigKey',
  secret: 'tsigKey',
  'smtp-password': 'smtpPassword',
  /** CertManagerIssuers' RFC 2136 TSIG Secret: the base64 secret alone, taken from flotilla:tsigKey. */
  'tsig-secret': 'tsigSecret',
  htpasswd: 'htpasswd',
};

/**
 * Keys filled only in the named placeholder Secret (checked before FILLABLE_KEYS): FederationControl's
 * front CA Issuer Secret gets the site CA's certificate and key (the CA the front hosts trust). Scoped
 * by name so that no other `kubernetes.io/tls` placeholder can ever receive the CA's private key.
 */
export const FILLABLE_BY_SECRET: Readonly<Record<string, Readonly<Record<string, SecretRef['from']>>>> = {
  [CLUSTER_MGR_FRONT_CLIENT_CERT.caSecret]: { 'tls.crt': 'caCert', 'tls.key': 'caKey' },
};

type SecretSettings = Pick<StackConfig, 'registryPassword' | 'cephKey' | 'tsigKey' | 'caKey' | 'caCert' | 'smtpPassword'> & { readonly cephUser?: string };

/**
 * Secrets this cluster gets from the stack's secret settings. Placeholder Secrets of the constructs
 * (`flotilla.dev/filled-by`) are filled (and replace the placeholder object); with `caKey`+`caCert`
 * the in-cluster self-signed CA certificate is replaced by the stack's CA; with `registryPassword` a
 * pull secret for the site registry; with `tsigKey` the TSIG key for RFC 2136 updates.
 */
export function planSecrets(site: Site, synth: ClusterSynth, cfg: SecretSettings): SecretPlan[] {
  const out: SecretPlan[] = [];
  // Derived values (docker config, htpasswd) exist when the registry password does; cert-manager's TSIG secret when the TSIG key does.
  const available = (from: SecretRef['from']) =>
    from === 'literal' ||
    (from === 'dockerconfigjson' || from === 'htpasswd' ? cfg.registryPassword : from === 'tsigSecret' ? cfg.tsigKey : cfg[from as keyof SecretSettings]) !== undefined;
  for (const c of synth.components) {
    for (const o of c.objects) {
      const annotations = (o.metadata.annotations ?? {}) as Record<string, unknown>;
      if (o.kind === 'Secret' && o.apiVersion === 'v1' && annotations['flotilla.dev/filled-by'] !== undefined) {
        const keys = Object.keys({ ...(isRecord(o.stringData) ? o.stringData : {}), ...(isRecord(o.data) ? o.data : {}) });
        const refs: Record<string, SecretRef> = {};
        for (const k of keys) {
          const src = FILLABLE_BY_SECRET[o.metadata.name]?.[k] ?? FILLABLE_KEYS[k];
          if (src === 'cephUser') refs[k] = { from: 'literal', value: cfg.cephUser ?? 'admin' };
          else if (src !== undefined && available(src)) refs[k] = { from: src };
        }
        const needsSecret = Object.values(refs).some((r) => r.from !== 'literal');
        if (keys.length > 0 && Object.keys(refs).length === keys.length && needsSecret) {
          out.push({
            id: `${c.component}-${o.metadata.name}`,
            name: o.metadata.name,
            namespace: o.metadata.namespace ?? 'default',
            type: typeof o.type === 'string' ? o.type : 'Opaque',
            stringData: refs,
            consumers: [c.component],
            replaces: { kind: 'Secret', namespace: o.metadata.namespace, name: o.metadata.name },
          });
        }
      }
      const spec = isRecord(o.spec) ? o.spec : {};
      if (o.kind === 'Certificate' && apiGroup(o.apiVersion) === 'cert-manager.io' && spec.isCA === true) {
        if (cfg.caKey === undefined || cfg.caCert === undefined || typeof spec.secretName !== 'string') continue;
        out.push({
          id: 'ca',
          name: spec.secretName,
          namespace: o.metadata.namespace ?? 'cert-manager',
          type: 'kubernetes.io/tls',
          stringData: { 'tls.crt': { from: 'caCert' }, 'tls.key': { from: 'caKey' }, 'ca.crt': { from: 'caCert' } },
          consumers: [c.component],
          replaces: { kind: 'Certificate', namespace: o.metadata.namespace, name: o.metadata.name },
        });
      }
    }
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
  if (cfg.tsigKey !== undefined && !out.some((s) => Object.values(s.stringData).some((r) => r.from === 'tsigKey'))) {
    out.push({
      id: 'tsig',
      name: SECRET_NAMES.tsig,
      namespace: namespaceOf(synth, 'federation') ?? 'flotilla-system',
      type: 'Opaque',
      stringData: { key: { from: 'tsigKey' } },
      consumers: ['federation'],
    });
  }
  return out;
}

type RequiredSecret = 'caKey' | 'caCert' | 'cephKey' | 'registryPassword' | 'smtpPassword' | 'tsigKey';

/** Which stack secrets an inventory requires (a run without them fails with a clear message). */
export function requiredSecrets(site: Site, cfg: Pick<StackConfig, 'caKey' | 'caCert'> = {}): { key: RequiredSecret; why: string }[] {
  const req: { key: RequiredSecret; why: string }[] = [];
  const siteCa = site.spec.certificates.issuer === 'ca' && site.spec.certificates.caCert !== undefined;
  if (cfg.caKey !== undefined && !siteCa) req.push({ key: 'caCert', why: 'flotilla:caKey is set (the CA needs both)' });
  if (cfg.caCert !== undefined) req.push({ key: 'caKey', why: 'flotilla:caCert is set (the CA needs both)' });
  else if (siteCa) req.push({ key: 'caKey', why: 'spec.certificates.caCert is set with issuer ca (cert-manager signs the site certificates with that CA, so it needs its key)' });
  if (site.spec.front) {
    const why = "spec.front is set (cert-manager issues cluster-mgr's client certificate for the front hosts' runtime API from the CA they trust: the site CA given to `flotilla install --ca-cert/--ca-key`, their client-ca.pem)";
    if (!siteCa && !req.some((r) => r.key === 'caCert')) req.push({ key: 'caCert', why });
    if (!req.some((r) => r.key === 'caKey')) req.push({ key: 'caKey', why });
  }
  req.push({ key: 'registryPassword', why: 'the site registry requires htpasswd auth (its user flotilla:registryUser gets this password; nodes and sync jobs log in with it)' });
  if (site.spec.storage.ceph) req.push({ key: 'cephKey', why: 'spec.storage.ceph is set (ceph-csi needs the Ceph user key)' });
  if (site.spec.monitoring.smtp?.username) req.push({ key: 'smtpPassword', why: 'spec.monitoring.smtp.username is set (Alertmanager logs in to the SMTP server)' });
  if (site.spec.certificates.issuer === 'acme' && site.spec.certificates.dns01?.rfc2136) {
    req.push({ key: 'tsigKey', why: 'spec.certificates.dns01.rfc2136 is set (cert-manager signs its DNS updates with the TSIG key)' });
  }
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
  const replaced = new Set(secrets.flatMap((s) => (s.replaces ? [objKey(s.replaces)] : [])));
  let memberToken: K8sObject | undefined;
  const groups: ObjectGroupPlan[] = synth.components.map((c) => {
    const objects: K8sObject[] = [];
    for (const o of c.objects) {
      if (replaced.has(objKey({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }))) continue;
      if (c.component === 'federation-member' && isMemberToken(o)) {
        memberToken = o;
        continue;
      }
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

  // Chart → chart edges: the fixed table first, then what each chart's values switch on (an
  // add-on edge that would close a cycle is left out and reported).
  const after = new Map(synth.charts.map((r) => [r.id, new Set(idsOf(CHART_AFTER[r.chart] ?? []))]));
  const reaches = (from: string, to: string): boolean => {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      const cur = stack.pop()!;
      if (cur === to) return true;
      if (seen.has(cur)) continue;
      seen.add(cur);
      stack.push(...(after.get(cur) ?? []));
    }
    return false;
  };
  const warnings: string[] = [];
  for (const pass of ['required', 'addon'] as const) {
    for (const r of synth.charts) {
      for (const need of valueNeeds(r.values).filter((n) => n.kind === pass)) {
        for (const dep of idsOf([need.chart])) {
          if (dep === r.id) continue;
          if (reaches(dep, r.id)) {
            warnings.push(`chart ${r.id}: ${need.why} needs ${dep} first, but ${dep} already waits for ${r.id}; not waiting — on a first run its ${need.why} object can fail until ${dep} has installed its CRDs; a second \`pulumi up\` applies it`);
            continue;
          }
          after.get(r.id)!.add(dep);
        }
      }
    }
  }
  const charts: ChartPlan[] = synth.charts.map((r) => ({ release: r, afterCharts: uniqSorted(after.get(r.id)!) }));
  const federationNamespace = synth.components.some((c) => c.component === 'federation') ? namespaceOf(synth, 'federation') : undefined;
  return {
    cluster: synth.cluster,
    foundation,
    charts,
    groups,
    secrets,
    warnings,
    ...(federationNamespace !== undefined ? { federationNamespace } : {}),
    ...(memberToken !== undefined ? { memberToken } : {}),
  };
}

/** cluster-mgr's member token Secret (FederationMember): a service-account token the token controller fills. */
const isMemberToken = (o: K8sObject): boolean =>
  o.kind === 'Secret' && o.apiVersion === 'v1' && o.type === 'kubernetes.io/service-account-token' && o.metadata.name === CLUSTER_MGR_MEMBER.tokenSecret;

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
  const url = (svc: string) => clusterServiceUrl(site, cluster.name, svc);
  return {
    apiServer: `https://${vipAddress(cluster.apiVIP.address)}:6443`,
    ingressVIPs: cluster.edge.vips.map((v) => ({ name: v.name, address: vipAddress(v.address), ports: v.ports })),
    registryUrl: `https://${site.spec.registry.host}`,
    kibanaUrl: url('kibana'),
    grafanaUrl: url('grafana'),
    clusterMgrEndpoint: url('cluster-mgr'),
  };
}
