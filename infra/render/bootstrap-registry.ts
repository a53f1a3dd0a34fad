// The air-gap bootstrap registry: a host-level registry (Debian's `docker-registry`, run by a systemd
// unit) on the site's first master that serves the bundle's images before any cluster exists. Pure
// renderers of its facts, its unit and config, the containerd mirror block that puts it first in a
// node's hosts.toml, and the /etc/hosts entry that makes its name resolve on every node.
// `flotilla install` writes these; the Pulumi host layer keeps the mirror block on air-gapped runs.
import { posix } from 'node:path';
import { resolved, type SiteSource } from '../site/resolve';
import type { SiteNode } from '../site/schema';
import { dq, header } from './common';

export const BOOTSTRAP_UNIT = 'flotilla-bootstrap-registry.service';
export interface BootstrapPaths {
  readonly unit: string;
  readonly config: string;
  readonly caCert: string;
  readonly cert: string;
  readonly key: string;
  /** Image storage. */
  readonly data: string;
  /** Pid file and log of the unit runner used when a host has no systemd. */
  readonly pidFile: string;
  readonly log: string;
  readonly etcHosts: string;
}

export interface BootstrapRegistry {
  readonly site: string;
  /** The master that runs it: the first master of the first cluster. */
  readonly node: SiteNode;
  /** Its name on the nodes (`bootstrap.<registry host>`), resolved through /etc/hosts. */
  readonly host: string;
  /** `spec.registry.bootstrapPort`. */
  readonly port: number;
  /** `https://<host>:<port>` as the nodes reach it. */
  readonly url: string;
  /** The site registry it stands in for. */
  readonly siteRegistry: string;
  readonly binary: string;
  readonly paths: BootstrapPaths;
}

export interface BootstrapOptions {
  /** Prefix of every host path (staging trees: `flotilla install --host-root`), per node name. @default - '/' */
  readonly root?: (node: string) => string;
  /** @default '/usr/bin/docker-registry' (Debian's docker-registry package) */
  readonly binary?: string;
}

export const BOOTSTRAP_HOST_PATHS = {
  unit: `/etc/systemd/system/${BOOTSTRAP_UNIT}`,
  config: '/etc/flotilla/bootstrap-registry/config.yml',
  caCert: '/etc/flotilla/bootstrap-registry/ca.crt',
  cert: '/etc/flotilla/bootstrap-registry/tls.crt',
  key: '/etc/flotilla/bootstrap-registry/tls.key',
  data: '/var/lib/flotilla/bootstrap-registry',
  pidFile: '/run/flotilla-bootstrap-registry.pid',
  log: '/var/log/flotilla-bootstrap-registry.log',
  etcHosts: '/etc/hosts',
} as const satisfies BootstrapPaths;

/** Host paths below a root (`/` = the real paths). */
export function bootstrapPaths(root = '/'): BootstrapPaths {
  const at = (p: string) => (root === '/' ? p : posix.join(root, p));
  return Object.fromEntries(Object.entries(BOOTSTRAP_HOST_PATHS).map(([k, v]) => [k, at(v)])) as unknown as BootstrapPaths;
}

/** The bootstrap registry of a site (throws when the site has no master). */
export function bootstrapRegistry(site: SiteSource, o: BootstrapOptions = {}): BootstrapRegistry {
  const r = resolved(site);
  const node = r.site.spec.clusters.flatMap((c) => c.nodes).find((n) => n.roles.includes('master'));
  if (!node) throw new Error(`site ${r.name} has no master: the bootstrap registry runs on the first master`);
  const port = r.site.spec.registry.bootstrapPort;
  const host = `bootstrap.${r.registry.host}`;
  return {
    site: r.name,
    node,
    host,
    port,
    url: `https://${host}:${port}`,
    siteRegistry: r.registry.host,
    binary: o.binary ?? '/usr/bin/docker-registry',
    paths: bootstrapPaths(o.root?.(node.name) ?? '/'),
  };
}

/** The systemd unit. `ExecStart` is the whole command line (hosts without systemd run exactly it). */
export function renderBootstrapUnit(b: BootstrapRegistry): string {
  return [
    header([`systemd unit of the bootstrap registry of site ${b.site} (air-gap install).`, `Serves the bundle's images on ${b.url} until the in-cluster registry ${b.siteRegistry} takes over.`]),
    '[Unit]',
    `Description=Flotilla bootstrap registry of site ${b.site}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${b.binary} serve ${b.paths.config}`,
    'Restart=on-failure',
    'RestartSec=2s',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    'PrivateTmp=yes',
    `ReadWritePaths=${b.paths.data}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** docker-registry (CNCF Distribution) config: TLS on the master's address, filesystem storage. */
export function renderBootstrapConfig(b: BootstrapRegistry): string {
  return [
    header([`docker-registry config of the bootstrap registry of site ${b.site}.`]),
    'version: 0.1',
    'log:',
    '  level: info',
    '  fields:',
    '    service: flotilla-bootstrap-registry',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${b.paths.data}`,
    '  delete:',
    '    enabled: false',
    'http:',
    `  addr: ${b.node.address}:${b.port}`,
    '  tls:',
    `    certificate: ${b.paths.cert}`,
    `    key: ${b.paths.key}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    '',
  ].join('\n');
}

/**
 * A node's hosts.toml with the bootstrap registry as the first host (pull, resolve), trusted through
 * its CA file; the hosts the file already lists follow (containerd tries them in order). Unchanged
 * when the block is already there.
 */
export function withBootstrapMirror(hostsToml: string, b: Pick<BootstrapRegistry, 'url' | 'node'>, caFile: string): string {
  const head = `[host.${dq(b.url)}]`;
  if (hostsToml.includes(head)) return hostsToml;
  const block = [`# flotilla install: the bootstrap registry on ${b.node.name}, tried first`, head, '  capabilities = ["pull", "resolve"]', `  ca = ${dq(caFile)}`, ''].join('\n');
  const lines = hostsToml.split('\n');
  const at = lines.findIndex((l) => l.startsWith('[host.'));
  if (at < 0) return `${hostsToml.replace(/\n*$/, '\n\n')}${block}`;
  return [...lines.slice(0, at), ...block.split('\n'), ...lines.slice(at)].join('\n');
}

/** Marks the /etc/hosts line flotilla owns (and replaces). */
export const ETC_HOSTS_MARK = '# flotilla bootstrap registry';

/** /etc/hosts with flotilla's line for the bootstrap registry (replacing an older one), or without it. */
export function etcHostsWith(current: string, entry?: { address: string; host: string }): string {
  const kept = current.split('\n').filter((l) => !l.trimEnd().endsWith(ETC_HOSTS_MARK));
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  if (entry) kept.push(`${entry.address} ${entry.host} ${ETC_HOSTS_MARK}`);
  return kept.length > 0 ? `${kept.join('\n')}\n` : '';
}

/**
 * Rendered host files with the bootstrap mirror in every containerd hosts.toml (the Pulumi host layer
 * on air-gapped runs, so `pulumi up` keeps the nodes pulling from the bootstrap registry that
 * `flotilla install` started until the in-cluster registry serves). Other files pass unchanged.
 */
export function withBootstrapMirrors<F extends { readonly path: string; readonly content: string }>(files: readonly F[], b: Pick<BootstrapRegistry, 'url' | 'node'>): F[] {
  return files.map((f) => (/(^|\/)hosts\/[^/]+\/containerd\/certs\.d\/[^/]+\/hosts\.toml$/.test(f.path) ? { ...f, content: withBootstrapMirror(f.content, b, BOOTSTRAP_HOST_PATHS.caCert) } : f));
}
