// containerd registry host configs (`/etc/containerd/certs.d/<registry>/hosts.toml`) per node: the
// site registry itself, and the public registries and mirrored sites' registries pulled through the
// site registry, so air-gapped nodes pull everything from it.
import { HOST_PATHS } from '../lib/host-files';
import { resolved, type SiteSource } from '../site/resolve';
import { dq, header } from './common';

/** A public registry pulled through the site registry. */
export interface Upstream {
  /** The registry name as it appears in image references, e.g. `docker.io`. */
  readonly name: string;
  /** Its API endpoint (containerd `server`), e.g. `https://registry-1.docker.io`. */
  readonly server: string;
}

export const DEFAULT_UPSTREAMS: readonly Upstream[] = [
  { name: 'docker.io', server: 'https://registry-1.docker.io' },
  { name: 'docker.elastic.co', server: 'https://docker.elastic.co' },
  { name: 'gcr.io', server: 'https://gcr.io' },
  { name: 'ghcr.io', server: 'https://ghcr.io' },
  { name: 'quay.io', server: 'https://quay.io' },
  { name: 'registry.k8s.io', server: 'https://registry.k8s.io' },
];

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
   * @default - `/etc/containerd/certs.d/<registry>/ca.crt` when the site's issuer is a private `ca`, else the system trust store
   */
  readonly caFile?: string;
  /** containerd's certs.d folder on the nodes. @default '/etc/containerd/certs.d' */
  readonly certsDir?: string;
}

export interface HostsToml {
  /** The registry name (the certs.d sub-folder). */
  readonly registry: string;
  readonly content: string;
}

/** Every hosts.toml a node needs, sorted by registry name. Same for every node of the site. */
export function renderContainerdHosts(site: SiteSource, opts: ContainerdOptions = {}): HostsToml[] {
  const r = resolved(site);
  const reg = r.registry.host;
  const certsDir = opts.certsDir ?? HOST_PATHS.containerdCertsDir;
  const ca = opts.caFile ?? (r.registry.privateCa ? `${certsDir}/${reg}/ca.crt` : undefined);
  const caLine = ca ? [`  ca = ${dq(ca)}`] : [];
  const siteUrl = r.registry.url;
  const out: HostsToml[] = [
    {
      registry: reg,
      content: [
        header([`containerd: the site registry of ${r.name}.`]),
        `server = ${dq(siteUrl)}`,
        '',
        `[host.${dq(siteUrl)}]`,
        '  capabilities = ["pull", "resolve", "push"]',
        ...caLine,
        '',
      ].join('\n'),
    },
  ];
  const mirrored: Upstream[] = [
    ...(opts.upstreams ?? DEFAULT_UPSTREAMS),
    ...r.registry.mirrors.map((m) => ({ name: m.host, server: `https://${m.host}` })),
  ].filter((u) => u.name !== reg);
  const perUpstream = (opts.layout ?? 'flat') === 'per-upstream';
  const seen = new Set<string>([reg]);
  for (const u of mirrored) {
    if (seen.has(u.name)) continue;
    seen.add(u.name);
    const hostUrl = perUpstream ? `${siteUrl}/v2/${u.name}` : siteUrl;
    out.push({
      registry: u.name,
      content: [
        header([
          `containerd: pull ${u.name} images through the site registry ${reg} (site ${r.name});`,
          `${u.server} is the fallback when the site registry does not have them.`,
        ]),
        `server = ${dq(u.server)}`,
        '',
        `[host.${dq(hostUrl)}]`,
        '  capabilities = ["pull", "resolve"]',
        ...(perUpstream ? ['  override_path = true'] : []),
        ...caLine,
        '',
      ].join('\n'),
    });
  }
  return out.sort((a, b) => (a.registry < b.registry ? -1 : a.registry > b.registry ? 1 : 0));
}
