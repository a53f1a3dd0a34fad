// cluster-mgr's credentials, built by Pulumi and never written to disk in clear:
//   - the API token for /api/* and /metrics: generated once (`openssl rand -hex 32` through the
//     command provider, its stdout a secret output kept in the encrypted state), stored in the host
//     cluster's `cluster-mgr-api-token` Secret (FederationControl reads it into the daemon's env and
//     the ServiceMonitor's bearerTokenSecret);
//   - `cluster-mgr-kubeconfigs` in the host cluster: one key `<member>.yaml` per member, a kubeconfig
//     with the member's API server, its CA and the token of the member's `cluster-mgr-member`
//     ServiceAccount (FederationMember's token Secret, read back from the member).
// NOT YET WIRED into the Site component (see docs/cluster-mgr.md "Deploying"): reading a token Secret
// the same `pulumi up` creates needs a real-Pulumi test before it goes into every stack.
import * as command from '@pulumi/command';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { stringify } from 'yaml';
import { CLUSTER_MGR_API_TOKEN, CLUSTER_MGR_MEMBER } from '../lib/cluster-mgr-rbac';

/** A kubeconfig for one member: its API server, CA (PEM or base64 of it) and a bearer token. Pure. */
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

export interface ClusterMgrAccessArgs {
  /** Provider of the host cluster (where cluster-mgr runs). */
  readonly hostProvider: k8s.Provider;
  readonly namespace: string;
  /** Every member: its provider, its API server as cluster-mgr reaches it, and what applies FederationMember there. */
  readonly members: readonly { readonly name: string; readonly provider: k8s.Provider; readonly server: string; readonly after: readonly pulumi.Resource[] }[];
}

export class ClusterMgrAccess extends pulumi.ComponentResource {
  readonly apiToken: pulumi.Output<string>;
  readonly kubeconfigs: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ClusterMgrAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super('flotilla:federation:ClusterMgrAccess', name, {}, opts);
    const gen = new command.local.Command(`${name}-api-token`, { create: 'openssl rand -hex 32', logging: 'none' }, { parent: this, additionalSecretOutputs: ['stdout'] });
    this.apiToken = pulumi.secret(gen.stdout.apply((s) => s.trim()));
    new k8s.core.v1.Secret(
      `${name}-api-token-secret`,
      { metadata: { name: CLUSTER_MGR_API_TOKEN.secret, namespace: args.namespace }, stringData: { [CLUSTER_MGR_API_TOKEN.key]: this.apiToken } },
      { parent: this, provider: args.hostProvider },
    );
    const entries = args.members.map((m) => {
      const tokenSecret = k8s.core.v1.Secret.get(`${name}-${m.name}-member-token`, `${CLUSTER_MGR_MEMBER.namespace}/${CLUSTER_MGR_MEMBER.tokenSecret}`, { parent: this, provider: m.provider, dependsOn: [...m.after] });
      const data = pulumi.secret(tokenSecret.data);
      return data.apply((d0) => { const d = d0 ?? {}; return [`${m.name}.yaml`, memberKubeconfig({ member: m.name, server: m.server, caBase64: d['ca.crt'] ?? '', token: Buffer.from(d.token ?? '', 'base64').toString('utf8') })] as const; });
    });
    this.kubeconfigs = pulumi.secret(pulumi.all(entries).apply((es) => Object.fromEntries(es)));
    new k8s.core.v1.Secret(`${name}-kubeconfigs`, { metadata: { name: 'cluster-mgr-kubeconfigs', namespace: args.namespace }, stringData: this.kubeconfigs }, { parent: this, provider: args.hostProvider });
    this.registerOutputs({});
  }
}
