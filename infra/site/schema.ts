// The Site inventory schema: one data center, one Pulumi stack. The single source of truth for the
// inventory's shape; types come from z.infer and docs/site.schema.json is generated from it.
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { DNS1123_LABEL, DNS1123_SUBDOMAIN } from '../lib/dns';
import { parseCidr, parseHostPort, parseIPv4 } from '../lib/net';
import { parseDuration, parseQuantity } from '../lib/units';
import { TSIG_ALGORITHMS } from '../lib/acme';


const show = (v: unknown): string => JSON.stringify(v);

export const dnsLabel = z
  .string()
  .max(63)
  .refine((v) => DNS1123_LABEL.test(v), {
    error: (iss) =>
      `${show(iss.input)} is not a DNS-1123 label: use lowercase letters, digits and '-', starting and ending with a letter or digit (max 63)`,
  });

export const dnsName = z
  .string()
  .max(253)
  .refine((v) => DNS1123_SUBDOMAIN.test(v), {
    error: (iss) => `${show(iss.input)} is not a DNS name: expected lowercase labels separated by dots, e.g. "bj1.example.com"`,
  });

export const ipv4 = z.string().refine((v) => parseIPv4(v) !== undefined, {
  error: (iss) => `${show(iss.input)} is not an IPv4 address: expected dotted quad, e.g. "10.10.0.1"`,
});

export const cidr = z.string().refine((v) => parseCidr(v) !== undefined, {
  error: (iss) => `${show(iss.input)} is not a CIDR: expected address/prefix, e.g. "10.244.0.0/16"`,
});

/** A CIDR whose host bits are zero (a network, not an address in it). */
export const networkCidr = cidr.refine(
  (v) => {
    const c = parseCidr(v);
    return !c || c.address === c.network; // malformed is reported by `cidr`

  },
  { error: (iss) => `${show(iss.input)} has host bits set: expected the network address, e.g. "10.244.0.0/16"` },
);

export const hostPort = z.string().refine((v) => parseHostPort(v) !== undefined, {
  error: (iss) => `${show(iss.input)} is not host:port: expected e.g. "10.10.0.61:6789"`,
});

export const duration = z.string().refine((v) => parseDuration(v) !== undefined, {
  error: (iss) => `${show(iss.input)} is not a duration: expected e.g. "500ms", "10s", "1m"`,
});

export const quantity = z.string().refine((v) => parseQuantity(v) !== undefined && parseQuantity(v)! > 0, {
  error: (iss) => `${show(iss.input)} is not a positive quantity: expected e.g. "200Gi", "500Mi"`,
});

export const asn = z
  .number()
  .int({ error: (iss) => `${show(iss.input)} is not an AS number: expected an integer 1–4294967294` })
  .min(1, { error: (iss) => `${show(iss.input)} is not an AS number: expected 1–4294967294` })
  .max(4294967294, { error: (iss) => `${show(iss.input)} is not an AS number: expected 1–4294967294` });

export const port = z
  .number()
  .int()
  .min(1, { error: (iss) => `port ${show(iss.input)} is out of range: expected 1–65535` })
  .max(65535, { error: (iss) => `port ${show(iss.input)} is out of range: expected 1–65535` });

export const vrid = z
  .number()
  .int({ error: (iss) => `virtualRouterId ${show(iss.input)} must be an integer 1–255` })
  .min(1, { error: (iss) => `virtualRouterId ${show(iss.input)} is out of range: expected 1–255` })
  .max(255, { error: (iss) => `virtualRouterId ${show(iss.input)} is out of range: expected 1–255` });

/** The certificates of a PEM bundle, or undefined when any block is not a certificate. */
export function parsePemCertificates(pem: string): X509Certificate[] | undefined {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks || pem.replace(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g, '').trim() !== '') return undefined;
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch {
    return undefined;
  }
}

/** PEM CA certificate(s) (public): a site CA, an ACME chain's root, a peer site's registry CA. */
export const caCertificatePem = z
  .string()
  .refine((v) => parsePemCertificates(v) !== undefined, {
    error: () => 'is not a PEM certificate bundle: paste the CA certificate (the ca.crt file, "-----BEGIN CERTIFICATE-----" … "-----END CERTIFICATE-----")',
  })
  .refine((v) => (parsePemCertificates(v) ?? []).every((c) => c.ca), {
    error: (iss) =>
      `holds a certificate that is not a CA (${(parsePemCertificates(String(iss.input)) ?? []).filter((c) => !c.ca).map((c) => c.subject.replaceAll('\n', ', ')).join('; ')}): give the issuing CA's certificate, not a server certificate`,
  });

const positiveInt = (what: string, max = 1_000_000) =>
  z
    .number()
    .int({ error: (iss) => `${what} ${show(iss.input)} must be a whole number` })
    .min(1, { error: (iss) => `${what} ${show(iss.input)} must be at least 1` })
    .max(max, { error: (iss) => `${what} ${show(iss.input)} is too large: expected at most ${max}` });

export const ENVIRONMENTS = ['prod', 'pre', 'test'] as const;
export const ENCAPSULATIONS = ['None', 'IPIP', 'VXLAN', 'IPIPCrossSubnet', 'VXLANCrossSubnet'] as const;
export const ROLES = ['master', 'edge', 'worker'] as const;
export const STORAGE_BACKENDS = ['nfs', 'ceph'] as const;
export const ISSUERS = ['acme', 'ca'] as const;
export const LOAD_BALANCERS = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'PASSTHROUGH'] as const;

export const SshSchema = z
  .strictObject({
    user: z.string().min(1).default('root').describe('SSH user on every host'),
    port: port.default(22).describe('SSH port'),
    privateKeyFile: z.string().min(1).describe('Private key used for key authentication (relative to the inventory file)'),
    knownHostsFile: z
      .string()
      .min(1)
      .describe('known_hosts with every host key pinned; unknown or changed keys are refused'),
    bastion: z
      .strictObject({
        host: z.string().min(1).describe('Jump host address'),
        port: port.default(22),
        user: z.string().min(1).optional().describe('Defaults to ssh.user'),
      })
      .optional()
      .describe('Optional jump host'),
    timeout: duration.default('10s').describe('Per-host connect timeout'),
    concurrency: positiveInt('ssh.concurrency', 256).default(10).describe('Hosts contacted at once'),
  })
  .describe('How scripts and the host layer reach hosts');

export const RouterSchema = z.strictObject({
  name: dnsLabel.describe('Router name; used for network/<router>.bird.conf'),
  address: ipv4.describe('Router peering address'),
  asNumber: asn.describe('Router AS number'),
});

export const NetworkSchema = z.strictObject({
  asNumber: asn.describe('The cluster side of BGP (default for clusters without network.asNumber)'),
  podCIDR: networkCidr.describe('Calico IP pool (default for clusters without network.podCIDR; a multi-cluster site gives each cluster its own)'),
  serviceCIDR: networkCidr.describe('Kubernetes service CIDR (default for clusters without network.serviceCIDR)'),
  blockSize: z
    .number()
    .int()
    .min(20, { error: (iss) => `blockSize ${show(iss.input)} is out of range: expected 20–32` })
    .max(32, { error: (iss) => `blockSize ${show(iss.input)} is out of range: expected 20–32` })
    .default(26)
    .describe('Calico IPAM block size (IPv4 prefix length of per-node blocks)'),
  encapsulation: z.enum(ENCAPSULATIONS).default('None').describe('None for L2-adjacent nodes'),
  natOutgoing: z.boolean().optional().describe('@default - true when encapsulated, false otherwise'),
  advertiseServiceCIDR: z.boolean().default(true).describe('Advertise the service CIDR to the routers'),
  routers: z.array(RouterSchema).default([]).describe('ToR routers every node peers with'),
  routeReflectors: z.array(dnsLabel).default([]).describe('Node names; empty = full node-to-node mesh'),
});

export const RegistrySchema = z.strictObject({
  host: dnsName.describe('Site registry host name'),
  storage: z.strictObject({ size: quantity.default('100Gi') }).default({ size: '100Gi' }),
  bootstrapPort: port
    .default(5000)
    .describe('Port of the air-gap bootstrap registry that `flotilla install` runs on the first master (name bootstrap.<host>) until the in-cluster registry takes over'),
  mirrors: z
    .array(
      z.strictObject({
        host: dnsName.describe('Registry this site syncs from'),
        repositories: z.array(z.string().min(1)).min(1).describe('Repository patterns, e.g. "platform/*"'),
        caCert: caCertificatePem
          .optional()
          .describe('PEM CA certificate that signs that registry (the peer site\'s CA): the sync job and the nodes trust it for this host; @default - the system trust store'),
      }),
    )
    .default([]),
});

export const StorageSchema = z.strictObject({
  default: z.enum(STORAGE_BACKENDS).describe('Backend of the default StorageClass'),
  nfs: z
    .strictObject({
      server: z.union([ipv4, dnsName]).describe('NFS server'),
      path: z.string().startsWith('/', { error: (iss) => `${show(iss.input)} must be an absolute export path` }),
    })
    .optional(),
  ceph: z
    .strictObject({
      monitors: z.array(hostPort).min(1).describe('Ceph monitor addresses'),
      pool: z.string().min(1).describe('RBD pool'),
      fsName: z.string().min(1).optional().describe('CephFS file system; enables the CephFS class'),
      clusterID: z.string().min(1).optional().describe('@default - the site name'),
    })
    .optional(),
});

// --- ACME DNS-01 (docs/synth.md "CertManagerIssuers"): the TSIG secret itself is the stack secret flotilla:tsigKey.
export const Dns01Schema = z.strictObject({
  zones: z.array(dnsName).min(1).optional().describe('Zones the DNS-01 solver answers for (cert-manager selector dnsZones). @default - [spec.domain]'),
  http01: z.boolean().default(true).describe('Keep HTTP-01 (Istio ingress) for names outside the zones; never for wildcards'),
  rfc2136: z
    .strictObject({
      nameserver: hostPort.describe('The site DNS server accepting RFC 2136 updates for the zones, e.g. "10.10.0.53:53"'),
      tsigKeyName: dnsName.describe('TSIG key name the server grants updates of _acme-challenge TXT records to'),
      tsigAlgorithm: z.enum(TSIG_ALGORITHMS).default('HMACSHA256'),
    })
    .optional()
    .describe('RFC 2136 dynamic updates signed with TSIG; the secret is the stack secret flotilla:tsigKey'),
  webhook: z
    .strictObject({
      groupName: dnsName.describe("The webhook solver's API group, e.g. \"acme.example.com\""),
      solverName: z.string().min(1).describe('Solver name inside the webhook'),
      config: z.record(z.string(), z.unknown()).optional().describe('Passed to the webhook as-is; reference Secrets, never inline credentials'),
    })
    .optional()
    .describe('A cert-manager DNS-01 webhook (installed separately)'),
});

export const CertificatesSchema = z.strictObject({
  issuer: z.enum(ISSUERS).describe('acme, or ca for a private CA (air-gapped sites)'),
  acmeEmail: z.email({ error: (iss) => `${show(iss.input)} is not an email address` }).optional(),
  acmeServer: z.url().default('https://acme-v02.api.letsencrypt.org/directory'),
  dns01: Dns01Schema.optional().describe('ACME DNS-01 solver; ACME issues the site wildcard certificate only over DNS-01'),
  caCert: caCertificatePem
    .optional()
    .describe(
      'PEM certificate of the CA that signs the site certificates, written to every node (containerd trusts it for the site registry). issuer ca: the site CA (its key is the Pulumi secret flotilla:caKey). issuer acme: the ACME chain\'s root when nodes do not trust it already (a private ACME server). @default - none: nodes use their system trust store',
    ),
});

export const LoggingSchema = z.strictObject({
  elasticsearch: z.strictObject({
    nodes: positiveInt('elasticsearch.nodes', 100).default(3),
    storage: quantity.default('100Gi'),
    retentionDays: positiveInt('retentionDays', 3650).default(7),
    storageClass: dnsName.optional().describe('@default - the site default StorageClass'),
  }),
  fileLogs: z
    .strictObject({
      hostPath: z.string().startsWith('/').default('/var/log/k8s'),
      retentionDays: positiveInt('fileLogs.retentionDays', 3650).default(7).describe('Per-pod log folders with nothing written for this long are removed from the hosts (daily cron)'),
    })
    .prefault({}),
});

export const ReceiverSchema = z
  .strictObject({
    name: dnsLabel,
    webhook: z.strictObject({ url: z.url() }).optional(),
    email: z.strictObject({ to: z.email() }).optional(),
  })
  .describe('Exactly one of webhook or email');

export const ProbeSchema = z.strictObject({
  name: dnsLabel,
  url: z.url(),
  bodyMustNotContain: z.string().min(1).optional(),
  interval: duration.default('30s'),
});

// --- Monitoring that survives (issue 14 item 6): storage, Grafana, SMTP, capacity, team rule templates ---
/** Alert-rule templates teams subscribe to (the PromQL is in constructs/monitoring.ts), with the labels they are picked by. */
export const RULE_TEMPLATES = {
  'pod-crash-looping': { category: 'workload', severity: 'warning' },
  'pod-not-ready': { category: 'workload', severity: 'warning' },
  'deployment-replicas-unavailable': { category: 'workload', severity: 'critical' },
  'container-oom-killed': { category: 'workload', severity: 'warning' },
  'container-cpu-throttled': { category: 'resources', severity: 'warning' },
  'pvc-filling-up': { category: 'storage', severity: 'warning' },
  'http-5xx-ratio-high': { category: 'traffic', severity: 'critical' },
  'http-latency-high': { category: 'traffic', severity: 'warning' },
} as const satisfies Record<string, Record<string, string>>;
export type RuleTemplateName = keyof typeof RULE_TEMPLATES;
export const RULE_TEMPLATE_NAMES = Object.keys(RULE_TEMPLATES) as RuleTemplateName[];

/** The templates a team picks: by name, plus every template carrying all of `templateLabels`. */
export function subscribedTemplates(t: { templates: readonly string[]; templateLabels: Readonly<Record<string, string>> }): RuleTemplateName[] {
  const byLabel = (n: RuleTemplateName) => Object.keys(t.templateLabels).length > 0 && Object.entries(t.templateLabels).every(([k, v]) => (RULE_TEMPLATES[n] as Record<string, string>)[k] === v);
  return RULE_TEMPLATE_NAMES.filter((n) => t.templates.includes(n) || byLabel(n));
}

const smarthost = z.string().refine(
  (v) => {
    const m = /^(.+):(\d{1,5})$/.exec(v);
    return !!m && (DNS1123_SUBDOMAIN.test(m[1]!) || parseIPv4(m[1]!) !== undefined) && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
  },
  { error: (iss) => `${show(iss.input)} is not host:port: expected e.g. "smtp.example.com:587"` },
);
const percent = (what: string) => positiveInt(what, 100);
const volume = (size: string) => ({ storage: quantity.default(size), storageClass: dnsName.optional().describe('@default - the site default StorageClass') });

export const TeamSchema = z.strictObject({
  name: dnsLabel.describe('Team name; its alerts carry team=<name> and are routed by it'),
  namespaces: z.array(dnsLabel).min(1).describe("Namespaces of the team's workloads (the subscribed rules watch only these)"),
  receivers: z.array(dnsLabel).min(1).describe("Names of spec.monitoring.receivers that get the team's alerts"),
  templates: z.array(z.enum(RULE_TEMPLATE_NAMES)).default([]).describe('Rule templates by name'),
  templateLabels: z.record(z.string(), z.string()).default({}).describe('Also every template with all of these labels, e.g. {category: traffic}'),
  labels: z.record(z.string(), z.string()).default({}).describe("Extra labels on the team's alerts"),
});

export const MonitoringSchema = z
  .strictObject({
    retentionDays: positiveInt('retentionDays', 3650).default(15),
    prometheus: z
      .strictObject({ ...volume('50Gi'), retentionSize: quantity.optional().describe('@default - 90% of storage') })
      .prefault({})
      .describe('Prometheus TSDB on a PVC'),
    alertmanager: z
      .strictObject({ ...volume('2Gi'), retention: duration.default('120h').describe('Silences and notification log') })
      .prefault({})
      .describe('Alertmanager state on a PVC'),
    grafana: z.strictObject({ ...volume('10Gi') }).prefault({}).describe('Grafana (on, with the site and federation dashboards)'),
    smtp: z
      .strictObject({
        smarthost: smarthost.describe('SMTP server host:port'),
        from: z.email({ error: (iss) => `${show(iss.input)} is not an email address` }),
        username: z.string().min(1).optional().describe('SMTP auth user; the password is the stack secret flotilla:smtpPassword'),
        requireTls: z.boolean().default(true),
      })
      .optional()
      .describe('SMTP for email receivers'),
    capacity: z
      .strictObject({
        cpuRequestsPercent: percent('cpuRequestsPercent').default(85),
        memoryRequestsPercent: percent('memoryRequestsPercent').default(85),
        for: duration.default('15m'),
      })
      .prefault({})
      .describe('Cluster-capacity alert: requests of running pods above this share of allocatable'),
    receivers: z.array(ReceiverSchema).default([]),
    probes: z.array(ProbeSchema).default([]),
    teams: z.array(TeamSchema).default([]).describe('Teams subscribing to rule templates'),
  })
  .superRefine((m, ctx) => {
    for (const [i, r] of m.receivers.entries()) {
      if (!!r.webhook === !!r.email) ctx.addIssue({ code: 'custom', path: ['receivers', i], message: `receiver ${show(r.name)} needs exactly one of webhook or email` });
    }
    const names = new Set(m.receivers.map((r) => r.name));
    const teams = new Set<string>();
    for (const [i, t] of m.teams.entries()) {
      if (teams.has(t.name)) ctx.addIssue({ code: 'custom', path: ['teams', i, 'name'], message: `team ${show(t.name)} is listed twice: merge the entries` });
      teams.add(t.name);
      for (const [j, r] of t.receivers.entries()) {
        if (!names.has(r)) ctx.addIssue({ code: 'custom', path: ['teams', i, 'receivers', j], message: `${show(r)} is not a receiver: use one of ${[...names].join(', ') || '(none: add spec.monitoring.receivers)'}` });
      }
      if (subscribedTemplates(t).length === 0) {
        ctx.addIssue({ code: 'custom', path: ['teams', i, 'templates'], message: `team ${show(t.name)} subscribes to no rule template: name some (${RULE_TEMPLATE_NAMES.join(', ')}) or give templateLabels that match one` });
      }
    }
  });

export const VipSchema = z.strictObject({
  address: cidr.describe('VIP with the prefix of its subnet, e.g. 10.10.1.10/24'),
  interface: z.string().min(1).max(15).describe('Interface carrying the VIP on every holder'),
  virtualRouterId: vrid,
});

// --- TCP services behind edge VIPs (issue 14 item 4) ---
/** Ports the site Gateway serves (HTTP → HTTPS redirect, TLS); every other VIP port is a TCP service. */
export const HTTP_VIP_PORTS: readonly number[] = [80, 443];
/** Envoy's own ports in the ingress gateway pod (status 15021, stats 15090, admin …). */
const ISTIO_RESERVED = { from: 15000, to: 15099 };
export const TcpBackendSchema = z
  .strictObject({
    service: dnsName
      .refine((v) => v.includes('.'), { error: (iss) => `${show(iss.input)} names no namespace: expected "<service>.<namespace>" or a full name such as "mysql-proxy.db.svc.cluster.local"` })
      .describe('Service the TCP ports are routed to: "<service>.<namespace>[.svc.cluster.local]"'),
    port: port.optional().describe('@default - the VIP port'),
  })
  .describe('Backend of the TCP ports (other than 80/443) of this VIP');

export const EdgeVipSchema = VipSchema.extend({
  name: dnsLabel,
  ports: z.array(port).min(1).describe('TCP ports served on this VIP; ports other than 80/443 are TCP services routed to backend'),
  backend: TcpBackendSchema.optional().describe('@default - service "<name>.default", the same port'),
});

/** Edge VIPs of one cluster: one TCP listener per port on the ingress gateway, so one backend per port. */
const EdgeSchema = z.strictObject({ vips: z.array(EdgeVipSchema).default([]) }).superRefine((edge, ctx) => {
  const owner = new Map<number, { vip: string; backend: string }>();
  for (const [i, v] of edge.vips.entries()) {
    const tcp = v.ports.filter((p) => !HTTP_VIP_PORTS.includes(p));
    if (v.backend && tcp.length === 0) ctx.addIssue({ code: 'custom', path: ['vips', i, 'backend'], message: `VIP ${show(v.name)} has no TCP port besides 80/443 for its backend: add the service port to ports, or remove backend` });
    for (const p of tcp) {
      const j = v.ports.indexOf(p);
      if (p >= ISTIO_RESERVED.from && p <= ISTIO_RESERVED.to) {
        ctx.addIssue({ code: 'custom', path: ['vips', i, 'ports', j], message: `port ${p} is reserved by the Istio ingress gateway (${ISTIO_RESERVED.from}–${ISTIO_RESERVED.to}): use another port` });
      }
      const backend = `${v.backend?.service ?? `${v.name}.default`}:${v.backend?.port ?? p}`;
      const prev = owner.get(p);
      if (prev && prev.backend !== backend) {
        ctx.addIssue({ code: 'custom', path: ['vips', i, 'ports', j], message: `port ${p} is already routed to ${prev.backend} by VIP ${show(prev.vip)} (the ingress gateway has one listener per port): use another port` });
      } else if (!prev) owner.set(p, { vip: v.name, backend });
    }
  }
});

export const NodeSchema = z.strictObject({
  name: dnsLabel,
  address: ipv4,
  roles: z
    .array(z.enum(ROLES))
    .min(1, { error: 'a node needs at least one role: master, edge or worker' }),
  labels: z.record(z.string(), z.string()).default({}),
});

export const TrafficPolicySchema = z.strictObject({
  loadBalancer: z.enum(LOAD_BALANCERS).default('LEAST_REQUEST'),
  outlierDetection: z
    .strictObject({
      consecutive5xxErrors: positiveInt('consecutive5xxErrors', 1000).default(5),
      interval: duration.default('10s'),
      baseEjectionTime: duration.default('30s'),
      maxEjectionPercent: z.number().int().min(1).max(100).default(50),
    })
    .prefault({}),
  connectionPool: z
    .strictObject({
      http1MaxPendingRequests: positiveInt('http1MaxPendingRequests').default(1024),
      maxRequestsPerConnection: z.number().int().min(0).default(0).describe('0 = unlimited'),
      connectTimeout: duration.default('1s'),
    })
    .prefault({}),
  retries: z
    .strictObject({
      attempts: z.number().int().min(0).max(100).default(2),
      perTryTimeout: duration.default('2s'),
    })
    .prefault({}),
});

export const FrontSchema = z
  .strictObject({
    hosts: z
      .array(z.strictObject({ name: dnsLabel.describe('Front host name (hosts/<name>/ in the synth output)'), address: ipv4.describe('Private address: SSH, VRRP and the runtime API') }))
      .min(1, { error: 'front.hosts: list the front LB hosts (two or more for a highly available front)' })
      .describe('Front LB hosts: each runs HAProxy (front/haproxy.cfg plus the runtime API) and keepalived for the front VIP'),
    vip: VipSchema.describe('Front VIP users (and the DNS name of the site) reach; held by one front host'),
    runtimeApi: z
      .strictObject({
        port: port.default(9999).describe("TCP port of HAProxy's runtime API on each front host's private address"),
        allowedSources: z
          .array(cidr)
          .min(1)
          .optional()
          .describe("Source ranges allowed to connect (cluster-mgr's pods or ops host). @default - the pod CIDRs of every cluster and the ops host's address (spec.federation.opsHost)"),
        clientName: z
          .string()
          .regex(/^[A-Za-z0-9_.-]+$/, { error: (iss) => `${show(iss.input)} is not a certificate CN HAProxy can match: use letters, digits, '.', '_', '-'` })
          .default('cluster-mgr')
          .describe('Common name the client certificate must carry (mutual TLS)'),
      })
      .prefault({})
      .describe('HAProxy runtime API over TCP for cluster-mgr: mutual TLS, source-restricted'),
  })
  .describe('Highly available front: HAProxy + keepalived on dedicated hosts in front of the edge VIPs');

export const ClusterSchema = z.strictObject({
  name: dnsLabel,
  kubeconfig: z.string().min(1).describe('Kubeconfig path (relative to the inventory file)'),
  apiVIP: VipSchema.describe('kube-apiserver VIP held by the masters'),
  network: z
    .strictObject({
      podCIDR: networkCidr.optional().describe("This cluster's Calico IP pool. @default - spec.network.podCIDR"),
      serviceCIDR: networkCidr.optional().describe("This cluster's service CIDR. @default - spec.network.serviceCIDR"),
      asNumber: asn.optional().describe("This cluster's BGP AS. @default - spec.network.asNumber"),
    })
    .optional()
    .describe('Per-cluster addressing; clusters of one site must not share pod or service ranges'),
  nodes: z.array(NodeSchema).min(1),
  edge: EdgeSchema.default({ vips: [] }),
  istio: z.strictObject({ trafficPolicy: TrafficPolicySchema.prefault({}) }).prefault({}),
});

// --- Site apps (issue 14: canary releases, sticky sessions, local rate limit, file logs): plain
// apps synthesized into each cluster's `apps` component (constructs/app.ts).
const labelValue = z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, { error: (iss) => `${show(iss.input)} is not a label value: letters, digits, "-", "_", "." (at most 63), e.g. "v2"` });
export const SiteAppSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.default('default'),
  clusters: z.array(dnsLabel).min(1).optional().describe('Clusters that run the app. @default - every cluster'),
  image: z.string().min(1),
  replicas: positiveInt('replicas', 1000).default(2),
  port: port.describe('Container and Service port (HTTP)'),
  host: dnsName.optional().describe('External host served through the site Gateway, e.g. shop.bj1.example.com'),
  canary: z
    .strictObject({
      version: labelValue.describe('version label of the canary pods (the canary subset); the stable pods are "stable"'),
      image: z.string().min(1),
      replicas: positiveInt('canary.replicas', 1000).default(1),
      weight: z.number().int().min(0).max(100).default(0).describe('Canary share of traffic (%); later moved by `cluster-mgr canary promote|rollback`'),
    })
    .optional(),
  consistentHash: z
    .strictObject({ httpHeaderName: z.string().min(1).optional(), httpCookie: z.strictObject({ name: z.string().min(1), ttl: duration }).optional(), useSourceIp: z.literal(true).optional() })
    .optional()
    .describe('Sticky sessions: exactly one of httpHeaderName, httpCookie, useSourceIp'),
  rateLimit: z.strictObject({ requestsPerSecond: positiveInt('requestsPerSecond'), burst: positiveInt('burst').optional() }).optional().describe("Envoy local rate limit per pod (the app's sidecars)"),
  logs: z.strictObject({ files: z.boolean().default(false) }).optional().describe('files: mount the per-pod log folder (logging.fileLogs.hostPath/<namespace>_<pod>) at /var/log/app'),
});

/** The Prometheus of the cluster that runs cluster-mgr, as its pod reaches it (kube-prometheus-stack's Service). */
export const IN_CLUSTER_PROMETHEUS_URL = 'http://kube-prometheus-stack-prometheus.monitoring.svc:9090';

const prometheusUrl = z.url({ protocol: /^https?$/, error: (iss) => `${show(iss.input)} is not an http(s) URL: expected a Prometheus or Thanos query base URL, e.g. "https://prometheus.sh1-b.example.com"` });

/** Where cluster-mgr evaluates autoscale queries (`autoscaling.metrics` of the synthesized Federation). */
export const SiteMetricsSourceSchema = z.discriminatedUnion(
  'source',
  [
    z.strictObject({
      source: z.literal('url'),
      url: prometheusUrl.describe('One Prometheus or Thanos query URL that sees every cluster'),
      timeout: duration.default('5s').describe('Per query'),
    }),
    z.strictObject({
      source: z.literal('members'),
      urls: z
        .record(z.string(), prometheusUrl)
        .default({})
        .describe("Cluster → its Prometheus URL as cluster-mgr reaches it; the cluster that runs cluster-mgr (the first) defaults to its in-cluster Prometheus Service"),
      timeout: duration.default('2s').describe('Per cluster query; a slower cluster counts as failed'),
    }),
  ],
  {
    error: (iss) =>
      iss.code === 'invalid_union'
        ? `unknown metrics source ${show((iss.input as { source?: unknown } | undefined)?.source)}: expected "url" (one Prometheus or Thanos query URL) or "members" (the sum over every cluster's Prometheus)`
        : undefined,
  },
);

/** cluster-mgr as the site runs it (the synthesized Federation config, the ops-host systemd unit). */
export const FederationSettingsSchema = z.strictObject({
  health: z
    .strictObject({
      interval: duration.default('1s').describe('Probe period'),
      timeout: duration.default('800ms').describe('Probe timeout'),
      failureThreshold: positiveInt('failureThreshold', 100).default(3).describe('Consecutive failed probes before a member is Unhealthy'),
      successThreshold: positiveInt('successThreshold', 100).default(3).describe('Consecutive successes before it is Healthy again'),
      failbackAfter: duration.default('60s').describe('Stable time before failback; also the traffic ramp duration'),
      failbackSteps: positiveInt('failbackSteps', 100).default(4).describe('Replicas return to a recovered member in this many steps'),
    })
    .prefault({}),
  traffic: z
    .strictObject({
      secondOpinion: z.enum(['front', 'none']).default('front').describe("Confirm a member is down with the front HAProxy's own health checks before draining it"),
    })
    .prefault({}),
  autoscaling: z
    .strictObject({
      metrics: SiteMetricsSourceSchema.optional().describe(`Autoscale queries' source: "url" (one Prometheus or Thanos query) or "members" (each cluster's Prometheus, summed). @default - url ${IN_CLUSTER_PROMETHEUS_URL} (the first cluster's Prometheus)`),
    })
    .prefault({}),
  leaderElection: z
    .strictObject({
      leaseDuration: duration.default('4s'),
      renewDeadline: duration.default('3s'),
      retryPeriod: duration.default('1s'),
    })
    .prefault({}),
  opsHost: z
    .strictObject({
      name: dnsLabel.describe('Host name (hosts/<name>/ in the synth output)'),
      address: ipv4.describe('SSH address the host layer installs the unit over'),
    })
    .optional()
    .describe('Run cluster-mgr outside Kubernetes too: a systemd unit on this host, same daemon and config'),
});

export const SiteSchema = z
  .strictObject({
    apiVersion: z.literal('flotilla.dev/v1alpha1', {
      error: (iss) => `apiVersion ${show(iss.input)} is not supported: expected "flotilla.dev/v1alpha1"`,
    }),
    kind: z.literal('Site', { error: (iss) => `kind ${show(iss.input)} is wrong: expected "Site"` }),
    metadata: z.strictObject({
      name: dnsLabel.describe('Site name; used in resource names and output paths'),
      labels: z.record(z.string(), z.string()).default({}),
    }),
    spec: z.strictObject({
      environment: z.enum(ENVIRONMENTS).default('prod'),
      domain: dnsName.describe('Wildcard ingress domain of this site'),
      ssh: SshSchema,
      network: NetworkSchema,
      registry: RegistrySchema,
      storage: StorageSchema,
      certificates: CertificatesSchema,
      logging: LoggingSchema,
      monitoring: MonitoringSchema.prefault({}),
      federation: FederationSettingsSchema.prefault({}).describe('cluster-mgr settings (health, traffic, leader election, ops host)'),
      clusters: z.array(ClusterSchema).min(1, { error: 'a site needs at least one cluster' }),
      apps: z.array(SiteAppSchema).default([]),
      front: FrontSchema.optional().describe('Front LB hosts (HAProxy + keepalived VIP) in front of the edge VIPs'),
    }),
  })
  .describe('A Flotilla Site inventory: one data center, one Pulumi stack');

export type SiteInput = z.input<typeof SiteSchema>;
export type Site = z.output<typeof SiteSchema>;
export type Cluster = Site['spec']['clusters'][number];
export type SiteNode = Cluster['nodes'][number];
export type EdgeVip = Cluster['edge']['vips'][number];
export type Vip = Cluster['apiVIP'];
export type Router = Site['spec']['network']['routers'][number];
export type Role = (typeof ROLES)[number];
export type SiteApp = Site['spec']['apps'][number];
export type Front = NonNullable<Site['spec']['front']>;
