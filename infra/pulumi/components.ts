// Pulumi components (thin): they turn the pure plans of plan.ts / hosts.ts into resources.
//   Site ─┬─ HostLayer per cluster (remote.Command per node: API-VIP static pods, containerd config,
//         │  certs.d hosts.toml + site/peer CA, the registry credentials in containerd's CRI drop-in)
//         └─ ClusterPlatform per cluster (after its HostLayer): k8s.Provider from the kubeconfig →
//            foundation ConfigGroup (namespaces, CRDs) → Secrets → pinned Helm charts → one
//            ConfigGroup per component, each after the charts its objects need.
import * as command from '@pulumi/command';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { chartSource } from './airgap';
import { ClusterMgrAccess } from './cluster-mgr';
import { needsSecrets, sha256, withSecrets, type HostPlan } from './hosts';
import { chartOrder, type ClusterEndpoints, type ClusterPlan, type SecretRef } from './plan';

/** Secret material by source; every value should be a Pulumi secret. */
export type SecretValues = Partial<Record<SecretRef['from'], pulumi.Input<string>>>;

export interface ClusterPlatformArgs {
  readonly plan: ClusterPlan;
  /** Kubeconfig content of this cluster (a secret). */
  readonly kubeconfig: pulumi.Input<string>;
  /** Unpacked bundle directory: charts load from its `charts/*.tgz`. @default - upstream repositories */
  readonly bundleDir?: string;
  readonly secretValues: SecretValues;
  readonly endpoints: ClusterEndpoints;
  /** Resources the cluster needs first (its host layer: API VIP, registry mirrors). @default - none */
  readonly after?: readonly pulumi.Resource[];
}

/** One cluster's platform: provider, charts and the synthesized objects, in dependency order. */
export class ClusterPlatform extends pulumi.ComponentResource {
  readonly provider: k8s.Provider;
  readonly foundation: k8s.yaml.v2.ConfigGroup;
  readonly charts: Readonly<Record<string, k8s.helm.v4.Chart>>;
  readonly groups: Readonly<Record<string, k8s.yaml.v2.ConfigGroup>>;
  readonly secrets: Readonly<Record<string, k8s.core.v1.Secret>>;
  readonly endpoints: ClusterEndpoints;

  constructor(name: string, args: ClusterPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super('flotilla:platform:ClusterPlatform', name, {}, opts);
    const { plan } = args;
    this.endpoints = args.endpoints;
    this.provider = new k8s.Provider(`${name}-provider`, { kubeconfig: pulumi.secret(args.kubeconfig) }, { parent: this, dependsOn: [...(args.after ?? [])] });
    const k8sOpts = (dependsOn: pulumi.Resource[] = []): pulumi.CustomResourceOptions => ({ parent: this, provider: this.provider, dependsOn });

    this.foundation = new k8s.yaml.v2.ConfigGroup(`${name}-foundation`, { objs: [...plan.foundation] }, k8sOpts());

    const secrets: Record<string, k8s.core.v1.Secret> = {};
    for (const s of plan.secrets) {
      const stringData: Record<string, pulumi.Input<string>> = {};
      for (const [key, ref] of Object.entries(s.stringData)) {
        const v = ref.from === 'literal' ? ref.value : args.secretValues[ref.from];
        if (v === undefined) throw new pulumi.RunError(`secret ${s.namespace}/${s.name}: no value for ${key} (flotilla:${ref.from} is not set)`);
        stringData[key] = ref.from === 'literal' ? v : pulumi.secret(v);
      }
      secrets[s.id] = new k8s.core.v1.Secret(
        `${name}-secret-${s.id}`,
        { metadata: { name: s.name, namespace: s.namespace, labels: { 'app.kubernetes.io/managed-by': 'flotilla' } }, type: s.type, stringData },
        k8sOpts([this.foundation]),
      );
    }
    this.secrets = secrets;

    for (const w of plan.warnings) void pulumi.log.warn(w, this);
    const charts: Record<string, k8s.helm.v4.Chart> = {};
    const chartPlans = new Map(plan.charts.map((c) => [c.release.id, c]));
    for (const id of chartOrder(plan.charts)) {
      const c = chartPlans.get(id)!;
      const rel = c.release;
      charts[id] = new k8s.helm.v4.Chart(
        `${name}-${id}`,
        { ...chartSource(rel, args.bundleDir), name: rel.id, namespace: rel.namespace, values: rel.values },
        k8sOpts([this.foundation, ...c.afterCharts.map((d) => charts[d]!)]),
      );
    }
    this.charts = charts;

    const groups: Record<string, k8s.yaml.v2.ConfigGroup> = {};
    for (const g of plan.groups) {
      groups[g.component] = new k8s.yaml.v2.ConfigGroup(
        `${name}-${g.component}`,
        { objs: [...g.objects] },
        k8sOpts([this.foundation, ...g.afterCharts.map((d) => charts[d]!), ...g.afterSecrets.map((s) => secrets[s]!)]),
      );
    }
    this.groups = groups;
    this.registerOutputs({ endpoints: args.endpoints });
  }
}

export interface SshArgs {
  readonly user: string;
  readonly port: number;
  /** Per-dial connect timeout in whole seconds. @default - the provider's (15 s) */
  readonly timeoutSeconds?: number;
  /** Private key content (a secret). */
  readonly privateKey: pulumi.Input<string>;
  readonly bastion?: { readonly host: string; readonly port: number; readonly user: string; readonly hostKey?: string };
}

export interface HostLayerArgs {
  readonly hosts: readonly HostPlan[];
  readonly ssh: SshArgs;
  /** The site registry password (a secret), for host files that carry the registry's credentials. @default - none */
  readonly registryPassword?: pulumi.Input<string>;
  /** cluster-mgr's API token and member kubeconfigs (secrets), for the ops host's files. @default - none */
  readonly clusterMgr?: { readonly apiToken: pulumi.Input<string>; readonly kubeconfigs: pulumi.Input<Record<string, string>> };
}

/** Writes the rendered host files to each node over SSH; re-runs a node only when its files change. */
export class HostLayer extends pulumi.ComponentResource {
  readonly commands: Readonly<Record<string, command.remote.Command>>;

  constructor(name: string, args: HostLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('flotilla:hosts:HostLayer', name, {}, opts);
    const { ssh } = args;
    const privateKey = pulumi.secret(ssh.privateKey);
    const commands: Record<string, command.remote.Command> = {};
    for (const h of args.hosts) {
      // Files with deploy-time secrets (registry credentials, cluster-mgr's token and kubeconfigs):
      // the script and a second trigger (so a new secret re-runs the command) are built inside a
      // secret, never in plain state. A secret that was not passed fails in withSecrets, naming the
      // file — never a script that writes the file empty.
      const secretFiles = h.files.some(needsSecrets);
      const cm = args.clusterMgr;
      const filled = secretFiles
        ? pulumi
            .all([args.registryPassword, cm?.apiToken, cm?.kubeconfigs])
            .apply(([registryPassword, clusterMgrToken, kubeconfigs]) => withSecrets(h.files, { registryPassword, clusterMgrToken, kubeconfigs }))
        : undefined;
      const create = filled ? pulumi.secret(filled.apply((files) => h.scriptFor(files))) : h.script;
      const triggers = filled ? [h.trigger, pulumi.secret(filled.apply((files) => sha256(files.map((f) => f.content).join('\0'))))] : [h.trigger];
      commands[h.host] = new command.remote.Command(
        `${name}-${h.host}`,
        {
          connection: {
            host: h.address,
            port: ssh.port,
            user: ssh.user,
            privateKey,
            ...(ssh.timeoutSeconds !== undefined ? { perDialTimeout: ssh.timeoutSeconds } : {}),
            ...(h.hostKey ? { hostKey: h.hostKey } : {}),
            ...(ssh.bastion
              ? { proxy: { host: ssh.bastion.host, port: ssh.bastion.port, user: ssh.bastion.user, privateKey, ...(ssh.bastion.hostKey ? { hostKey: ssh.bastion.hostKey } : {}) } }
              : {}),
          },
          create,
          triggers,
        },
        { parent: this },
      );
    }
    this.commands = commands;
    this.registerOutputs({ hosts: args.hosts.map((h) => h.host) });
  }
}

export interface SiteClusterArgs {
  readonly plan: ClusterPlan;
  readonly kubeconfig: pulumi.Input<string>;
  readonly endpoints: ClusterEndpoints;
  readonly hosts: readonly HostPlan[];
}

export interface SiteArgs {
  readonly clusters: readonly SiteClusterArgs[];
  /** Site-level hosts (front hosts): one host layer of their own. @default - none */
  readonly hosts?: readonly HostPlan[];
  /** cluster-mgr's ops host (spec.federation.opsHost): a host layer after cluster-mgr's credentials exist. @default - none */
  readonly opsHost?: HostPlan;
  readonly bundleDir?: string;
  readonly secretValues: SecretValues;
  readonly ssh: SshArgs;
}

/** A site: per cluster its host layer, then its platform. */
export class Site extends pulumi.ComponentResource {
  readonly clusters: Readonly<Record<string, ClusterPlatform>>;
  readonly hostLayers: Readonly<Record<string, HostLayer>>;
  readonly endpoints: Readonly<Record<string, ClusterEndpoints>>;
  /** cluster-mgr's API token and member kubeconfigs (sites whose synthesis has the federation component). */
  readonly clusterMgrAccess?: ClusterMgrAccess;

  constructor(name: string, args: SiteArgs, opts?: pulumi.ComponentResourceOptions) {
    super('flotilla:site:Site', name, {}, opts);
    const clusters: Record<string, ClusterPlatform> = {};
    const hostLayers: Record<string, HostLayer> = {};
    const endpoints: Record<string, ClusterEndpoints> = {};
    for (const c of args.clusters) {
      const cn = c.plan.cluster;
      const hosts = new HostLayer(`${name}-${cn}-hosts`, { hosts: c.hosts, ssh: args.ssh, registryPassword: args.secretValues.registryPassword }, { parent: this });
      hostLayers[cn] = hosts;
      clusters[cn] = new ClusterPlatform(
        `${name}-${cn}`,
        { plan: c.plan, kubeconfig: c.kubeconfig, bundleDir: args.bundleDir, secretValues: args.secretValues, endpoints: c.endpoints, after: [hosts] },
        { parent: this },
      );
      endpoints[cn] = c.endpoints;
    }
    if (args.hosts && args.hosts.length > 0) hostLayers[''] = new HostLayer(`${name}-site-hosts`, { hosts: args.hosts, ssh: args.ssh }, { parent: this });
    // cluster-mgr's credentials: after FederationMember on every member, into the host cluster's namespace.
    const host = args.clusters.find((c) => c.plan.federationNamespace !== undefined);
    if (host) {
      const members = args.clusters.filter((c) => c.plan.memberToken !== undefined);
      this.clusterMgrAccess = new ClusterMgrAccess(
        `${name}-cluster-mgr`,
        {
          hostProvider: clusters[host.plan.cluster]!.provider,
          namespace: host.plan.federationNamespace!,
          after: [clusters[host.plan.cluster]!.foundation],
          members: members.map((c) => {
            const p = clusters[c.plan.cluster]!;
            const group = p.groups['federation-member'];
            return { name: c.plan.cluster, provider: p.provider, server: c.endpoints.apiServer, tokenSecret: c.plan.memberToken!, after: [p.foundation, ...(group ? [group] : [])] };
          }),
        },
        { parent: this },
      );
      if (args.opsHost) {
        const access = this.clusterMgrAccess;
        hostLayers['ops'] = new HostLayer(
          `${name}-ops-hosts`,
          { hosts: [args.opsHost], ssh: args.ssh, clusterMgr: { apiToken: access.apiToken, kubeconfigs: access.kubeconfigs } },
          { parent: this, dependsOn: [access] },
        );
      }
    }
    this.clusters = clusters;
    this.hostLayers = hostLayers;
    this.endpoints = endpoints;
    this.registerOutputs({ endpoints });
  }
}
