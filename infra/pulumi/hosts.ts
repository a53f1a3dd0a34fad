// Host layer plan (pure): which rendered host files go to which node, at which remote path, the
// shell script that installs them atomically, the content hash that triggers a re-run, and the
// pinned host key from known_hosts.
import { createHash } from 'node:crypto';
import { hostFileDestination } from '../lib/host-files';
import { shq } from '../lib/shell';
import type { RenderedFile } from '../render/index';
import type { Site } from '../site/index';
import { pinnedKey, type KnownHostEntry } from '../site/known-hosts';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface HostFile {
  /** Rendered path, relative to `OUT/<site>/`. */
  readonly source: string;
  readonly remotePath: string;
  readonly mode: string;
  readonly content: string;
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
  /** sha256 over every file's remote path, mode and content: the command's trigger. */
  readonly trigger: string;
  /** `<type> <base64>` from known_hosts, when the host is listed there. */
  readonly hostKey?: string;
}

/** The install script: every file written to a temp file in its folder and renamed into place. */
export function installScript(files: readonly HostFile[]): string {
  // Static pod manifests go last, so the pods start with their config already in place. Temp
  // files start with '.', which kubelet ignores in the manifests folder.
  const ordered = [...files].sort((a, b) => Number(a.remotePath.includes('/manifests/')) - Number(b.remotePath.includes('/manifests/')) || a.remotePath.localeCompare(b.remotePath));
  const lines = [
    'set -eu',
    'umask 077',
    'put() { d=$(dirname "$2"); mkdir -p "$d"; t=$(mktemp "$d/.flotilla.XXXXXX"); printf %s "$3" | base64 -d > "$t"; chmod "$1" "$t"; mv -f "$t" "$2"; }',
    ...ordered.map((f) => `put ${f.mode} ${shq(f.remotePath)} ${Buffer.from(f.content, 'utf8').toString('base64')}`),
    // Front hosts run Debian's haproxy and keepalived services: check the new config, then reload.
    ...(files.some((f) => f.source.endsWith('/front-haproxy.cfg'))
      ? ['haproxy -c -q -f /etc/haproxy/haproxy.cfg', 'systemctl reload-or-restart haproxy', 'keepalived -t -f /etc/keepalived/keepalived.conf', 'systemctl reload-or-restart keepalived']
      : []),
  ];
  return `${lines.join('\n')}\n`;
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
export function planHosts(site: Site, files: readonly RenderedFile[], known: readonly KnownHostEntry[] = []): HostPlan[] {
  const byHost = new Map<string, RenderedFile[]>();
  for (const f of files) {
    const m = /^hosts\/([^/]+)\/(.+)$/.exec(f.path);
    if (!m) continue;
    byHost.set(m[1]!, [...(byHost.get(m[1]!) ?? []), f]);
  }
  const plans: HostPlan[] = [];
  // Front hosts (spec.front) belong to no cluster: `cluster` is '' (the site-level host layer).
  const groups = [...site.spec.clusters.map((c) => ({ name: c.name, nodes: c.nodes })), { name: '', nodes: (site.spec.front?.hosts ?? []).map((h) => ({ ...h, roles: ['front'] })) }];
  for (const cluster of groups) {
    for (const node of cluster.nodes) {
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
        };
      });
      const trigger = sha256(hostFiles.map((f) => `${f.remotePath}\0${f.mode}\0${f.content}`).join('\0\0'));
      const hostKey = hostKeyFor(known, [node.address, node.name], site.spec.ssh.port);
      plans.push({
        host: node.name,
        cluster: cluster.name,
        address: node.address,
        roles: node.roles,
        files: hostFiles,
        script: installScript(hostFiles),
        trigger,
        ...(hostKey ? { hostKey } : {}),
      });
    }
  }
  return plans;
}

/** Host file folders the rendered output has for nodes that are not in the inventory (a renderer bug). */
export function unknownHosts(site: Site, files: readonly RenderedFile[]): string[] {
  const nodes = new Set([...site.spec.clusters.flatMap((c) => c.nodes.map((n) => n.name)), ...(site.spec.front?.hosts ?? []).map((h) => h.name)]);
  return [...new Set(files.map((f) => /^hosts\/([^/]+)\//.exec(f.path)?.[1]).filter((h): h is string => !!h && !nodes.has(h)))].sort();
}
