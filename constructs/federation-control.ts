// FederationControl: the cluster-mgr Deployment (2 replicas, leader election through a Lease),
// least-privilege RBAC, its Federation config, and the FederatedApp CRD. FederatedApplication
// authors one FederatedApp.
import { readFileSync } from 'node:fs';
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { parse } from 'yaml';
import { apiObject, checkLabel, containerResources, hardenPod, labels, podLabels, podSecurity, PROMETHEUS_RELEASE_LABELS, PropError, secureContainer, selectByLabels, type MonitoringLabelsProps } from './common';
import { CLUSTER_MGR_API_TOKEN, CLUSTER_MGR_FRONT_CLIENT_CERT, CLUSTER_MGR_FRONT_TLS, CLUSTER_MGR_KUBECONFIGS, CLUSTER_MGR_MEMBER } from '../infra/lib/cluster-mgr-rbac';
import { Certificate, CertificateSpecPrivateKeyAlgorithm, CertificateSpecPrivateKeyRotationPolicy, CertificateSpecUsages, Issuer } from './imports/cert-manager.io';
import { FederatedApp, type FederatedAppSpec } from './imports/flotilla.dev';

const NAME = 'FederationControl';
export const CLUSTER_MGR_IMAGE = 'ghcr.io/flotilla-dev/cluster-mgr:0.1.0';
export const CLUSTER_MGR_PORT = 9464;

/** The FederatedApp CustomResourceDefinition (constructs/crds/flotilla.dev_federatedapps.yaml). */
export const FEDERATED_APP_CRD = parse(readFileSync(new URL('./crds/flotilla.dev_federatedapps.yaml', import.meta.url), 'utf8')) as {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
};

/** `monitoringLabels`: the ServiceMonitor member health alerts read cluster-mgr's metrics through. */
export interface FederationControlProps extends MonitoringLabelsProps {
  /** The Federation document cluster-mgr runs with (YAML text). */
  readonly config: string;
  /**
   * Secret holding the member kubeconfigs, mounted at /etc/cluster-mgr/kubeconfigs.
   * @default - 'cluster-mgr-kubeconfigs'
   */
  readonly kubeconfigSecret?: string;
  /**
   * Namespace (also the Lease namespace).
   * @default - 'flotilla-system'
   */
  readonly namespace?: string;
  /**
   * Replicas; one leads, the others wait on the Lease.
   * @default - 2
   */
  readonly replicas?: number;
  /**
   * Lease name for leader election.
   * @default - 'cluster-mgr'
   */
  readonly leaseName?: string;
  /** @default - CLUSTER_MGR_IMAGE */
  readonly image?: string;
  /**
   * Secret (key `token`) with the bearer token for /api/* and /metrics: the daemon reads it as
   * $CLUSTER_MGR_TOKEN, the ServiceMonitor sends it (`bearerTokenSecret`). The Pulumi program
   * generates it; synthesis never contains it.
   * @default - 'cluster-mgr-api-token'
   */
  readonly apiTokenSecret?: string;
  /**
   * Secret with the client certificate for the front's runtime API (`ca.crt`, `tls.crt`, `tls.key`),
   * mounted (optional) at CLUSTER_MGR_FRONT_TLS.dir when the config drives front hosts over TCP.
   * @default - not mounted
   */
  readonly frontTlsSecret?: string;
  /**
   * Have cert-manager issue `frontTlsSecret`: a Certificate (CN `commonName`, client auth, ECDSA P-256,
   * 90 days renewed 30 days before expiry) from a namespaced CA Issuer whose key pair is the Secret
   * CLUSTER_MGR_FRONT_CLIENT_CERT.caSecret — synthesized as a placeholder (`flotilla.dev/filled-by`)
   * the Pulumi program fills from flotilla:caCert/caKey, the CA the front hosts trust. cert-manager
   * writes `ca.crt`, `tls.crt`, `tls.key` into the Secret, the files the config reads.
   * @default - not issued here (bring your own Secret)
   */
  readonly frontClientCertificate?: { readonly commonName: string };
}

/** The config's spec.leaderElection (namespace, leaseName) must name the Role's namespace and Lease. */
function checkLeaderElection(doc: unknown, ns: string, lease: string): void {
  const le = (doc as { spec?: { leaderElection?: { namespace?: unknown; leaseName?: unknown } } }).spec?.leaderElection;
  if (!le) return; // a single writer without a Lease is the operator's choice
  const gotNs = le.namespace ?? 'flotilla-system';
  const gotLease = le.leaseName ?? 'cluster-mgr';
  if (gotNs !== ns) throw new PropError(NAME, 'config', `spec.leaderElection.namespace ${JSON.stringify(gotNs)}`, `${JSON.stringify(ns)}, the namespace prop (the Lease Role lives there)`);
  if (gotLease !== lease) throw new PropError(NAME, 'config', `spec.leaderElection.leaseName ${JSON.stringify(gotLease)}`, `${JSON.stringify(lease)}, the leaseName prop (the Role grants only that Lease)`);
}

export class FederationControl extends Construct {
  constructor(scope: Construct, id: string, props: FederationControlProps) {
    super(scope, id);
    const ns = props.namespace ?? 'flotilla-system';
    const replicas = props.replicas ?? 2;
    const lease = props.leaseName ?? 'cluster-mgr';
    const kubeconfigs = props.kubeconfigSecret ?? CLUSTER_MGR_KUBECONFIGS.secret;
    const apiToken = props.apiTokenSecret ?? CLUSTER_MGR_API_TOKEN.secret;
    checkLabel(NAME, 'apiTokenSecret', apiToken);
    checkLabel(NAME, 'namespace', ns);
    checkLabel(NAME, 'leaseName', lease);
    checkLabel(NAME, 'kubeconfigSecret', kubeconfigs);
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new PropError(NAME, 'replicas', replicas, 'an integer 1–5 (2 for a standby)');
    let doc: unknown;
    try {
      doc = parse(props.config);
    } catch (e) {
      throw new PropError(NAME, 'config', (e as Error).message.split('\n')[0], 'a YAML Federation document');
    }
    if ((doc as { kind?: unknown } | null)?.kind !== 'Federation') throw new PropError(NAME, 'config', (doc as { kind?: unknown } | null)?.kind, 'a document with kind: Federation');
    checkLeaderElection(doc, ns, lease);
    if (props.frontTlsSecret !== undefined) checkLabel(NAME, 'frontTlsSecret', props.frontTlsSecret);
    const client = props.frontClientCertificate;
    if (client && props.frontTlsSecret === undefined) throw new PropError(NAME, 'frontClientCertificate', client.commonName, 'frontTlsSecret too (the Secret the certificate is written to)');
    if (client && !/^[A-Za-z0-9_.-]+$/.test(client.commonName)) throw new PropError(NAME, 'frontClientCertificate.commonName', client.commonName, "a CN HAProxy can match: letters, digits, '.', '_', '-'");

    const lbl = labels('cluster-mgr', 'cluster-mgr');
    apiObject(this, 'Crd', FEDERATED_APP_CRD);
    apiObject(this, 'Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    // The token is mounted only into the cluster-mgr pods (automountServiceAccountToken on the pod).
    const sa = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata: { name: 'cluster-mgr', namespace: ns, labels: lbl } });
    // Leader election: only its own Lease (create is not restrictable by name, so it is granted separately).
    const leaseRole = new kplus.Role(this, 'LeaseRole', { metadata: { name: 'cluster-mgr-leader-election', namespace: ns, labels: lbl } });
    leaseRole.allow(['create'], kplus.ApiResource.custom({ apiGroup: 'coordination.k8s.io', resourceType: 'leases' }));
    leaseRole.allow(['get', 'update'], { apiGroup: 'coordination.k8s.io', resourceType: 'leases', resourceName: lease });
    leaseRole.allow(['create', 'patch'], kplus.ApiResource.EVENTS);
    // Outside a pod (the systemd unit) cluster-mgr reaches the host cluster as its member account.
    const memberSa = kplus.ServiceAccount.fromServiceAccountName(this, 'MemberServiceAccount', CLUSTER_MGR_MEMBER.serviceAccount, { namespaceName: CLUSTER_MGR_MEMBER.namespace });
    new kplus.RoleBinding(this, 'LeaseRoleBinding', { metadata: { name: 'cluster-mgr-leader-election', namespace: ns, labels: lbl }, role: leaseRole }).addSubjects(sa, memberSa);
    // FederatedApps may live in any namespace of the host cluster: read them, write their status only.
    const appsRole = new kplus.ClusterRole(this, 'AppsClusterRole', { metadata: { name: `${ns}-cluster-mgr`, labels: lbl } });
    appsRole.allow(['get', 'list', 'watch'], kplus.ApiResource.custom({ apiGroup: 'flotilla.dev', resourceType: 'federatedapps' }));
    appsRole.allow(['get', 'update', 'patch'], kplus.ApiResource.custom({ apiGroup: 'flotilla.dev', resourceType: 'federatedapps/status' }));
    new kplus.ClusterRoleBinding(this, 'AppsClusterRoleBinding', { metadata: { name: `${ns}-cluster-mgr`, labels: lbl }, role: appsRole }).addSubjects(sa, memberSa);
    const config = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: 'cluster-mgr', namespace: ns, labels: lbl },
      data: { 'federation.yaml': props.config },
    });
    const deployment = new kplus.Deployment(this, 'Resource', {
      metadata: { name: 'cluster-mgr', namespace: ns, labels: lbl },
      ...podLabels(lbl),
      replicas,
      strategy: kplus.DeploymentStrategy.rollingUpdate({ maxUnavailable: kplus.PercentOrAbsolute.absolute(1), maxSurge: kplus.PercentOrAbsolute.absolute(0) }),
      serviceAccount: sa,
      automountServiceAccountToken: true,
      securityContext: podSecurity(),
      terminationGracePeriod: Duration.seconds(30),
      containers: [
        secureContainer({
          name: 'cluster-mgr',
          image: props.image ?? CLUSTER_MGR_IMAGE,
          args: ['run', '--config', '/etc/cluster-mgr/federation.yaml', '--listen', `0.0.0.0:${CLUSTER_MGR_PORT}`],
          envVariables: {
            POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
            POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
            [CLUSTER_MGR_API_TOKEN.env]: kplus.EnvValue.fromSecretValue({ secret: kplus.Secret.fromSecretName(this, 'ApiToken', apiToken), key: CLUSTER_MGR_API_TOKEN.key }),
          },
          ports: [{ name: 'http', number: CLUSTER_MGR_PORT }],
          readiness: kplus.Probe.fromHttpGet('/readyz', { port: CLUSTER_MGR_PORT, periodSeconds: Duration.seconds(2) }),
          liveness: kplus.Probe.fromHttpGet('/healthz', { port: CLUSTER_MGR_PORT, periodSeconds: Duration.seconds(10) }),
          resources: containerResources('100m', '128Mi', '1', '512Mi'),
          volumeMounts: [
            { path: '/etc/cluster-mgr', readOnly: true, volume: kplus.Volume.fromConfigMap(this, 'ConfigVolume', config, { name: 'config' }) },
            {
              path: CLUSTER_MGR_KUBECONFIGS.dir,
              readOnly: true,
              volume: kplus.Volume.fromSecret(this, 'KubeconfigsVolume', kplus.Secret.fromSecretName(this, 'Kubeconfigs', kubeconfigs), { name: 'kubeconfigs', optional: true }),
            },
            // Optional: until it exists the daemon reports the runtime API unreachable (log, metric, alert) and retries.
            ...(props.frontTlsSecret
              ? [
                  {
                    path: CLUSTER_MGR_FRONT_TLS.dir,
                    readOnly: true,
                    volume: kplus.Volume.fromSecret(this, 'FrontTlsVolume', kplus.Secret.fromSecretName(this, 'FrontTls', props.frontTlsSecret), { name: 'front-tls', optional: true }),
                  },
                ]
              : []),
          ],
        }),
      ],
    });
    if (client) this.frontClientCertificate(ns, lbl, props.frontTlsSecret!, client.commonName);
    selectByLabels(deployment, lbl);
    hardenPod(deployment);
    deployment.scheduling.separate(kplus.Pods.select(this, 'Peers', { labels: lbl }), { weight: 100, topology: kplus.Topology.HOSTNAME });
    const service = new kplus.Service(this, 'Service', {
      metadata: { name: 'cluster-mgr', namespace: ns, labels: lbl },
      ports: [{ name: 'http', port: CLUSTER_MGR_PORT, targetPort: CLUSTER_MGR_PORT }],
    });
    // Our labels, not `selector: deployment` (that would select plus's address label, which selectByLabels drops).
    for (const [k, v] of Object.entries(lbl)) service.selectLabel(k, v);
    apiObject(this, 'ServiceMonitor', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'cluster-mgr', namespace: ns, labels: { ...lbl, ...(props.monitoringLabels ?? PROMETHEUS_RELEASE_LABELS) } },
      spec: { selector: { matchLabels: lbl }, endpoints: [{ port: 'http', path: '/metrics', interval: '15s', bearerTokenSecret: { name: apiToken, key: CLUSTER_MGR_API_TOKEN.key } }] },
    });
  }

  /** The CA Issuer (its key pair a placeholder Secret the Pulumi program fills) and cluster-mgr's client Certificate. */
  private frontClientCertificate(ns: string, lbl: Record<string, string>, secretName: string, commonName: string): void {
    const c = CLUSTER_MGR_FRONT_CLIENT_CERT;
    // Shape only: the Pulumi program fills it from flotilla:caCert/caKey; the key never appears in output.
    apiObject(this, 'FrontCaSecret', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: c.caSecret, namespace: ns, labels: lbl, annotations: { 'flotilla.dev/filled-by': 'pulumi (flotilla:caCert, flotilla:caKey: the CA the front hosts trust)' } },
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': '', 'tls.key': '' },
    });
    new Issuer(this, 'FrontCaIssuer', { metadata: { name: c.issuer, namespace: ns, labels: lbl }, spec: { ca: { secretName: c.caSecret } } });
    new Certificate(this, 'FrontClientCertificate', {
      // Pulumi's yaml/v2 ConfigGroup orders by this (kpt/cli-utils convention): the Issuer first
      metadata: { name: secretName, namespace: ns, labels: lbl, annotations: { 'config.kubernetes.io/depends-on': `cert-manager.io/namespaces/${ns}/Issuer/${c.issuer}` } },
      spec: {
        secretName,
        commonName,
        usages: c.usages.map((u) => u as CertificateSpecUsages),
        privateKey: { algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA, size: c.privateKey.size, rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.ALWAYS },
        duration: c.duration,
        renewBefore: c.renewBefore,
        issuerRef: { name: c.issuer, kind: 'Issuer', group: 'cert-manager.io' },
      },
    });
  }
}

export interface FederatedApplicationProps extends FederatedAppSpec {
  /** App name (metadata.name). */
  readonly name: string;
  /** Namespace the app runs in on every member. */
  readonly namespace: string;
}

/** One FederatedApp: an app cluster-mgr spreads over the member clusters. */
export class FederatedApplication extends Construct {
  constructor(scope: Construct, id: string, props: FederatedApplicationProps) {
    super(scope, id);
    checkLabel('FederatedApplication', 'name', props.name);
    checkLabel('FederatedApplication', 'namespace', props.namespace);
    if (!Number.isInteger(props.replicas) || props.replicas < 0) throw new PropError('FederatedApplication', 'replicas', props.replicas, 'a whole number ≥ 0');
    const a = props.autoscale;
    if (a && a.min > a.max) throw new PropError('FederatedApplication', 'autoscale.min', a.min, `at most autoscale.max (${a.max})`);
    const { name, namespace, ...spec } = props;
    new FederatedApp(this, 'Resource', { metadata: { name, namespace }, spec });
  }
}
