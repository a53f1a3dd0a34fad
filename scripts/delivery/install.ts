// `flotilla install` use case, in air-gap bootstrap order: verify → the bootstrap registry on the first
// master (host level, systemd) → push images into it → on every node its /etc/hosts name, its CA and a
// containerd mirror to it, plus the API-VIP static pods on masters; the front hosts' HAProxy, keepalived
// and runtime API TLS; the ops host's cluster-mgr unit, daemon (from the bundle's image) and client certificate for the front → pulumi up (Automation API) or the exact next command. `handover` (after pulumi up) pushes into the in-cluster site registry instead and
// points the nodes back at it. A failing node never stops the others; the result carries a per-host report.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import type { Site } from '../../infra/site/index';
import { verifyBundle, type VerifyProblem } from './bundle';
import { BOOTSTRAP_HOST_PATHS, bootstrapRegistry, withBootstrapMirror, type BootstrapRegistry } from '../../infra/render/bootstrap-registry';
import { startBootstrapRegistry, type BootstrapReport, type SiteCa } from './bootstrap';
import { configureHost, hostPath, type ConfigureOptions, type HostReport } from './hosts';
import { frontTlsFiles, opsFrontTlsFiles, opsHostNotes } from './site-hosts';
import { opsBinaryFromBundle, pruneOldVersionsScript } from './ops-binary';
import { HOST_PATHS } from '../../infra/lib/host-files';
import { siteHosts, type SiteHost } from '../../infra/site/hosts';
import { fetchTrusting } from './https-fetch';
import { RegistryClient, registryUrl, type EndpointMap } from './oci';
import { pushLayout, targetOf, type PushResult } from './push';
import type { SshPool } from './ssh';

export interface InstallOptions {
  readonly site: Site;
  readonly inventoryFile: string;
  readonly bundleDir: string;
  readonly publicKey: KeyObject;
  readonly endpoints?: EndpointMap;
  readonly pool?: SshPool;
  readonly hostRoot?: string;
  readonly dryRun?: boolean;
  readonly skipImages?: boolean;
  readonly skipHosts?: boolean;
  readonly skipPulumi?: boolean;
  /** Pulumi stack (stacks/Pulumi.<stack>.yaml). @default - the site name */
  readonly stack?: string;
  /** The site CA that signs the bootstrap registry's certificate. @default - a bootstrap CA made by install */
  readonly ca?: SiteCa;
  /**
   * After `pulumi up`: push into the in-cluster site registry and point the nodes back at it (bundle
   * hosts.toml, no /etc/hosts entry). Also what happens without SSH (`skipHosts`).
   * @default false
   */
  readonly handover?: boolean;
  readonly log?: (line: string) => void;
}

export interface InstallResult {
  readonly verify: { ok: true; digest: string } | { ok: false; problems: VerifyProblem[] };
  readonly bootstrap?: BootstrapReport;
  /** Where the images went: the bootstrap registry (its URL) or the site registry. */
  readonly imageTarget?: string;
  readonly images?: PushResult & { error?: string };
  readonly hosts: HostReport[];
  readonly pulumi: { ran: boolean; ok: boolean; next?: string; summary?: string };
  readonly changed: boolean;
  readonly ok: boolean;
}

/** The exact next command when the pulumi CLI is absent. */
export function pulumiNextCommand(stack: string, inventoryFile: string, bundleDir: string): string {
  const project = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
  return `pulumi up --cwd ${project} --stack ${stack} --config flotilla:inventory=${resolve(inventoryFile)} --config flotilla:bundle=${resolve(bundleDir)}`;
}

function pulumiOnPath(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v pulumi'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function install(o: InstallOptions): Promise<InstallResult> {
  const log = o.log ?? (() => undefined);
  const v = await verifyBundle(o.bundleDir, o.publicKey);
  const verify = v.ok ? { ok: true as const, digest: v.digest } : v;
  const empty = { hosts: [], pulumi: { ran: false, ok: false }, changed: false, ok: false };
  if (!v.ok) return { verify, ...empty };
  log(`verified bundle ${v.digest}`);

  const root = o.hostRoot ?? '/';
  const useBootstrap = !o.handover && !o.skipHosts && o.pool !== undefined;
  let b: BootstrapRegistry | undefined;
  let bootstrap: BootstrapReport | undefined;
  if (useBootstrap) {
    b = bootstrapRegistry(o.site, { root: (n) => root.replaceAll('{node}', n) });
    log(`[1/4] bootstrap registry on ${b.node.name} (${b.node.address}:${b.port})`);
    bootstrap = await startBootstrapRegistry(o.pool!, b, { dryRun: o.dryRun, ca: o.ca, log });
    log(`${b.node.name}: bootstrap registry ${bootstrap.status}${bootstrap.error ? ` — ${bootstrap.error}` : ''}`);
    // Nothing else is touched when the registry cannot run: no images, no node points at it.
    if (bootstrap.status === 'failed') return { verify, bootstrap, hosts: [], pulumi: { ran: false, ok: false }, changed: false, ok: false };
  }

  let images: InstallResult['images'];
  let imageTarget: string | undefined;
  if (!o.skipImages && v.index.images.length > 0) {
    const notYet = bootstrap !== undefined && bootstrap.caCert === undefined; // dry run before the first start
    const target = b && bootstrap
      ? new RegistryClient(o.endpoints?.get(b.host) ?? bootstrap.pushUrl, { fetch: notYet ? undefined : fetchTrusting(bootstrap.caCert!) })
      : new RegistryClient(registryUrl(o.site.spec.registry.host, o.endpoints));
    imageTarget = b ? `bootstrap registry ${b.url} (pushed through ${target.baseUrl})` : `site registry ${o.site.spec.registry.host}`;
    log(`[2/4] images → ${imageTarget}`);
    if (notYet) {
      images = { images: v.index.images.map((i) => ({ ref: i.ref, target: targetOf(i.ref)?.repository ?? i.ref, digest: i.digest, status: 'pushed' as const })), stats: target.stats };
    } else {
      try {
        images = await pushLayout(join(o.bundleDir, 'images'), target, { dryRun: o.dryRun, log });
      } catch (err) {
        images = { images: [], stats: target.stats, error: (err as Error).message };
      }
    }
  }

  const hosts: HostReport[] = [];
  if (!o.skipHosts && o.pool) {
    const pool = o.pool;
    const all = siteHosts(o.site);
    const count = (k: SiteHost['kind']) => all.filter((h) => h.kind === k).length;
    log(
      `[3/4] hosts: ${count('node')} nodes (${b ? `${b.host} in /etc/hosts, its CA and a containerd mirror to it, ` : 'bundle hosts.toml (site registry), no bootstrap entry in /etc/hosts, '}API-VIP files on masters)` +
        `${count('front') ? `, ${count('front')} front hosts (HAProxy, keepalived, runtime API TLS)` : ''}${count('ops') ? ', the ops host (cluster-mgr unit)' : ''}`,
    );
    // cluster-mgr's daemon for the ops host, out of the bundle's built image (once for the site)
    const opsBinary = all.some((h) => h.kind === 'ops') ? await opsBinaryFromBundle(o.bundleDir, v.index).catch((err: Error) => ({ ok: false as const, missing: '', error: err.message })) : undefined;
    const reports = await Promise.all(
      all.map((n) =>
        pool.limit(async (): Promise<HostReport> => {
          const at = (p: string) => hostPath(root, n.name, p);
          let extra: ConfigureOptions = {};
          if (n.kind === 'node') {
            extra = b
              ? {
                  transform: (src, data) => (/^containerd\/certs\.d\/[^/]+\/hosts\.toml$/.test(src) ? Buffer.from(withBootstrapMirror(data.toString('utf8'), b, at(BOOTSTRAP_HOST_PATHS.caCert))) : data),
                  extra: bootstrap?.caCert ? [{ dest: at(BOOTSTRAP_HOST_PATHS.caCert), mode: '0644', data: Buffer.from(bootstrap.caCert.endsWith('\n') ? bootstrap.caCert : `${bootstrap.caCert}\n`) }] : [],
                  etcHosts: { path: at(BOOTSTRAP_HOST_PATHS.etcHosts), entry: { address: b.node.address, host: b.host } },
                }
              : { etcHosts: { path: at(BOOTSTRAP_HOST_PATHS.etcHosts), entry: null } };
          } else if (n.kind === 'front') {
            // the runtime API's TLS files first: the HAProxy config check needs them
            const tls = await frontTlsFiles(pool, n, at, o.site.metadata.name, o.ca).catch((err: Error) => ({ error: err.message }));
            if ('error' in tls) {
              log(`${n.name}: failed — ${tls.error}`);
              return { node: n.name, address: n.address, status: 'failed', changed: [], unchanged: 0, error: tls.error };
            }
            extra = { extra: tls.files };
          }
          let opsNotes: string[] = [];
          if (n.kind === 'ops') {
            if (opsBinary && 'error' in opsBinary) {
              log(`${n.name}: failed — ${opsBinary.error}`);
              return { node: n.name, address: n.address, status: 'failed', changed: [], unchanged: 0, error: `the cluster-mgr daemon from the bundle: ${opsBinary.error}` };
            }
            // its client certificate for the front hosts' runtime API, then the daemon (checked with --help before the wrapper is replaced)
            const tls = await opsFrontTlsFiles(pool, n, at, o.site, o.ca).catch((err: Error) => ({ error: err.message }));
            if ('error' in tls) {
              log(`${n.name}: failed — ${tls.error}`);
              return { node: n.name, address: n.address, status: 'failed', changed: [], unchanged: 0, error: tls.error };
            }
            opsNotes = tls.notes;
            extra = { extra: [...tls.files, ...(opsBinary?.ok ? opsBinary.files.map((f) => ({ ...f, dest: at(f.dest) })) : [])] };
          }
          let r = await configureHost(pool, n, join(o.bundleDir, 'site'), { hostRoot: o.hostRoot, dryRun: o.dryRun, ...extra });
          if (n.kind === 'ops' && r.status !== 'failed') {
            if (opsBinary?.ok && r.status === 'changed' && r.changed.includes(at(HOST_PATHS.clusterMgrBinary))) {
              // the new wrapper is in place (checked): the other versions' files can go
              await pool.exec(n.address, pruneOldVersionsScript(opsBinary.version, at));
            }
            const missing = await opsHostNotes(pool, n, at, o.site, { binaryFromBundle: opsBinary?.ok ?? false }).catch((err: Error) => [`could not check cluster-mgr's secrets: ${err.message}`]);
            const notes = [...opsNotes, ...missing];
            // the unit's own note ("not started") is said better by the list of what is missing
            if (notes.length > 0) r = { ...r, notes };
          }
          log(`${n.name}: ${r.status}${r.error ? ` — ${r.error}` : ''}`);
          return r;
        }),
      ),
    );
    hosts.push(...reports);
  }

  const imagesFailed = !!images && (!!images.error || images.images.some((i) => i.status === 'failed'));
  const hostsFailed = hosts.some((h) => h.status === 'failed');
  let pulumi: InstallResult['pulumi'] = { ran: false, ok: true, next: pulumiNextCommand(o.stack ?? o.site.metadata.name, o.inventoryFile, o.bundleDir) };
  log(`[4/4] cluster layer: ${imagesFailed || hostsFailed ? 'not applied (failures above)' : 'pulumi up'}`);
  if (!o.skipPulumi && !o.dryRun && !imagesFailed && !hostsFailed && pulumiOnPath()) {
    const project = fileURLToPath(new URL('../..', import.meta.url));
    if (existsSync(join(project, 'Pulumi.yaml'))) {
      try {
        const { LocalWorkspace } = await import('@pulumi/pulumi/automation');
        const stack = await LocalWorkspace.selectStack({ stackName: o.stack ?? o.site.metadata.name, workDir: project });
        await stack.setConfig('flotilla:inventory', { value: resolve(o.inventoryFile) });
        await stack.setConfig('flotilla:bundle', { value: resolve(o.bundleDir) });
        const up = await stack.up({ onOutput: (s) => log(s.trimEnd()) });
        pulumi = { ran: true, ok: up.summary.result === 'succeeded', summary: JSON.stringify(up.summary.resourceChanges ?? {}) };
      } catch (err) {
        pulumi = { ran: true, ok: false, summary: (err as Error).message.split('\n')[0], next: pulumi.next };
      }
    }
  }
  const changed =
    (bootstrap !== undefined && bootstrap.status !== 'unchanged') ||
    (images?.images.some((i) => i.status === 'pushed') ?? false) ||
    hosts.some((h) => h.status === 'changed' || h.status === 'would change');
  return { verify, bootstrap, imageTarget, images, hosts, pulumi, changed, ok: !imagesFailed && !hostsFailed && pulumi.ok };
}
