// FederationControl: the cluster-mgr Deployment (2 replicas, leader election through a Lease),
// least-privilege RBAC, its Federation config, and the FederatedApp CRD. FederatedApplication
// authors one FederatedApp.
import { readFileSync } from 'node:fs';
import { Construct } from 'constructs';
import { parse } from 'yaml';
import { apiObject, checkLabel, labels, podSecurity, PropError, resources, secureContainer } from './common';
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

export interface FederationControlProps {
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
   * Labels the Prometheus ServiceMonitor selector matches (member health alerts read its metrics).
   * @default - { release: 'kube-prometheus-stack' }
   */
  readonly monitoringLabels?: Readonly<Record<string, string>>;
}

export class FederationControl extends Construct {
  constructor(scope: Construct, id: string, props: FederationControlProps) {
    super(scope, id);
    const ns = props.namespace ?? 'flotilla-system';
    const replicas = props.replicas ?? 2;
    const lease = props.leaseName ?? 'cluster-mgr';
    const kubeconfigs = props.kubeconfigSecret ?? 'cluster-mgr-kubeconfigs';
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

    const lbl = labels('cluster-mgr', 'cluster-mgr');
    apiObject(this, 'Crd', FEDERATED_APP_CRD);
    apiObject(this, 'Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    apiObject(this, 'ServiceAccount', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'cluster-mgr', namespace: ns, labels: lbl } });
    // Leader election: only its own Lease (create is not restrictable by name, so it is granted separately).
    apiObject(this, 'LeaseRole', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'cluster-mgr-leader-election', namespace: ns, labels: lbl },
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [lease], verbs: ['get', 'update'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      ],
    });
    apiObject(this, 'LeaseRoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'cluster-mgr-leader-election', namespace: ns, labels: lbl },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cluster-mgr-leader-election' },
      subjects: [{ kind: 'ServiceAccount', name: 'cluster-mgr', namespace: ns }],
    });
    // FederatedApps may live in any namespace of the host cluster: read them, write their status only.
    apiObject(this, 'AppsClusterRole', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${ns}-cluster-mgr`, labels: lbl },
      rules: [
        { apiGroups: ['flotilla.dev'], resources: ['federatedapps'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['flotilla.dev'], resources: ['federatedapps/status'], verbs: ['get', 'update', 'patch'] },
      ],
    });
    apiObject(this, 'AppsClusterRoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${ns}-cluster-mgr`, labels: lbl },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${ns}-cluster-mgr` },
      subjects: [{ kind: 'ServiceAccount', name: 'cluster-mgr', namespace: ns }],
    });
    apiObject(this, 'Config', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cluster-mgr', namespace: ns, labels: lbl },
      data: { 'federation.yaml': props.config },
    });
    apiObject(this, 'Resource', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'cluster-mgr', namespace: ns, labels: lbl },
      spec: {
        replicas,
        selector: { matchLabels: lbl },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
        template: {
          metadata: { labels: lbl },
          spec: {
            serviceAccountName: 'cluster-mgr',
            securityContext: podSecurity(),
            terminationGracePeriodSeconds: 30,
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: lbl }, topologyKey: 'kubernetes.io/hostname' } },
                ],
              },
            },
            containers: [
              secureContainer({
                name: 'cluster-mgr',
                image: props.image ?? CLUSTER_MGR_IMAGE,
                args: ['run', '--config', '/etc/cluster-mgr/federation.yaml', '--listen', `0.0.0.0:${CLUSTER_MGR_PORT}`],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                ],
                ports: [{ name: 'http', containerPort: CLUSTER_MGR_PORT }],
                readinessProbe: { httpGet: { path: '/readyz', port: CLUSTER_MGR_PORT }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: '/healthz', port: CLUSTER_MGR_PORT }, periodSeconds: 10 },
                resources: resources('100m', '128Mi', '1', '512Mi'),
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/cluster-mgr', readOnly: true },
                  { name: 'kubeconfigs', mountPath: '/etc/cluster-mgr/kubeconfigs', readOnly: true },
                ],
              }),
            ],
            volumes: [
              { name: 'config', configMap: { name: 'cluster-mgr' } },
              { name: 'kubeconfigs', secret: { secretName: kubeconfigs, optional: true } },
            ],
          },
        },
      },
    });
    apiObject(this, 'Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'cluster-mgr', namespace: ns, labels: lbl },
      spec: { selector: lbl, ports: [{ name: 'http', port: CLUSTER_MGR_PORT, targetPort: CLUSTER_MGR_PORT }] },
    });
    apiObject(this, 'ServiceMonitor', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'cluster-mgr', namespace: ns, labels: { ...lbl, ...(props.monitoringLabels ?? { release: 'kube-prometheus-stack' }) } },
      spec: { selector: { matchLabels: lbl }, endpoints: [{ port: 'http', path: '/metrics', interval: '15s' }] },
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
