// cluster-mgr's credentials, built by Pulumi and never written to disk or to the state in clear:
//   - the API token for /api/* and /metrics: generated once by the program (32 random bytes, hex) and
//     kept by the host cluster's `cluster-mgr-api-token` Secret, whose `data` later runs ignore
//     (so the first value stays; the state holds it encrypted). FederationControl reads it into the
//     daemon's env and the ServiceMonitor's bearerTokenSecret; the ops host gets it as api-token.env;
//   - per member, the `cluster-mgr-member-token` service-account token Secret (FederationMember's
//     object, created here so that Pulumi waits until the token controller has filled it), and from its
//     token and CA the member's kubeconfig, one key `<member>.yaml` of `cluster-mgr-kubeconfigs` in the
//     host cluster (the Deployment mounts it at /etc/cluster-mgr/kubeconfigs).
import { randomBytes } from 'node:crypto';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { stringify } from 'yaml';
import { CLUSTER_MGR_API_TOKEN, CLUSTER_MGR_KUBECONFIGS } from '../lib/cluster-mgr-rbac';
import type { K8sObject } from '../synth/types';

/** A kubeconfig for one member: its API server, CA (base64 of the PEM) and a bearer token. Pure. */
export function memberKubeconfig(o: { readonly member: string; readonly server: string; readonly caBase64: string; readonly token: string }): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: o.member, cluster: { server: o.server, 'certificate-authority-data': o.caBase64 } }],
    users: [{ name: `cluster-mgr@${o.member}`, user: { token: o.token } }],
    contexts: [{ name: o.member, context: { cluster: o.member, user: `cluster-mgr@${o.member}` } }],
    'current-context': o.member,
  });
}

/**
 * The member's kubeconfig from its token Secret's `data` (base64 values, as the API returns them).
 * Throws, naming the member and the Secret, when the token controller has not filled it. Pure.
 */
export function kubeconfigFromTokenData(member: string, server: string, data: Readonly<Record<string, string>> | undefined, secret: string): string {
  const token = data?.token ? Buffer.from(data.token, 'base64').toString('utf8') : '';
  const ca = data?.['ca.crt'] ?? '';
  if (token === '' || ca === '') {
    throw new Error(`member ${member}: the Secret ${secret} has no ${token === '' ? 'token' : 'ca.crt'}: is kube-controller-manager running with --service-account-private-key-file and --root-ca-file? Re-run \`pulumi up\` once it is`);
  }
  return memberKubeconfig({ member, server, caBase64: ca, token });
}

/** The waitFor annotation that makes the Kubernetes provider wait until the token is there. */
export const WAIT_FOR_TOKEN = { 'pulumi.com/waitFor': 'jsonpath={.data.token}' } as const;

/** A fresh API token: 32 random bytes as hex (the project's own generator; kept once created). */
export const newApiToken = (): string => randomBytes(32).toString('hex');

export interface ClusterMgrMember {
  readonly name: string;
  readonly provider: k8s.Provider;
  /** The member's API server as cluster-mgr reaches it (`https://<apiVIP>:6443` from the inventory). */
  readonly server: string;
  /** The synthesized service-account token Secret (FederationMember's `TokenSecret`). */
  readonly tokenSecret: K8sObject;
  /** What applies FederationMember there (its ServiceAccount must exist before the token Secret). */
  readonly after: readonly pulumi.Resource[];
}

export interface ClusterMgrAccessArgs {
  /** Provider of the host cluster (where cluster-mgr runs). */
  readonly hostProvider: k8s.Provider;
  /** cluster-mgr's namespace in the host cluster. */
  readonly namespace: string;
  readonly members: readonly ClusterMgrMember[];
  /** What creates `namespace` in the host cluster. @default - none */
  readonly after?: readonly pulumi.Resource[];
}

/** cluster-mgr's API token and member kubeconfigs: Secrets in the host cluster, secret outputs here. */
export class ClusterMgrAccess extends pulumi.ComponentResource {
  /** The API token (a Pulumi secret). */
  readonly apiToken: pulumi.Output<string>;
  /** `<member>` → kubeconfig (a Pulumi secret). */
  readonly kubeconfigs: pulumi.Output<Record<string, string>>;
  readonly apiTokenSecret: k8s.core.v1.Secret;
  readonly kubeconfigsSecret: k8s.core.v1.Secret;

  constructor(name: string, args: ClusterMgrAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super('flotilla:federation:ClusterMgrAccess', name, {}, opts);
    const secretOpts = { additionalSecretOutputs: ['data', 'stringData'] };
    const labels = { 'app.kubernetes.io/managed-by': 'flotilla', 'app.kubernetes.io/part-of': 'cluster-mgr' };
    this.apiTokenSecret = new k8s.core.v1.Secret(
      `${name}-api-token`,
      { metadata: { name: CLUSTER_MGR_API_TOKEN.secret, namespace: args.namespace, labels }, type: 'Opaque', data: { [CLUSTER_MGR_API_TOKEN.key]: pulumi.secret(Buffer.from(newApiToken()).toString('base64')) } },
      // The first token stays: later runs generate another value, which this ignores.
      { parent: this, provider: args.hostProvider, dependsOn: [...(args.after ?? [])], ignoreChanges: ['data'], ...secretOpts },
    );
    this.apiToken = pulumi.secret(this.apiTokenSecret.data.apply((d) => Buffer.from(d?.[CLUSTER_MGR_API_TOKEN.key] ?? '', 'base64').toString('utf8')));

    const entries = args.members.map((m) => {
      const md = m.tokenSecret.metadata;
      const annotations = { ...((md.annotations ?? {}) as Record<string, string>), ...WAIT_FOR_TOKEN };
      const token = new k8s.core.v1.Secret(
        `${name}-${m.name}-member-token`,
        { ...(m.tokenSecret as k8s.core.v1.SecretArgs), metadata: { ...md, annotations } } as k8s.core.v1.SecretArgs,
        { parent: this, provider: m.provider, dependsOn: [...m.after], ...secretOpts },
      );
      const id = `${md.namespace ?? 'default'}/${md.name}`;
      return pulumi.secret(token.data).apply((d) => [m.name, kubeconfigFromTokenData(m.name, m.server, d, id)] as const);
    });
    this.kubeconfigs = pulumi.secret(pulumi.all(entries).apply((es) => Object.fromEntries(es)));
    this.kubeconfigsSecret = new k8s.core.v1.Secret(
      `${name}-kubeconfigs`,
      {
        metadata: { name: CLUSTER_MGR_KUBECONFIGS.secret, namespace: args.namespace, labels },
        type: 'Opaque',
        stringData: this.kubeconfigs.apply((k) => Object.fromEntries(Object.entries(k).map(([member, cfg]) => [`${member}.yaml`, cfg]))),
      },
      { parent: this, provider: args.hostProvider, dependsOn: [...(args.after ?? [])], ...secretOpts },
    );
    this.registerOutputs({});
  }
}
