// The Federation file schema (`cluster-mgr run|plan --config`) and the FederatedApp document
// (`--apps DIR`). The single source of truth for their shape; types come from z.infer.
import { validate as validateCron, validateDetailed as explainCron } from 'node-cron';
import { z } from 'zod';
import { dnsLabel, dnsName, duration } from '../../infra/site/schema';
import { parseQuantity } from '../../infra/lib/units';

const show = (v: unknown): string => JSON.stringify(v);

const API_VERSION = 'flotilla.dev/v1alpha1';

const count = (what: string, min = 0, max = 1_000_000) =>
  z
    .number({ error: (iss) => `${what} must be a whole number, got ${show(iss.input)}` })
    .int({ error: (iss) => `${what} ${show(iss.input)} must be a whole number` })
    .min(min, { error: (iss) => `${what} ${show(iss.input)} must be at least ${min}` })
    .max(max, { error: (iss) => `${what} ${show(iss.input)} is too large: expected at most ${max}` });

const labels = z.record(z.string(), z.string());

export const MemberSchema = z.strictObject({
  /** Member cluster name (DNS-1123 label); used in logs, metrics, Deployment labels. */
  name: dnsLabel,
  /** Path to the member's kubeconfig, relative to the Federation file. */
  kubeconfig: z.string().min(1),
  /** kubeconfig context to use. @default - the kubeconfig's current-context */
  context: z.string().min(1).optional(),
  labels: labels.default({}),
  /** This member's server name in the front load balancer backend(s). @default - the member name */
  traffic: z.strictObject({ server: z.string().min(1) }).optional(),
});
export type Member = z.infer<typeof MemberSchema>;

export const HealthSchema = z.strictObject({
  interval: duration.default('1s'),
  timeout: duration.default('800ms'),
  /** Timeout of API reads and writes (probes use `timeout`). @default - max(5s, 5 × timeout) */
  requestTimeout: duration.optional(),
  failureThreshold: count('failureThreshold', 1, 100).default(3),
  successThreshold: count('successThreshold', 1, 100).default(3),
  failbackAfter: duration.default('60s'),
  /** Replicas return to a recovered member in this many reconcile steps. @default 4 */
  failbackSteps: count('failbackSteps', 1, 100).default(4),
  /**
   * Ends every wait for replicas to become ready (failover: completes "degraded" with an alert naming
   * the stuck pods; failback: traffic returns anyway — docs/failover.md). @default 2m
   */
  readyTimeout: duration.default('2m'),
});
export type Health = z.infer<typeof HealthSchema>;

export const TrafficSchema = z.strictObject({
  haproxy: z
    .strictObject({
      /** Runtime API unix socket. */
      socket: z.string().min(1).optional(),
      /** Runtime API over TCP, host:port. */
      address: z.string().min(1).optional(),
      /** Several front hosts' runtime APIs over TCP (host:port each); every change goes to all. */
      addresses: z.array(z.string().min(1)).min(1).optional(),
      /** Mutual TLS to the TCP runtime APIs (PEM files, relative to this file). */
      tls: z.strictObject({ caFile: z.string().min(1), certFile: z.string().min(1), keyFile: z.string().min(1), serverName: z.string().min(1).optional() }).optional(),
      backends: z.array(z.string().min(1)).min(1),
    })
    .optional(),
  nginx: z
    .strictObject({
      upstreamFile: z.string().min(1),
      upstream: z.string().min(1).optional(),
      reload: z.array(z.string()).min(1),
      test: z.array(z.string()).min(1).optional(),
      /** member → host:port of its upstream server. @default - each member's `traffic.server` (then host:port) */
      servers: z.record(z.string(), z.string().min(1)).optional(),
    })
    .optional(),
  dns: z
    .strictObject({
      server: z.string().min(1),
      zone: z.string().min(1),
      record: z.string().min(1),
      tsigKeyFile: z.string().min(1),
      ttl: count('ttl', 1, 86400).optional(),
      /** member → the IPv4 addresses it contributes to the record. @default - each member's `traffic.server` (then an IPv4 address) */
      members: z.record(z.string(), z.array(z.string().min(1)).min(1)).optional(),
    })
    .optional(),
  /** Second vantage point for the split-brain guard. */
  witness: z.strictObject({ url: z.url() }).optional(),
  /**
   * Split-brain guard: drain a member only when this second vantage point also sees it down —
   * `front` (the front HAProxy's own health checks), `witness` (traffic.witness.url) or `none`.
   * @default - `witness` when traffic.witness is set, otherwise `none`
   */
  secondOpinion: z.enum(['front', 'witness', 'none']).optional(),
});

export const AlertingSchema = z.strictObject({
  alertmanager: z.strictObject({ url: z.url() }).optional(),
  webhooks: z.array(z.strictObject({ url: z.url() })).optional(),
});

const prometheusUrl = z.url({ protocol: /^https?$/, error: (iss) => `${show(iss.input)} is not an http(s) URL: expected a Prometheus or Thanos query base URL, e.g. "http://prometheus.monitoring.svc:9090"` });

export const METRIC_SOURCES = ['url', 'members'] as const;

/**
 * Where autoscale queries are evaluated (docs/autoscale.md): `url` — one Prometheus or a Thanos
 * query URL that sees every member; `members` — each serving member's own Prometheus (`urls`, one
 * per member), queried in parallel within `timeout`, the answers summed.
 */
export const MetricsSourceSchema = z.discriminatedUnion(
  'source',
  [
    z.strictObject({
      source: z.literal('url'),
      url: prometheusUrl,
      /** Per query. @default 5s */
      timeout: duration.default('5s'),
    }),
    z.strictObject({
      source: z.literal('members'),
      /** member → its Prometheus base URL; every member needs one. */
      urls: z.record(z.string(), prometheusUrl),
      /** Per member query; a member slower than this counts as failed. @default 2s */
      timeout: duration.default('2s'),
    }),
  ],
  {
    error: (iss) =>
      iss.code === 'invalid_union'
        ? `unknown metrics source ${show((iss.input as { source?: unknown } | undefined)?.source)}: expected "url" (one Prometheus or Thanos query URL) or "members" (the sum over every member's Prometheus)`
        : undefined,
  },
);
export type MetricsSourceConfig = z.infer<typeof MetricsSourceSchema>;

export const AutoscalingSchema = z.strictObject({ metrics: MetricsSourceSchema });

export const LeaderElectionSchema = z.strictObject({
  namespace: dnsLabel.default('flotilla-system'),
  leaseName: dnsLabel.default('cluster-mgr'),
  /** Member whose API server holds the Lease (the host cluster). @default - the first member */
  member: dnsLabel.optional(),
  /** A separate kubeconfig for the host cluster (relative to the Federation file). */
  kubeconfig: z.string().min(1).optional(),
  /**
   * Inside a pod (KUBERNETES_SERVICE_HOST set, service-account token mounted), reach the host cluster
   * with the pod's own service account for the Lease and the FederatedApp CRs; outside a pod (the
   * systemd unit) `kubeconfig` / `member` as without it. @default - false
   */
  inCluster: z.boolean().optional(),
  leaseDuration: duration.default('4s'),
  renewDeadline: duration.default('3s'),
  retryPeriod: duration.default('1s'),
  /** Holder identity. @default - hostname + pid */
  identity: z.string().min(1).optional(),
});
export type LeaderElection = z.infer<typeof LeaderElectionSchema>;

/** Where `propagate` objects are read from. @default - the first member */
export const SourceSchema = z.strictObject({
  member: dnsLabel.optional(),
  kubeconfig: z.string().min(1).optional(),
});

/**
 * Where FederatedApps come from besides `spec.apps` and `--apps DIR`. `crs`: FederatedApp custom
 * resources in the host cluster (the CRD from Site synthesis), watched; see docs/cluster-mgr.md.
 */
export const AppSourcesSchema = z.strictObject({
  crs: z
    .strictObject({
      /** Only CRs in this namespace. @default - every namespace */
      namespace: dnsLabel.optional(),
      /** Member whose API server holds the CRs. @default - the leaderElection host cluster, else the first member */
      member: dnsLabel.optional(),
      /** A separate kubeconfig for the host cluster (relative to the Federation file); wins over `member`. */
      kubeconfig: z.string().min(1).optional(),
    })
    .optional(),
});
export type AppSources = z.infer<typeof AppSourcesSchema>;

const requestQuantity = z.union([z.string(), z.number()]).refine((v) => Number.isFinite(parseQuantity(v) ?? NaN), {
  error: (iss) => `${show(iss.input)} is not a quantity: expected e.g. "500m", "512Mi", 2`,
});

const ContainerSchema = z.looseObject({
  name: z.string().min(1),
  image: z.string().min(1),
  resources: z
    .looseObject({
      requests: z.record(z.string(), requestQuantity).optional(),
      limits: z.record(z.string(), requestQuantity).optional(),
    })
    .optional(),
});

/** A Deployment as written for one cluster; only the fields cluster-mgr reads are checked. */
export const DeploymentTemplateSchema = z.looseObject({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('Deployment'),
  metadata: z.looseObject({ name: dnsLabel.optional(), labels: labels.optional(), annotations: labels.optional() }).optional(),
  spec: z.looseObject({
    selector: z.looseObject({ matchLabels: labels.optional() }),
    template: z.looseObject({
      metadata: z.looseObject({ labels: labels.optional() }).optional(),
      spec: z.looseObject({ containers: z.array(ContainerSchema).min(1) }),
    }),
  }),
});
export type DeploymentTemplate = z.infer<typeof DeploymentTemplateSchema>;

export const SPREADS = ['capacity', 'weighted', 'duplicate'] as const;
export type SpreadStrategy = (typeof SPREADS)[number];

export const PerClusterSchema = z.strictObject({
  min: count('min').optional(),
  max: count('max').optional(),
  /** Static weight for `spread: weighted`. @default 1 */
  weight: count('weight').optional(),
});

export const PlacementSchema = z.strictObject({
  /** Members whose labels contain all of these. @default - every member */
  clusterSelector: labels.optional(),
  /** Explicit member names (intersected with clusterSelector). */
  clusters: z.array(dnsLabel).optional(),
  spread: z.enum(SPREADS).default('capacity'),
  perCluster: z.record(z.string(), PerClusterSchema).default({}),
});

export const AutoscaleSchema = z.strictObject({
  query: z.string().min(1),
  targetPerReplica: z.number().positive(),
  min: count('autoscale.min'),
  max: count('autoscale.max'),
  interval: duration.default('30s'),
  tolerance: z.number().min(0).max(1).optional(),
  scaleDownStabilization: duration.optional(),
});

// --- Day-2 checks (`spec.day2`): run by the daemon on cron schedules (daemon/day2.ts).

/** A cron expression as node-cron reads it (5 fields, or 6 with seconds first); checked with node-cron's own `validate`. */
export const cronExpression = z.string().superRefine((v, ctx) => {
  if (validateCron(v)) return;
  const why = explainCron(v).errors.map((e) => (e.field === 'expression' ? e.message : `${e.field} ${e.message}`)).join('; ');
  ctx.addIssue({
    code: 'custom',
    message: `${show(v)} is not a cron expression${why ? ` (${why})` : ''}: use 5 fields "minute hour day-of-month month day-of-week", or 6 with seconds first, e.g. "*/5 * * * *" (every 5 minutes) or "* * * * * *" (every second)`,
  });
});

const filePath = z.string().min(1);

/** `host:port` where host is a name or an IPv4 address (TLS endpoints). */
const endpoint = z.string().refine((v) => /^[^\s:/]+:\d{1,5}$/.test(v) && Number(v.slice(v.lastIndexOf(':') + 1)) >= 1 && Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, {
  error: (iss) => `${show(iss.input)} is not host:port: expected e.g. "registry.bj1.example.com:443" or "10.10.0.5:6443"`,
});

const day2Common = {
  /** Check name (DNS-1123 label, unique): metric label `check`, alert label `check`, dashboard row. */
  name: dnsLabel,
  /** When to run (node-cron). */
  schedule: cronExpression,
  /** Per-probe timeout. @default 10s */
  timeout: duration.default('10s'),
};

const expiryThresholds = {
  /** Warn when less than this is left. @default 720h (30 days) */
  warnBefore: duration.default('720h'),
  /** Fail when less than this is left. @default 168h (7 days) */
  failBefore: duration.default('168h'),
};

const freshness = {
  /** Folder (relative paths: from the Federation file). */
  path: filePath,
  /** Older than this fails. */
  maxAge: duration,
  /** Older than this warns. @default - no warning stage */
  warnAfter: duration.optional(),
};

export const DAY2_KINDS = ['certExpiry', 'domainExpiry', 'backupFreshness', 'etcdSnapshot', 'registrySync'] as const;
export type Day2Kind = (typeof DAY2_KINDS)[number];

export const Day2CheckSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      ...day2Common,
      kind: z.literal('certExpiry'),
      /** TLS endpoints as host:port. */
      endpoints: z.array(endpoint).min(1, { error: 'endpoints needs at least one host:port, e.g. "registry.bj1.example.com:443"' }),
      /** SNI name to send. @default - the host when it is a name */
      servername: z.string().min(1).optional(),
      ...expiryThresholds,
    }),
    z.strictObject({
      ...day2Common,
      kind: z.literal('domainExpiry'),
      domain: dnsName,
      /** RDAP base URL (GET <rdap>/domain/<domain>). @default - found in the IANA bootstrap file */
      rdap: z.url().optional(),
      /** RDAP bootstrap file (RFC 9224). @default https://data.iana.org/rdap/dns.json */
      bootstrap: z.url().optional(),
      ...expiryThresholds,
    }),
    z.strictObject({ ...day2Common, kind: z.literal('backupFreshness'), ...freshness }),
    z.strictObject({
      ...day2Common,
      kind: z.literal('etcdSnapshot'),
      ...freshness,
      /** Snapshot file names (shell pattern, in `path` itself). @default *.db */
      match: z.string().min(1).default('*.db'),
    }),
    z.strictObject({
      ...day2Common,
      kind: z.literal('registrySync'),
      /** Status file written by `flotilla registry sync`. @default /var/lib/flotilla/registry-sync.json */
      statusFile: filePath.default('/var/lib/flotilla/registry-sync.json'),
      /** Mirror hosts (source registries) whose sync lag is checked. */
      mirrors: z.array(z.string().min(1)).min(1, { error: 'mirrors needs at least one source registry host, e.g. "registry.bj1.example.com"' }),
      /** Oldest acceptable successful sync. @default 2h */
      maxLag: duration.default('2h'),
    }),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? `unknown check kind ${show((iss.input as { kind?: unknown } | undefined)?.kind)}: expected one of ${DAY2_KINDS.join(', ')}` : undefined) },
);
export type Day2Check = z.infer<typeof Day2CheckSchema>;

export const Day2Schema = z.strictObject({ checks: z.array(Day2CheckSchema).default([]) });
export type Day2 = z.infer<typeof Day2Schema>;

export const PROPAGATE_KINDS = ['ConfigMap', 'Secret', 'PersistentVolumeClaim', 'Service', 'PersistentVolume'] as const;

// --- Canary release and file logs (`spec.canary`, `spec.logs`); daemon/canary.ts applies them.
const labelValue = z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, { error: (iss) => `${show(iss.input)} is not a label value: letters, digits, "-", "_", "." (at most 63), e.g. "v2"` });

export const CanarySchema = z.strictObject({
  /** `version` label of the canary pods (the DestinationRule's `canary` subset); differs from the stable one. */
  version: labelValue,
  /** Image of the canary's first container (or of `container`). */
  image: z.string().min(1).optional(),
  container: z.string().min(1).optional(),
  /** A whole pod template for the canary (instead of `image`). */
  template: DeploymentTemplateSchema.shape.spec.shape.template.optional(),
  /** Canary replicas on every member that runs the app. @default 1 */
  replicas: count('canary.replicas', 0, 1000).default(1),
  /** Canary share of traffic when the VirtualService is first created; then `cluster-mgr canary promote|rollback` moves it. @default 0 */
  weight: count('canary.weight', 0, 100).default(0),
});
export type Canary = z.infer<typeof CanarySchema>;

export const LogsSchema = z.strictObject({
  /** Mount the per-pod host folder `/var/log/k8s/<namespace>_<pod>` (what the file-log collector reads) at `mountPath`. */
  files: z.boolean().default(false),
  mountPath: z.string().startsWith('/', { error: (iss) => `${show(iss.input)} must be an absolute path, e.g. "/var/log/app"` }).optional(),
});

export const AppSpecBody = {
  replicas: count('replicas'),
  template: DeploymentTemplateSchema,
  placement: PlacementSchema.prefault({}),
  autoscale: AutoscaleSchema.optional(),
  propagate: z.array(z.strictObject({ kind: z.enum(PROPAGATE_KINDS), name: dnsLabel })).default([]),
  canary: CanarySchema.optional(),
  logs: LogsSchema.optional(),
};

export const AppSchema = z.strictObject({ name: dnsLabel, namespace: dnsLabel.default('default'), ...AppSpecBody });
export type App = z.infer<typeof AppSchema>;

export const FederationSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Federation'),
  metadata: z.strictObject({ name: dnsLabel }),
  spec: z.strictObject({
    members: z.array(MemberSchema).min(1),
    health: HealthSchema.prefault({}),
    traffic: TrafficSchema.optional(),
    alerting: AlertingSchema.optional(),
    /** The older form of `autoscaling.metrics: { source: url, url }` (kept; not both). */
    prometheus: z.strictObject({ url: prometheusUrl }).optional(),
    /** Autoscaling settings of the federation: where app queries are evaluated. */
    autoscaling: AutoscalingSchema.optional(),
    leaderElection: LeaderElectionSchema.optional(),
    source: SourceSchema.optional(),
    appSources: AppSourcesSchema.optional(),
    /** Day-2 checks on cron schedules (certificate/domain expiry, backup/etcd freshness, registry sync). */
    day2: Day2Schema.optional(),
    apps: z.array(AppSchema).default([]),
  }),
}).superRefine((fed, ctx) => {
  const member = fed.spec.appSources?.crs?.member;
  const names = fed.spec.members.map((m) => m.name);
  if (member !== undefined && !names.includes(member)) {
    ctx.addIssue({ code: 'custom', path: ['spec', 'appSources', 'crs', 'member'], message: `unknown member ${show(member)}: known members: ${names.join(', ')}` });
  }
});
export type Federation = z.infer<typeof FederationSchema>;

/** One app as its own document (`--apps DIR`, or a CR in the host cluster). */
export const FederatedAppSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('FederatedApp'),
  metadata: z.strictObject({ name: dnsLabel, namespace: dnsLabel.default('default') }),
  spec: z.strictObject(AppSpecBody),
});
export type FederatedApp = z.infer<typeof FederatedAppSchema>;

export function appFromDocument(doc: FederatedApp): App {
  return { name: doc.metadata.name, namespace: doc.metadata.namespace, ...doc.spec };
}

// --- Capacity file (`cluster-mgr plan --capacity`).
const resourceList = z.strictObject({ cpu: requestQuantity, memory: requestQuantity, pods: requestQuantity });

/** One node of a member (optional in the capacity file: with nodes, the fit is per node and scheduling-aware). */
const CapacityNodeSchema = z.strictObject({
  name: z.string().min(1),
  labels: z.record(z.string(), z.string()).default({}),
  taints: z.array(z.strictObject({ key: z.string().min(1), value: z.string().optional(), effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']) })).default([]),
  /** Cordoned. */
  unschedulable: z.boolean().default(false),
  ready: z.boolean().default(true),
  allocatable: resourceList,
  /** Requests of the non-terminal pods bound to the node; pods = their count. */
  allocated: resourceList,
});

export const CapacitySchema = z.strictObject({
  clusters: z.record(
    z.string(),
    z.strictObject({
      healthy: z.boolean().default(true),
      allocatable: resourceList,
      allocated: resourceList,
      nodes: z.array(CapacityNodeSchema).optional(),
      /** Pods the scheduler left Pending (PodScheduled=False, Unschedulable), with its message. */
      unschedulablePods: z.array(z.strictObject({ namespace: z.string().min(1), labels: z.record(z.string(), z.string()).default({}), message: z.string() })).optional(),
      /** Non-terminal pods bound to a node (an app's running replicas). */
      boundPods: z.array(z.strictObject({ namespace: z.string().min(1), labels: z.record(z.string(), z.string()).default({}) })).optional(),
    }),
  ),
  current: z.record(z.string(), z.record(z.string(), count('replicas'))).default({}),
});
export type Capacity = z.infer<typeof CapacitySchema>;
