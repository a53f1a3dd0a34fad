// What cluster-mgr may do, written once as data: the member ClusterRole (constructs/federation-member.ts
// renders it; the daemon's requests are checked against it in tests) and the host-cluster Role
// (Lease + FederatedApp CRs). Derived from the requests cluster-mgr/adapters/kube.ts makes:
//
//   probe           GET /readyz, GET /api/v1/nodes (before the node informer has listed)
//   informers       list + watch nodes, pods, deployments (label managed-by=cluster-mgr), cluster-wide
//   reconcile       server-side apply (PATCH; create when missing) of deployments
//   namespaces      POST (create; 409 AlreadyExists is fine) of the app's namespace
//   propagation     list + watch (and GET) configmaps/secrets/services/PVCs/PVs on the source member
//                   (the kinds apps propagate); apply (PATCH/create) configmaps, secrets and services,
//                   DELETE them when gone from the source or the app; GET + POST (create only, never
//                   delete) PVCs and PVs on the others
//   CR removal      DELETE of the Deployment of a deleted FederatedApp
//
// Also the pure mapping from an HTTP request to the RBAC attributes it is authorised by
// (`requestAttributes`), so a 403 names the verb and resource it was refused.

export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
  readonly verbs: readonly string[];
}

/** The member ClusterRole's rules: exactly what cluster-mgr does on a member cluster. */
export const CLUSTER_MGR_MEMBER_RULES: readonly PolicyRule[] = [
  { nonResourceURLs: ['/readyz'], verbs: ['get'] },
  { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['namespaces'], verbs: ['create'] },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['configmaps', 'secrets', 'services'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['persistentvolumeclaims', 'persistentvolumes'], verbs: ['get', 'list', 'watch', 'create'] },
];

/** Names of the member-side objects (in every member cluster). */
export const CLUSTER_MGR_MEMBER = {
  namespace: 'flotilla-system',
  serviceAccount: 'cluster-mgr-member',
  clusterRole: 'flotilla-cluster-mgr-member',
  /** The `kubernetes.io/service-account-token` Secret Pulumi reads the member's token from. */
  tokenSecret: 'cluster-mgr-member-token',
} as const;

/** The Secret (host cluster, cluster-mgr's namespace) with one kubeconfig per member, `<member>.yaml`; mounted (and on the ops host written) at `dir`. */
export const CLUSTER_MGR_KUBECONFIGS = { secret: 'cluster-mgr-kubeconfigs', dir: '/etc/cluster-mgr/kubeconfigs' } as const;

/** The Secret (host cluster, cluster-mgr's namespace) with the generated bearer token for /api/* and /metrics. */
export const CLUSTER_MGR_API_TOKEN = { secret: 'cluster-mgr-api-token', key: 'token', env: 'CLUSTER_MGR_TOKEN' } as const;

/**
 * cluster-mgr's client certificate for the front hosts' HAProxy runtime API (mutual TLS; CN =
 * `spec.front.runtimeApi.clientName`, signed by the site CA the front trusts): a kubernetes.io/tls
 * Secret in the host cluster, mounted in the pod at `dir` (and the same files on the ops host).
 */
export const CLUSTER_MGR_FRONT_TLS = { secret: 'cluster-mgr-front-tls', dir: '/etc/cluster-mgr/front-tls', ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

/**
 * The shape of that client certificate, written once: what the synthesized cert-manager Certificate
 * asks for (host cluster) and what `flotilla install` issues for the ops host. HAProxy (OpenSSL)
 * accepts a client certificate only with the clientAuth extended key usage; ECDSA P-256 like every
 * certificate Flotilla issues. The signer is always the site CA the front hosts trust (their
 * client-ca.pem, written by `flotilla install --ca-cert/--ca-key`): in the host cluster a namespaced
 * CA Issuer (`issuer`) whose key pair is the Secret `caSecret`, filled by the Pulumi program from
 * flotilla:caCert/caKey — never the site ClusterIssuer (ACME cannot sign client certificates, and a
 * private-CA site's in-cluster self-signed root is not what the front trusts).
 */
export const CLUSTER_MGR_FRONT_CLIENT_CERT = {
  usages: ['digital signature', 'client auth'],
  privateKey: { algorithm: 'ECDSA', size: 256 },
  /** cert-manager renews it by itself. */
  duration: '2160h',
  renewBefore: '720h',
  /** `flotilla install` (ops host): valid this long, re-issued by an install run with under 30 days left. */
  installDays: 365,
  issuer: 'cluster-mgr-front-ca',
  caSecret: 'cluster-mgr-front-ca',
} as const;

/** The RBAC attributes a request is authorised by (what kube-apiserver's RequestInfo derives). */
export interface RequestAttributes {
  readonly verb: string;
  /** `resource` or `resource/subresource`, with `.group` for a named group (`deployments.apps`); a non-resource URL as is. */
  readonly resource: string;
  readonly namespace?: string;
}

const VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** Maps `METHOD /api/v1/namespaces/x/pods?watch=1` to `{verb: 'watch', resource: 'pods', namespace: 'x'}`. */
export function requestAttributes(method: string, url: string): RequestAttributes {
  const [path = '', query = ''] = url.split('?');
  const parts = path.split('/').filter(Boolean);
  const m = method.toUpperCase();
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    rest = parts.slice(3);
  } else {
    return { verb: m === 'GET' || m === 'HEAD' ? 'get' : (VERBS[m] ?? m.toLowerCase()), resource: path || '/' };
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = decodeURIComponent(rest[1]!);
    rest = rest.slice(2);
  }
  const [plural = '', name, sub] = rest;
  if (plural === 'namespaces' && name !== undefined && namespace === undefined) namespace = decodeURIComponent(name);
  const watch = /(^|&)watch=(1|true)(&|$)/.test(query);
  const verb = m === 'GET' || m === 'HEAD' ? (watch ? 'watch' : name === undefined ? 'list' : 'get') : m === 'DELETE' && name === undefined ? 'deletecollection' : (VERBS[m] ?? m.toLowerCase());
  const resource = `${plural}${sub ? `/${sub}` : ''}${group ? `.${group}` : ''}`;
  return { verb, resource, ...(namespace !== undefined ? { namespace } : {}) };
}

/** True when `rules` grant `attrs` (resource names and namespaces are not modelled: ClusterRole rules). */
export function rulesAllow(rules: readonly PolicyRule[], attrs: RequestAttributes): boolean {
  const isUrl = attrs.resource.startsWith('/');
  const dot = attrs.resource.indexOf('.');
  const resource = isUrl ? attrs.resource : dot < 0 ? attrs.resource : attrs.resource.slice(0, dot);
  const group = isUrl || dot < 0 ? '' : attrs.resource.slice(dot + 1);
  return rules.some((r) => {
    if (!r.verbs.includes(attrs.verb) && !r.verbs.includes('*')) return false;
    if (isUrl) return (r.nonResourceURLs ?? []).includes(attrs.resource);
    return (r.apiGroups ?? []).includes(group) && (r.resources ?? []).includes(resource);
  });
}
