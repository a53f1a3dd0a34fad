// The air-gap bundle: a directory (not a tar) holding
//   bundle.json        the index: site, every file with sha256 and size, images, charts
//   bundle.json.sig    ed25519 signature (base64) over the exact bytes of bundle.json
//   images/            one OCI image layout (oci-layout, index.json, blobs/sha256/…), blobs deduplicated
//   charts/            <chart>-<version>.tgz
//   site/              the synthesized manifests and host configs (flotilla synth output for the site)
// Reproducible: no timestamps, sorted file lists and keys; the bundle digest is sha256(bundle.json).
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import pLimit from 'p-limit';
import { parse as parseYaml } from 'yaml';
import { canonicalJson } from '../../infra/lib/canonical';
import { formatImageRef, parseImageRef } from '../../infra/lib/image';
import {
  MediaTypes,
  referencedDescriptors,
  RegistryClient,
  registrySource,
  registryUrl,
  sha256Digest,
  type ContentSource,
  type Descriptor,
  type EndpointMap,
} from './oci';

export const INDEX_FILE = 'bundle.json';
export const SIG_FILE = 'bundle.json.sig';

export interface BundleFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}
export interface BundleImage {
  readonly ref: string;
  readonly digest: string;
  readonly mediaType: string;
  /** Built by Flotilla from Debian packages (`builders`), not pulled from a registry. */
  readonly built?: true;
}
export interface BundleChart {
  readonly chart: string;
  readonly version: string;
  readonly repository: string;
  readonly file: string;
}
export interface BundleIndex {
  readonly apiVersion: 'flotilla.dev/bundle/v1';
  readonly site: string;
  readonly images: BundleImage[];
  readonly charts: BundleChart[];
  readonly files: BundleFile[];
}

export interface ChartEntry {
  readonly cluster?: string;
  readonly id?: string;
  readonly chart: string;
  readonly repository: string;
  readonly version: string;
}

export const sha256Hex = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** Every regular file below `root`, as sorted POSIX relative paths. */
export async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await visit(p);
      else out.push(relative(root, p).split(sep).join('/'));
    }
  };
  await visit(root);
  return out.sort();
}

// ---------- OCI layout ----------

export class OciLayout {
  readonly stats = { blobsWritten: 0, blobsDeduplicated: 0, bytesWritten: 0 };
  private readonly present = new Set<string>();
  private readonly pending = new Map<string, Promise<void>>();
  constructor(readonly dir: string) {}

  blobPath(digest: string): string {
    return join(this.dir, 'blobs', ...digest.split(':'));
  }

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(this.dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n');
  }

  has(digest: string): boolean {
    return this.present.has(digest);
  }

  /** Stores the blob unless it is stored or being fetched already (then it only counts as deduplicated). */
  async ensure(digest: string, fetchBlob: () => Promise<Uint8Array>): Promise<void> {
    const inflight = this.pending.get(digest);
    if (inflight || this.present.has(digest)) {
      this.stats.blobsDeduplicated++;
      await inflight;
      return;
    }
    const p = fetchBlob().then((data) => this.put(digest, data));
    this.pending.set(digest, p);
    try {
      await p;
    } finally {
      this.pending.delete(digest);
    }
  }

  async put(digest: string, data: Uint8Array): Promise<void> {
    if (this.present.has(digest)) {
      this.stats.blobsDeduplicated++;
      return;
    }
    this.present.add(digest);
    await writeFile(this.blobPath(digest), data);
    this.stats.blobsWritten++;
    this.stats.bytesWritten += data.byteLength;
  }

  async writeIndex(entries: { ref: string; descriptor: Descriptor }[]): Promise<void> {
    const manifests = [...entries]
      .sort((a, b) => a.ref.localeCompare(b.ref))
      .map((e) => {
        const r = parseImageRef(e.ref);
        return {
          mediaType: e.descriptor.mediaType,
          digest: e.descriptor.digest,
          size: e.descriptor.size,
          annotations: { 'io.containerd.image.name': e.ref, 'org.opencontainers.image.ref.name': r?.tag ?? e.descriptor.digest },
        };
      });
    await writeFile(join(this.dir, 'index.json'), canonicalJson({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }));
  }

  /** Reads index.json: image reference → descriptor. */
  static async readIndex(dir: string): Promise<{ ref: string; descriptor: Descriptor }[]> {
    const idx = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: (Descriptor & { annotations?: Record<string, string> })[] };
    return idx.manifests.map((m) => ({ ref: m.annotations?.['io.containerd.image.name'] ?? '', descriptor: m }));
  }

  /** A content source reading from this layout (repository is ignored). */
  source(): ContentSource {
    return {
      manifest: async (_repo, digest) => {
        const body = new Uint8Array(await readFile(this.blobPath(digest)));
        const doc = JSON.parse(Buffer.from(body).toString()) as { mediaType?: string; manifests?: unknown };
        return { mediaType: doc.mediaType ?? (doc.manifests ? MediaTypes.ociIndex : MediaTypes.ociManifest), digest: sha256Digest(body), body };
      },
      blob: async (_repo, digest) => {
        const body = new Uint8Array(await readFile(this.blobPath(digest)));
        if (sha256Digest(body) !== digest) throw new Error(`bundle blob ${digest} is corrupt (content digest ${sha256Digest(body)})`);
        return body;
      },
    };
  }
}

/** Copies one image graph (index → manifests → config/layers) from a source into the layout. */
async function copyImage(source: ContentSource, repo: string, rootRef: string, layout: OciLayout): Promise<{ digest: string; mediaType: string }> {
  const root = await source.manifest(repo, rootRef);
  const visit = async (m: { mediaType: string; digest: string; body: Uint8Array }) => {
    await layout.ensure(m.digest, async () => m.body);
    const refs = referencedDescriptors(m.mediaType, m.body);
    for (const child of refs.manifests) {
      if (layout.has(child.digest)) {
        layout.stats.blobsDeduplicated++;
        continue;
      }
      await visit(await source.manifest(repo, child.digest));
    }
    await Promise.all(refs.blobs.map((b) => layout.ensure(b.digest, () => source.blob(repo, b.digest))));
  };
  await visit(root);
  return { digest: root.digest, mediaType: root.mediaType };
}

/** Pulls one image graph from its registry into the layout. */
export async function pullImage(client: RegistryClient, ref: string, layout: OciLayout): Promise<BundleImage> {
  const r = parseImageRef(ref);
  if (!r) throw new Error(`image reference ${JSON.stringify(ref)} is malformed`);
  return { ref, ...(await copyImage(registrySource(client), r.repository, r.digest ?? r.tag ?? 'latest', layout)) };
}

/**
 * An image no registry has, which Flotilla builds itself (scripts/image/build.ts): writes an OCI
 * image layout for `tag` into `out` and returns its manifest digest.
 */
export type ImageBuilder = (o: { out: string; tag?: string }) => Promise<{ layout: string; digest: string }>;

/** Builds one image into a temporary layout and copies it (every blob verified) into the bundle layout. */
export async function buildImageInto(build: ImageBuilder, ref: string, layout: OciLayout): Promise<BundleImage> {
  const r = parseImageRef(ref);
  if (!r?.tag || r.digest) throw new Error(`${ref}: a built image is referenced by tag (images.txt has ${JSON.stringify(ref)})`);
  const tmp = await mkdtemp(join(tmpdir(), 'flotilla-built-image-'));
  try {
    const built = await build({ out: join(tmp, 'layout'), tag: r.tag });
    return { ref, ...(await copyImage(new OciLayout(built.layout).source(), r.repository, built.digest, layout)), built: true };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

// ---------- charts ----------

/** Fetches `chart@version` from a local cache folder (`<chart>-<version>.tgz`) or its HTTP Helm repo. */
export async function fetchChart(c: ChartEntry, cacheDir?: string): Promise<Uint8Array> {
  const name = `${c.chart}-${c.version}.tgz`;
  if (cacheDir) {
    try {
      return new Uint8Array(await readFile(join(cacheDir, name)));
    } catch {
      // fall through to the repository
    }
  }
  if (!/^https?:\/\//.test(c.repository)) {
    throw new Error(`chart ${c.chart} ${c.version}: repository ${JSON.stringify(c.repository)} is not an HTTP Helm repository; put ${name} into --chart-cache`);
  }
  const base = c.repository.replace(/\/$/, '');
  const res = await fetch(`${base}/index.yaml`, { signal: AbortSignal.timeout(60_000) });
  if (!res.ok) throw new Error(`chart ${c.chart} ${c.version}: ${base}/index.yaml answered ${res.status}; use --chart-cache with ${name}`);
  const index = parseYaml(await res.text()) as { entries?: Record<string, { version: string; urls?: string[]; digest?: string }[]> };
  const entry = index.entries?.[c.chart]?.find((e) => e.version === c.version);
  if (!entry?.urls?.[0]) throw new Error(`chart ${c.chart} ${c.version} is not in ${base}/index.yaml`);
  const url = new URL(entry.urls[0], `${base}/`).toString();
  const tgz = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  if (!tgz.ok) throw new Error(`chart ${c.chart} ${c.version}: ${url} answered ${tgz.status}`);
  const body = new Uint8Array(await tgz.arrayBuffer());
  if (entry.digest && sha256Hex(body) !== entry.digest) {
    throw new Error(`chart ${c.chart} ${c.version}: ${url} has sha256 ${sha256Hex(body)}, index.yaml says ${entry.digest}`);
  }
  return body;
}

// ---------- build ----------

export interface BuildOptions {
  /** `OUT/<site>` of a `flotilla synth` run. */
  readonly siteDir: string;
  readonly site: string;
  readonly out: string;
  readonly signingKey: KeyObject;
  readonly endpoints?: EndpointMap;
  readonly chartCache?: string;
  readonly concurrency?: number;
  /**
   * Images built here instead of pulled, by `registry/repository` (FLOTILLA_BUILT_IMAGES: cluster-mgr,
   * keepalived); one at a time, before the pulls. @default - none (every image is pulled)
   */
  readonly builders?: Readonly<Record<string, ImageBuilder>>;
  readonly log?: (line: string) => void;
}

export interface BuildResult {
  readonly digest: string;
  readonly files: number;
  readonly images: number;
  /** Of `images`, how many were built here (and the seconds that took). */
  readonly built: number;
  readonly buildSeconds: number;
  readonly charts: number;
  readonly blobsWritten: number;
  readonly blobsDeduplicated: number;
  readonly bytes: number;
}

export async function readImagesTxt(siteDir: string): Promise<string[]> {
  const text = await readFile(join(siteDir, 'images.txt'), 'utf8').catch(() => '');
  return [...new Set(text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')))].sort();
}

export async function readChartsJson(siteDir: string): Promise<ChartEntry[]> {
  const text = await readFile(join(siteDir, 'charts.json'), 'utf8').catch(() => '{"charts":[]}');
  const charts = (JSON.parse(text) as { charts?: ChartEntry[] }).charts ?? [];
  const seen = new Map<string, ChartEntry>();
  for (const c of charts) seen.set(`${c.chart}-${c.version}`, c);
  return [...seen.values()].sort((a, b) => `${a.chart}-${a.version}`.localeCompare(`${b.chart}-${b.version}`));
}

export async function buildBundle(o: BuildOptions): Promise<BuildResult> {
  const log = o.log ?? (() => undefined);
  await rm(o.out, { recursive: true, force: true });
  await mkdir(o.out, { recursive: true });
  // 1. synthesized manifests and host configs
  await cp(o.siteDir, join(o.out, 'site'), { recursive: true });
  // 2. charts
  const charts: BundleChart[] = [];
  await mkdir(join(o.out, 'charts'), { recursive: true });
  for (const c of await readChartsJson(o.siteDir)) {
    const file = `charts/${c.chart}-${c.version}.tgz`;
    await writeFile(join(o.out, file), await fetchChart(c, o.chartCache));
    charts.push({ chart: c.chart, version: c.version, repository: c.repository, file });
    log(`chart ${c.chart} ${c.version}`);
  }
  // 3. images → one OCI layout
  const layout = new OciLayout(join(o.out, 'images'));
  await layout.init();
  const refs = await readImagesTxt(o.siteDir);
  const builderOf = (ref: string) => {
    const r = parseImageRef(ref);
    return r ? o.builders?.[`${r.registry}/${r.repository}`] : undefined;
  };
  // Built images first, one at a time (each build is CPU-bound: esbuild, tar, gzip).
  const built: BundleImage[] = [];
  const t0 = performance.now();
  for (const ref of refs) {
    const build = builderOf(ref);
    if (!build) continue;
    const t = performance.now();
    const img = await buildImageInto(build, ref, layout);
    log(`image ${ref} ${img.digest} (built from Debian packages in ${((performance.now() - t) / 1000).toFixed(1)} s)`);
    built.push(img);
  }
  const buildSeconds = (performance.now() - t0) / 1000;
  const clients = new Map<string, RegistryClient>();
  const limit = pLimit(o.concurrency ?? 4);
  const pulled = await Promise.all(
    refs
      .filter((ref) => !builderOf(ref))
      .map((ref) =>
        limit(async () => {
          const r = parseImageRef(ref);
          if (!r) throw new Error(`images.txt: ${JSON.stringify(ref)} is not an image reference`);
          const url = registryUrl(r.registry, o.endpoints);
          let client = clients.get(url);
          if (!client) clients.set(url, (client = new RegistryClient(url)));
          const img = await pullImage(client, ref, layout);
          log(`image ${formatImageRef(r)} ${img.digest}`);
          return img;
        }),
      ),
  );
  const images = [...built, ...pulled];
  const withSizes = await Promise.all(images.map(async (i) => ({ ref: i.ref, descriptor: { mediaType: i.mediaType, digest: i.digest, size: (await stat(layout.blobPath(i.digest))).size } })));
  await layout.writeIndex(withSizes);
  // 4. index + signature
  const files: BundleFile[] = [];
  let bytes = 0;
  for (const path of await walk(o.out)) {
    const data = await readFile(join(o.out, path));
    files.push({ path, sha256: sha256Hex(data), size: data.byteLength });
    bytes += data.byteLength;
  }
  const index: BundleIndex = { apiVersion: 'flotilla.dev/bundle/v1', site: o.site, images: images.sort((a, b) => a.ref.localeCompare(b.ref)), charts, files };
  const text = canonicalJson(index);
  await writeFile(join(o.out, INDEX_FILE), text);
  await writeFile(join(o.out, SIG_FILE), `${sign(null, Buffer.from(text), o.signingKey).toString('base64')}\n`);
  return {
    digest: `sha256:${sha256Hex(text)}`,
    files: files.length,
    images: images.length,
    built: built.length,
    buildSeconds,
    charts: charts.length,
    blobsWritten: layout.stats.blobsWritten,
    blobsDeduplicated: layout.stats.blobsDeduplicated,
    bytes,
  };
}

// ---------- verify ----------

export type VerifyProblem = { readonly file: string; readonly problem: 'changed' | 'missing' | 'extra' | 'bad signature' | 'unreadable' };
export type VerifyResult = { ok: true; index: BundleIndex; digest: string } | { ok: false; problems: VerifyProblem[] };

/** Checks the signature over bundle.json, then every file's sha256, and that no file is missing or extra. */
export async function verifyBundle(dir: string, publicKey: KeyObject): Promise<VerifyResult> {
  let text: Buffer;
  let sig: Buffer;
  try {
    text = await readFile(join(dir, INDEX_FILE));
  } catch {
    return { ok: false, problems: [{ file: INDEX_FILE, problem: 'missing' }] };
  }
  try {
    sig = Buffer.from((await readFile(join(dir, SIG_FILE), 'utf8')).trim(), 'base64');
  } catch {
    return { ok: false, problems: [{ file: SIG_FILE, problem: 'missing' }] };
  }
  let good = false;
  try {
    good = verify(null, text, publicKey, sig);
  } catch {
    good = false;
  }
  if (!good) return { ok: false, problems: [{ file: SIG_FILE, problem: 'bad signature' }] };
  let index: BundleIndex;
  try {
    index = JSON.parse(text.toString('utf8')) as BundleIndex;
  } catch {
    return { ok: false, problems: [{ file: INDEX_FILE, problem: 'unreadable' }] };
  }
  const problems: VerifyProblem[] = [];
  const listed = new Map(index.files.map((f) => [f.path, f]));
  const present = new Set((await walk(dir)).filter((p) => p !== INDEX_FILE && p !== SIG_FILE));
  for (const [path, f] of listed) {
    if (!present.has(path)) {
      problems.push({ file: path, problem: 'missing' });
      continue;
    }
    const data = await readFile(join(dir, path));
    if (data.byteLength !== f.size || sha256Hex(data) !== f.sha256) problems.push({ file: path, problem: 'changed' });
  }
  for (const p of present) if (!listed.has(p)) problems.push({ file: p, problem: 'extra' });
  if (problems.length > 0) return { ok: false, problems: problems.sort((a, b) => a.file.localeCompare(b.file)) };
  return { ok: true, index, digest: `sha256:${sha256Hex(text)}` };
}

// ---------- keys ----------

export async function loadPrivateKey(path: string): Promise<KeyObject> {
  const key = createPrivateKey(await readFile(path));
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${path}: expected an ed25519 private key, got ${key.asymmetricKeyType}`);
  return key;
}

export async function loadPublicKey(path: string): Promise<KeyObject> {
  const key = createPublicKey(await readFile(path));
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${path}: expected an ed25519 public key, got ${key.asymmetricKeyType}`);
  return key;
}
