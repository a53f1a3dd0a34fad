// The Site inventory schema: one data center, one Pulumi stack. The single source of truth for the
// inventory's shape; types come from z.infer and docs/site.schema.json is generated from it.
import { z } from 'zod';
import { DNS1123_LABEL, DNS1123_SUBDOMAIN } from '../lib/dns';
import { parseCidr, parseHostPort, parseIPv4 } from '../lib/net';
import { parseDuration, parseQuantity } from '../lib/units';


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
  mirrors: z
    .array(
      z.strictObject({
        host: dnsName.describe('Registry this site syncs from'),
        repositories: z.array(z.string().min(1)).min(1).describe('Repository patterns, e.g. "platform/*"'),
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

export const CertificatesSchema = z.strictObject({
  issuer: z.enum(ISSUERS).describe('acme, or ca for a private CA (air-gapped sites)'),
  acmeEmail: z.email({ error: (iss) => `${show(iss.input)} is not an email address` }).optional(),
  acmeServer: z.url().default('https://acme-v02.api.letsencrypt.org/directory'),
});

export const LoggingSchema = z.strictObject({
  elasticsearch: z.strictObject({
    nodes: positiveInt('elasticsearch.nodes', 100).default(3),
    storage: quantity.default('100Gi'),
    retentionDays: positiveInt('retentionDays', 3650).default(7),
    storageClass: dnsName.optional().describe('@default - the site default StorageClass'),
  }),
  fileLogs: z
    .strictObject({ hostPath: z.string().startsWith('/').default('/var/log/k8s') })
    .default({ hostPath: '/var/log/k8s' }),
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

export const MonitoringSchema = z.strictObject({
  retentionDays: positiveInt('retentionDays', 3650).default(15),
  receivers: z.array(ReceiverSchema).default([]),
  probes: z.array(ProbeSchema).default([]),
});

export const VipSchema = z.strictObject({
  address: cidr.describe('VIP with the prefix of its subnet, e.g. 10.10.1.10/24'),
  interface: z.string().min(1).max(15).describe('Interface carrying the VIP on every holder'),
  virtualRouterId: vrid,
});

export const EdgeVipSchema = VipSchema.extend({
  name: dnsLabel,
  ports: z.array(port).min(1).describe('TCP ports served on this VIP'),
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
          .describe("Source ranges allowed to connect (cluster-mgr's pods or ops host). @default - the pod CIDRs of every cluster"),
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
  edge: z.strictObject({ vips: z.array(EdgeVipSchema).default([]) }).default({ vips: [] }),
  istio: z.strictObject({ trafficPolicy: TrafficPolicySchema.prefault({}) }).prefault({}),
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
      clusters: z.array(ClusterSchema).min(1, { error: 'a site needs at least one cluster' }),
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
export type Front = NonNullable<Site['spec']['front']>;
