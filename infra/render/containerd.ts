// containerd on every node: the registry host configs (`/etc/containerd/certs.d/<registry>/hosts.toml`
// + the CA that registry's certificate chains to), the config that makes the CRI plugin read them
// (`config_path`) and the site registry's credentials. Public registries and mirrored sites' registries
// are pulled through the site registry, so air-gapped nodes pull everything from it.
import { HOST_PATHS } from '../lib/host-files';
import { resolved, type SiteSource } from '../site/resolve';
import { dq, header } from './common';

/** A public registry pulled through the site registry. */
export interface Upstream {
  /** The registry name as it appears in image references, e.g. `docker.io`. */
  readonly name: string;
  /** Its API endpoint (containerd `server`), e.g. `https://registry-1.docker.io`. */
  readonly server: string;
  /** CA file on the node for `server`. @default - the system trust store */
  readonly caFile?: string;
}

export const DEFAULT_UPSTREAMS: readonly Upstream[] = [
  { name: 'docker.io', server: 'https://registry-1.docker.io' },
  { name: 'docker.elastic.co', server: 'https://docker.elastic.co' },
  { name: 'gcr.io', server: 'https://gcr.io' },
  { name: 'ghcr.io', server: 'https://ghcr.io' },
  { name: 'quay.io', server: 'https://quay.io' },
  { name: 'registry.k8s.io', server: 'https://registry.k8s.io' },
];

export type RegistryCapability = 'pull' | 'resolve' | 'push';

/** One `[host."…"]` entry: a mirror containerd tries, in order, before `server`. */
export interface RegistryMirrorHost {
  /** e.g. `https://registry.bj1.example.com` (or `…/v2/<prefix>` with `overridePath`). */
  readonly url: string;
  /** @default ['pull', 'resolve'] */
  readonly capabilities?: readonly RegistryCapability[];
  /** CA file on the node for this host. @default - the system trust store */
  readonly caFile?: string;
  /** The url carries the full API path (`/v2/…`). @default false */
  readonly overridePath?: boolean;
}

export interface RegistryHostsInput {
  /** The registry name as in image references (the certs.d folder), e.g. `registry.bj1.example.com`. */
  readonly registry: string;
  /** The upstream endpoint, used when no mirror host has the image. @default - `https://<registry>` */
  readonly server?: string;
  /** CA file on the node for `server`. @default - the system trust store */
  readonly serverCaFile?: string;
  /**
   * Hosts tried before `server`. An empty list makes `server` itself the only host (with the
   * `serverCapabilities`).
   * @default - none
   */
  readonly mirrors?: readonly RegistryMirrorHost[];
  /** Capabilities of `server` when there are no mirrors. @default ['pull', 'resolve', 'push'] */
  readonly serverCapabilities?: readonly RegistryCapability[];
  /** Comment lines at the top. @default - one line naming the registry */
  readonly comment?: readonly string[];
}

const caps = (c: readonly RegistryCapability[]) => `[${c.map(dq).join(', ')}]`;

/**
 * One containerd `hosts.toml` (the `config_path` format: containerd/docs/hosts.md). Used for the
 * site registry, for registries pulled through it, and by anything else that points nodes at a
 * registry (a bootstrap registry during install): `renderRegistryHosts({ registry, serverCaFile,
 * mirrors })`.
 */
export function renderRegistryHosts(i: RegistryHostsInput): string {
  const server = i.server ?? `https://${i.registry}`;
  const mirrors = i.mirrors ?? [];
  const hostBlock = (url: string, c: readonly RegistryCapability[], caFile?: string, overridePath?: boolean) => [
    '',
    `[host.${dq(url)}]`,
    `  capabilities = ${caps(c)}`,
    ...(overridePath ? ['  override_path = true'] : []),
    ...(caFile ? [`  ca = ${dq(caFile)}`] : []),
  ];
  const lines = [
    header(i.comment ?? [`containerd: registry ${i.registry}.`]),
    `server = ${dq(server)}`,
    // The CA of `server` itself, used when it is reached as the fallback.
    ...(mirrors.length > 0 && i.serverCaFile ? [`ca = ${dq(i.serverCaFile)}`] : []),
    ...(mirrors.length === 0
      ? hostBlock(server, i.serverCapabilities ?? ['pull', 'resolve', 'push'], i.serverCaFile)
      : mirrors.flatMap((m) => hostBlock(m.url, m.capabilities ?? ['pull', 'resolve'], m.caFile, m.overridePath))),
    '',
  ];
  return lines.join('\n');
}

export interface ContainerdOptions {
  /** Registries to pull through the site registry. @default DEFAULT_UPSTREAMS */
  readonly upstreams?: readonly Upstream[];
  /**
   * Where images of an upstream live in the site registry: `flat` = same path as upstream
   * (`<site registry>/<path>`, the air-gapped image rewrite), `per-upstream` =
   * `<site registry>/<upstream>/<path>` (containerd `override_path`).
   * @default 'flat'
   */
  readonly layout?: 'flat' | 'per-upstream';
  /**
   * CA file of the site registry on the nodes.
   * @default - `<certsDir>/<registry>/ca.crt` when the inventory has `spec.certificates.caCert` (written there), else the system trust store
   */
  readonly caFile?: string;
  /** containerd's certs.d folder on the nodes. @default '/etc/containerd/certs.d' */
  readonly certsDir?: string;
  /** CRI settings of the containerd drop-in (`renderContainerdConfig`). */
  readonly cri?: ContainerdCriOptions;
}

/** A file of `certs.d/<registry>/`: `hosts.toml` or `ca.crt`. */
export interface HostsToml {
  /** The registry name (the certs.d sub-folder). */
  readonly registry: string;
  /** File name inside the folder. @default 'hosts.toml' */
  readonly file?: 'hosts.toml' | 'ca.crt';
  readonly content: string;
}

/** A CA file for a node: the comment header (PEM readers skip text outside the blocks), then the PEM. */
const pemFile = (pem: string, what: string) => `${header([what])}${pem.trim()}\n`;

/**
 * Every `certs.d` file a node needs, sorted by registry then file: `hosts.toml` per registry and
 * `ca.crt` for the site registry (from `spec.certificates.caCert`) and for each mirrored site with a
 * `caCert`. Same for every node of the site.
 */
export function renderContainerdHosts(site: SiteSource, opts: ContainerdOptions = {}): HostsToml[] {
  const r = resolved(site);
  const reg = r.registry.host;
  const certsDir = opts.certsDir ?? HOST_PATHS.containerdCertsDir;
  const ca = opts.caFile ?? (r.registry.caCert !== undefined ? `${certsDir}/${reg}/ca.crt` : undefined);
  const siteUrl = r.registry.url;
  const out: HostsToml[] = [
    {
      registry: reg,
      content: renderRegistryHosts({ registry: reg, server: siteUrl, serverCaFile: ca, comment: [`containerd: the site registry of ${r.name}.`] }),
    },
  ];
  if (r.registry.caCert !== undefined) out.push({ registry: reg, file: 'ca.crt', content: pemFile(r.registry.caCert, `the CA containerd trusts for the site registry ${reg} (spec.certificates.caCert of ${r.name}).`) });
  const mirrored: Upstream[] = [
    ...(opts.upstreams ?? DEFAULT_UPSTREAMS),
    ...r.registry.mirrors.map((m) => ({ name: m.host, server: `https://${m.host}`, ...(m.caCert !== undefined ? { caFile: `${certsDir}/${m.host}/ca.crt` } : {}) })),
  ].filter((u) => u.name !== reg);
  const perUpstream = (opts.layout ?? 'flat') === 'per-upstream';
  const seen = new Set<string>([reg]);
  for (const u of mirrored) {
    if (seen.has(u.name)) continue;
    seen.add(u.name);
    out.push({
      registry: u.name,
      content: renderRegistryHosts({
        registry: u.name,
        server: u.server,
        serverCaFile: u.caFile,
        mirrors: [{ url: perUpstream ? `${siteUrl}/v2/${u.name}` : siteUrl, caFile: ca, overridePath: perUpstream }],
        comment: [
          `containerd: pull ${u.name} images through the site registry ${reg} (site ${r.name});`,
          `${u.server} is the fallback when the site registry does not have them.`,
        ],
      }),
    });
  }
  for (const m of r.registry.mirrors) {
    if (m.caCert !== undefined && m.host !== reg) out.push({ registry: m.host, file: 'ca.crt', content: pemFile(m.caCert, `the CA of the peer registry ${m.host} (spec.registry.mirrors[].caCert of ${r.name}).`) });
  }
  const key = (h: HostsToml) => `${h.registry}/${h.file ?? 'hosts.toml'}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export interface ContainerdCriOptions {
  /** containerd's certs.d folder (`config_path`). @default '/etc/containerd/certs.d' */
  readonly certsDir?: string;
  /** CRI snapshotter. @default 'overlayfs' */
  readonly snapshotter?: string;
  /** runc with the systemd cgroup driver (kubelet's default driver since kubeadm 1.22). @default true */
  readonly systemdCgroup?: boolean;
  /** Pause image of pod sandboxes. @default - containerd's built-in default (pulled through the mirrors) */
  readonly sandboxImage?: string;
  /** CNI plugin binaries (Calico installs into /opt/cni/bin). @default '/opt/cni/bin' */
  readonly cniBinDir?: string;
  /** @default '/etc/cni/net.d' */
  readonly cniConfDir?: string;
  /**
   * Registry credentials containerd presents to that registry host, whichever image name led there
   * (the site registry as itself and as the mirror of docker.io, quay.io, …). A secret: only the
   * Pulumi host layer renders the drop-in with them, never `flotilla synth`.
   * @default - none
   */
  readonly auths?: readonly RegistryAuth[];
}

export interface RegistryAuth {
  /** Registry host as containerd dials it (`registry.bj1.example.com`, `host:port`). */
  readonly registry: string;
  readonly username: string;
  readonly password: string;
}

/** A TOML basic string (quotes, backslashes and control characters escaped). */
export function tomlString(s: string): string {
  return `"${s.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => (c === '\\' || c === '"' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))}"`;
}

/** The CRI plugin's name in containerd 1.6/1.7 config version 2. */
const CRI = 'plugins."io.containerd.grpc.v1.cri"';

/**
 * containerd's main config (`/etc/containerd/config.toml`): config version 2 and nothing but the
 * import of the drop-in folder. containerd 1.x loads no drop-ins unless the main config imports them.
 */
export function renderContainerdMainConfig(dropInDir: string = HOST_PATHS.containerdDropInDir): string {
  return [header(['containerd main config: every setting lives in a drop-in below.']), 'version = 2', `imports = [${dq(`${dropInDir}/*.toml`)}]`, ''].join('\n');
}

/**
 * The CRI drop-in (`/etc/containerd/conf.d/10-flotilla-cri.toml`): `config_path` (so CRI pulls read
 * `certs.d/<registry>/hosts.toml`), runc with the systemd cgroup driver, the CNI folders and, from
 * the host layer only, the site registry's credentials (`registry.configs."<host>".auth`: containerd
 * uses them whenever kubelet sends no credentials of its own, for every pod including static pods). On
 * containerd 1.x an imported file replaces a plugin's whole section (measured on Debian's 1.6.20:
 * `containerd config dump` loses the main file's CRI settings), so this file carries the complete
 * CRI section Kubernetes needs; put further CRI settings here (options), not in another drop-in.
 */
export function renderContainerdConfig(o: ContainerdCriOptions = {}): string {
  return [
    header(['containerd CRI settings for Kubernetes nodes (drop-in imported by /etc/containerd/config.toml).']),
    'version = 2',
    '',
    `[${CRI}]`,
    ...(o.sandboxImage ? [`  sandbox_image = ${dq(o.sandboxImage)}`] : []),
    '',
    `[${CRI}.containerd]`,
    `  snapshotter = ${dq(o.snapshotter ?? 'overlayfs')}`,
    '  default_runtime_name = "runc"',
    '',
    `[${CRI}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    '',
    `[${CRI}.containerd.runtimes.runc.options]`,
    `  SystemdCgroup = ${o.systemdCgroup ?? true}`,
    '',
    `[${CRI}.cni]`,
    `  bin_dir = ${dq(o.cniBinDir ?? '/opt/cni/bin')}`,
    `  conf_dir = ${dq(o.cniConfDir ?? '/etc/cni/net.d')}`,
    '',
    `[${CRI}.registry]`,
    `  config_path = ${dq(o.certsDir ?? HOST_PATHS.containerdCertsDir)}`,
    '',
  ].join('\n') + renderContainerdAuths(o.auths ?? []);
}

/**
 * The credential tables of the CRI drop-in (`registry.configs."<host>".auth`), appended at its end:
 * `renderContainerdConfig({ ...o, auths })` = `renderContainerdConfig(o) + renderContainerdAuths(auths)`.
 */
export function renderContainerdAuths(auths: readonly RegistryAuth[]): string {
  return [...auths]
    .sort((a, b) => (a.registry < b.registry ? -1 : a.registry > b.registry ? 1 : 0))
    .map((a) => [`[${CRI}.registry.configs.${tomlString(a.registry)}.auth]`, `  username = ${tomlString(a.username)}`, `  password = ${tomlString(a.password)}`, ''].join('\n') + '\n')
    .join('');
}
