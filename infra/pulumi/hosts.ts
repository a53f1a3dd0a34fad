// Host layer plan (pure): which rendered host files go to which node, at which remote path, the
// shell script that installs them atomically, the content hash that triggers a re-run, and the
// pinned host key from known_hosts.
import { createHash } from 'node:crypto';
import { HOST_PATHS, hostFileDestination, RESTART_COMMANDS, type HostFileDestination } from '../lib/host-files';
import { shq } from '../lib/shell';
import { CLUSTER_MGR_API_TOKEN, CLUSTER_MGR_KUBECONFIGS } from '../lib/cluster-mgr-rbac';
import { CLUSTER_MGR_HOST_DIR, CLUSTER_MGR_HOST_EXEC, CONTAINERD_CRI_DROP_IN, renderContainerdAuths, type RenderedFile } from '../render/index';
import type { Site } from '../site/index';
import { siteHosts } from '../site/hosts';
import { pinnedKey, type KnownHostEntry } from '../site/known-hosts';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface HostFile {
  /** Rendered path, relative to `OUT/<site>/`. */
  readonly source: string;
  readonly remotePath: string;
  readonly mode: string;
  readonly content: string;
  /** Restarted once after this file changed on the node. */
  readonly restart?: HostFileDestination['restart'];
  /**
   * The site registry's credentials are appended at deploy time (containerd's CRI drop-in): the
   * password is a Pulumi secret, so it is in neither the plan nor `flotilla synth` output.
   */
  readonly registryAuth?: { readonly registry: string; readonly username: string };
  /**
   * cluster-mgr's credentials on the ops host, filled at deploy time from Pulumi secrets (the plan's
   * `content` is empty): the API token as `api-token.env`, or one member's kubeconfig.
   */
  readonly clusterMgrSecret?: { readonly kind: 'apiToken' } | { readonly kind: 'kubeconfig'; readonly member: string };
}

export interface HostPlan {
  readonly host: string;
  readonly roles: readonly string[];
  /** The node's cluster; '' for site-level hosts (front hosts). */
  readonly cluster: string;
  readonly address: string;
  readonly files: readonly HostFile[];
  /** Installs every file (temp file + rename, static pod manifests last). */
  readonly script: string;
  /**
   * The same script for these files with their deploy-time secrets filled in (HostLayer builds it
   * inside a Pulumi secret): installScript, or the ops host's clusterMgrOpsScript.
   */
  readonly scriptFor: (files: readonly HostFile[]) => string;
  /** sha256 over every file's remote path, mode and content: the command's trigger. */
  readonly trigger: string;
  /** `<type> <base64>` from known_hosts, when the host is listed there. */
  readonly hostKey?: string;
}

/**
 * The install script: every file written to a temp file in its folder and renamed into place (an
 * unchanged file is left alone); a service whose config changed (containerd) is restarted once,
 * before the static pods are written, so they are pulled with the new registry config.
 */
export function installScript(files: readonly HostFile[]): string {
  // Static pod manifests go last, so the pods start with their config already in place. Temp
  // files start with '.', which kubelet ignores in the manifests folder.
  const isPod = (f: HostFile) => f.remotePath.includes('/manifests/');
  const ordered = [...files].sort((a, b) => Number(isPod(a)) - Number(isPod(b)) || a.remotePath.localeCompare(b.remotePath));
  const restarts = [...new Set(files.flatMap((f) => (f.restart ? [f.restart] : [])))].sort();
  const put = (f: HostFile) => {
    const line = `put ${f.mode} ${shq(f.remotePath)} ${Buffer.from(f.content, 'utf8').toString('base64')}`;
    return f.restart ? `${line} restart_${f.restart}` : line;
  };
  const lines = [
    'set -eu',
    'umask 077',
    // put MODE PATH BASE64 [FLAG]: sets the variable FLAG=1 when the file changed (errexit stays on).
    'put() { d=$(dirname "$2"); mkdir -p "$d"; t=$(mktemp "$d/.flotilla.XXXXXX"); printf %s "$3" | base64 -d > "$t"; chmod "$1" "$t"; if [ -f "$2" ] && cmp -s "$t" "$2"; then rm -f "$t"; chmod "$1" "$2"; return 0; fi; mv -f "$t" "$2"; if [ -n "${4:-}" ]; then eval "$4=1"; fi; }',
    ...restarts.map((r) => `restart_${r}=`),
    ...ordered.filter((f) => !isPod(f)).map(put),
    ...restarts.map((r) => `if [ -n "$restart_${r}" ]; then ${RESTART_COMMANDS[r]}; fi`),
    ...ordered.filter(isPod).map(put),
  ];
  return `${lines.join('\n')}\n`;
}

export interface DeploySecrets {
  readonly registryPassword?: string;
  /** cluster-mgr's API token (ClusterMgrAccess). */
  readonly clusterMgrToken?: string;
  /** cluster-mgr's member kubeconfigs by member (ClusterMgrAccess). */
  readonly kubeconfigs?: Readonly<Record<string, string>>;
}

/** True when a file gets a secret at deploy time (its command is then built inside a Pulumi secret). */
export const needsSecrets = (f: HostFile): boolean => f.registryAuth !== undefined || f.clusterMgrSecret !== undefined;

/**
 * The files with their deploy-time secrets filled in: the registry password appended as containerd
 * auth, cluster-mgr's API token and member kubeconfigs on the ops host.
 */
export function withSecrets(files: readonly HostFile[], secrets: DeploySecrets): HostFile[] {
  return files.map((f) => {
    const c = f.clusterMgrSecret;
    if (c?.kind === 'apiToken') {
      const token = secrets.clusterMgrToken ?? '';
      if (!/^[A-Za-z0-9._~+/=-]+$/.test(token)) throw new Error(`${f.remotePath}: needs cluster-mgr's API token (one word, no spaces or quotes)`);
      return { ...f, content: `${CLUSTER_MGR_API_TOKEN.env}=${token}\n` };
    }
    if (c?.kind === 'kubeconfig') {
      const cfg = secrets.kubeconfigs?.[c.member];
      if (cfg === undefined) throw new Error(`${f.remotePath}: no kubeconfig for member ${c.member}`);
      return { ...f, content: cfg };
    }
    if (!f.registryAuth) return f;
    if (secrets.registryPassword === undefined) throw new Error(`${f.remotePath}: needs the registry password (flotilla:registryPassword)`);
    return { ...f, content: f.content + renderContainerdAuths([{ ...f.registryAuth, password: secrets.registryPassword }]) };
  });
}

export { parseKnownHosts, type KnownHostEntry as KnownHost } from '../site/known-hosts';

/** The pinned key of a host (tried by each of `names`: address, node name), `type base64`. */
export function hostKeyFor(known: readonly KnownHostEntry[], names: readonly string[], port: number): string | undefined {
  return pinnedKey(known, names, port);
}

/**
 * One plan per node that has host files: masters get the API-VIP static pods and their configs,
 * every node gets containerd's hosts.toml. Nodes are in inventory order; files in rendered order.
 */
export interface PlanHostsOptions {
  /** User of the site registry: containerd's CRI drop-in gets its credentials at deploy time. @default - no credentials */
  readonly registryUser?: string;
}

export function planHosts(site: Site, files: readonly RenderedFile[], known: readonly KnownHostEntry[] = [], opts: PlanHostsOptions = {}): HostPlan[] {
  const criDropIn = `${HOST_PATHS.containerdDropInDir}/${CONTAINERD_CRI_DROP_IN}`;
  const byHost = new Map<string, RenderedFile[]>();
  for (const f of files) {
    const m = /^hosts\/([^/]+)\/(.+)$/.exec(f.path);
    if (!m) continue;
    byHost.set(m[1]!, [...(byHost.get(m[1]!) ?? []), f]);
  }
  const plans: HostPlan[] = [];
  // Nodes, then front hosts (spec.front; `cluster` is '': the site-level host layer). The ops host follows.
  {
    for (const node of siteHosts(site).filter((h) => h.kind !== 'ops')) {
      const rendered = byHost.get(node.name);
      if (!rendered) continue;
      const hostFiles = rendered.map((f) => {
        const rel = f.path.slice(`hosts/${node.name}/`.length);
        const table = hostFileDestination(rel);
        const remotePath = f.hostPath ?? table?.dest;
        if (remotePath === undefined) throw new Error(`${f.path}: not a host file (no hostPath, and hosts/<node>/${rel} is not in infra/lib/host-files)`);
        return {
          source: f.path,
          remotePath,
          mode: f.mode !== undefined ? f.mode.toString(8).padStart(4, '0') : (table?.mode ?? '0644'),
          content: f.content,
          ...(table?.restart ? { restart: table.restart } : {}),
          ...(opts.registryUser !== undefined && remotePath === criDropIn ? { registryAuth: { registry: site.spec.registry.host, username: opts.registryUser } } : {}),
        };
      });
      const trigger = sha256(hostFiles.map((f) => `${f.remotePath}\0${f.mode}\0${f.content}`).join('\0\0'));
      const hostKey = hostKeyFor(known, [node.address, node.name], site.spec.ssh.port);
      plans.push({
        host: node.name,
        cluster: node.cluster,
        address: node.address,
        roles: node.roles,
        files: hostFiles,
        script: installScript(hostFiles),
        scriptFor: installScript,
        trigger,
        ...(hostKey ? { hostKey } : {}),
      });
    }
  }
  const ops = site.spec.federation.opsHost;
  const opsFiles = ops ? byHost.get(ops.name) : undefined;
  if (ops && opsFiles) {
    // cluster-mgr outside Kubernetes: the unit and its config (paths from the renderer), its
    // credentials (filled at deploy time from Pulumi secrets), then the service user and a restart.
    const files: HostFile[] = [
      ...opsFiles.map((f) => ({ source: f.path, remotePath: f.hostPath!, mode: (f.mode ?? 0o644).toString(8).padStart(4, '0'), content: f.content })),
      ...clusterMgrSecretFiles(ops.name, site.spec.clusters.map((c) => c.name)),
    ];
    const trigger = sha256(files.map((f) => `${f.remotePath}\0${f.mode}\0${f.content}`).join('\0\0'));
    const hostKey = hostKeyFor(known, [ops.address, ops.name], site.spec.ssh.port);
    plans.push({
      host: ops.name,
      // Site-level: its own host layer, after the clusters (it needs the credentials Pulumi reads from them).
      cluster: '',
      address: ops.address,
      roles: ['ops'],
      files,
      script: clusterMgrOpsScript(files),
      scriptFor: clusterMgrOpsScript,
      trigger,
      ...(hostKey ? { hostKey } : {}),
    });
  }
  return plans;
}

/** The ops host's secret files (content filled at deploy time): api-token.env and one kubeconfig per member. */
export function clusterMgrSecretFiles(host: string, members: readonly string[]): HostFile[] {
  return [
    { source: `secret:hosts/${host}/cluster-mgr/api-token.env`, remotePath: `${CLUSTER_MGR_HOST_DIR}/api-token.env`, mode: '0640', content: '', clusterMgrSecret: { kind: 'apiToken' } },
    ...members.map((m): HostFile => ({
      source: `secret:hosts/${host}/cluster-mgr/kubeconfigs/${m}.yaml`,
      remotePath: `${CLUSTER_MGR_KUBECONFIGS.dir}/${m}.yaml`,
      mode: '0640',
      content: '',
      clusterMgrSecret: { kind: 'kubeconfig', member: m },
    })),
  ];
}

/** The ops host's whole script: the daemon must be installed, then the files, the user, the restart. */
export const clusterMgrOpsScript = (files: readonly HostFile[]): string => `${CLUSTER_MGR_PRECHECK}${installScript(files)}${CLUSTER_MGR_UNIT_SCRIPT}`;

/** Before anything is written: the unit's ExecStart must exist (installed by the operator: docs/cluster-mgr.md). */
export const CLUSTER_MGR_PRECHECK = `if [ ! -x ${shq(CLUSTER_MGR_HOST_EXEC)} ]; then echo ${shq(`cluster-mgr: ${CLUSTER_MGR_HOST_EXEC} is missing on this host: install the daemon first: flotilla install puts it there from the bundle (docs/cluster-mgr.md, "systemd"); nothing was changed`)} >&2; exit 1; fi\n`;

/** After the unit's files: its system user, the group on the credentials (0640 root:cluster-mgr), then (re)start it. */
export const CLUSTER_MGR_UNIT_SCRIPT = [
  'id -u cluster-mgr >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin cluster-mgr',
  `chown -R root:cluster-mgr ${CLUSTER_MGR_HOST_DIR} && find ${CLUSTER_MGR_HOST_DIR} -type d -exec chmod 0750 {} +`,
  'systemctl daemon-reload',
  'systemctl enable cluster-mgr.service',
  'systemctl restart cluster-mgr.service',
  '',
].join('\n');

/** Host file folders the rendered output has for nodes that are not in the inventory (a renderer bug). */
export function unknownHosts(site: Site, files: readonly RenderedFile[]): string[] {
  const nodes = new Set([...site.spec.clusters.flatMap((c) => c.nodes.map((n) => n.name)), ...(site.spec.front?.hosts ?? []).map((h) => h.name)]);
  if (site.spec.federation.opsHost) nodes.add(site.spec.federation.opsHost.name);
  return [...new Set(files.map((f) => /^hosts\/([^/]+)\//.exec(f.path)?.[1]).filter((h): h is string => !!h && !nodes.has(h)))].sort();
}
