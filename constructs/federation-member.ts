// FederationMember: what cluster-mgr needs on ONE member cluster — its ServiceAccount, the
// least-privilege ClusterRole (rules: infra/lib/cluster-mgr-rbac.ts, the one list the daemon is
// tested against), the binding, and a service-account token Secret the Pulumi program reads to build
// the member's kubeconfig in the host cluster's `cluster-mgr-kubeconfigs` Secret.
import { Construct } from 'constructs';
import { CLUSTER_MGR_MEMBER, CLUSTER_MGR_MEMBER_RULES } from '../infra/lib/cluster-mgr-rbac';
import { apiObject, checkLabel, labels } from './common';

export interface FederationMemberProps {
  /**
   * Namespace of the ServiceAccount and its token Secret.
   * @default - 'flotilla-system'
   */
  readonly namespace?: string;
  /**
   * Leave out one verb of one resource (tests: the daemon must report the 403).
   * @default - every rule of CLUSTER_MGR_MEMBER_RULES
   */
  readonly without?: { readonly resource: string; readonly verb: string };
}

export class FederationMember extends Construct {
  /** ServiceAccount name (subject of the ClusterRoleBinding). */
  readonly serviceAccountName: string = CLUSTER_MGR_MEMBER.serviceAccount;
  readonly namespace: string;

  constructor(scope: Construct, id: string, props: FederationMemberProps = {}) {
    super(scope, id);
    const ns = props.namespace ?? CLUSTER_MGR_MEMBER.namespace;
    checkLabel('FederationMember', 'namespace', ns);
    this.namespace = ns;
    const lbl = labels('cluster-mgr', 'cluster-mgr-member');
    const sa = CLUSTER_MGR_MEMBER.serviceAccount;
    apiObject(this, 'Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    apiObject(this, 'Resource', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns, labels: lbl }, automountServiceAccountToken: false });
    const w = props.without;
    const rules = CLUSTER_MGR_MEMBER_RULES.map((r) =>
      w && (r.resources ?? r.nonResourceURLs ?? []).includes(w.resource) ? { ...r, verbs: r.verbs.filter((v) => v !== w.verb) } : r,
    ).filter((r) => r.verbs.length > 0);
    apiObject(this, 'ClusterRole', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: CLUSTER_MGR_MEMBER.clusterRole, labels: lbl },
      rules: rules.map((r) => ({ ...r, verbs: [...r.verbs] })),
    });
    apiObject(this, 'ClusterRoleBinding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: CLUSTER_MGR_MEMBER.clusterRole, labels: lbl },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CLUSTER_MGR_MEMBER.clusterRole },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    });
    // Filled in by the token controller; Pulumi reads it (a secret output), never written to disk.
    apiObject(this, 'TokenSecret', {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: CLUSTER_MGR_MEMBER.tokenSecret, namespace: ns, labels: lbl, annotations: { 'kubernetes.io/service-account.name': sa } },
    });
  }
}
