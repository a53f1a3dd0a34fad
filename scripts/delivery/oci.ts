// A small OCI distribution client (fetch-based): manifests (incl. image indexes / manifest lists),
// blobs with digest verification, Bearer token auth on a 401 challenge, HEAD-skip and
// cross-repository mount when pushing. Enough for bundle, install and registry sync.
import { createHash } from 'node:crypto';

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;
export const MANIFEST_ACCEPT = Object.values(MediaTypes).join(', ');

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Record<string, unknown>;
  readonly annotations?: Record<string, string>;
}


export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function isIndex(mediaType: string): boolean {
  return mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerList;
}

/** Children of a manifest: for an index its manifests, for an image its config + layers. */
export function referencedDescriptors(mediaType: string, body: Uint8Array): { manifests: Descriptor[]; blobs: Descriptor[] } {
  const doc = JSON.parse(Buffer.from(body).toString('utf8')) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
  if (isIndex(mediaType)) return { manifests: doc.manifests ?? [], blobs: [] };
  return { manifests: [], blobs: [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])] };
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

/** Maps a registry host (as written in references/inventories) to the base URL to use. */
export type EndpointMap = ReadonlyMap<string, string>;

/** Parses `HOST=URL` pairs (`--registry-endpoint registry.bj1.example.com=http://127.0.0.1:5000`). */
export function parseEndpoints(pairs: readonly string[]): { ok: true; map: Map<string, string> } | { ok: false; error: string } {
  const map = new Map<string, string>();
  for (const p of pairs) {
    const i = p.indexOf('=');
    const host = p.slice(0, i);
    const url = p.slice(i + 1);
    if (i <= 0 || !/^https?:\/\/[^/]+\/?$/.test(url)) {
      return { ok: false, error: `--registry-endpoint ${JSON.stringify(p)} is not HOST=URL: expected e.g. registry.bj1.example.com=https://10.10.0.5:5000` };
    }
    map.set(host, url.replace(/\/$/, ''));
  }
  return { ok: true, map };
}

/** Base URL of a registry host: the endpoint map wins; loopback hosts are plain http; else https. */
export function registryUrl(host: string, endpoints: EndpointMap = new Map()): string {
  const mapped = endpoints.get(host);
  if (mapped) return mapped;
  if (host === 'docker.io') return 'https://registry-1.docker.io';
  if (/^(localhost|127\.\d+\.\d+\.\d+)(:\d+)?$/.test(host)) return `http://${host}`;
  return `https://${host}`;
}

export interface RegistryStats {
  requests: number;
  blobsPushed: number;
  blobsMounted: number;
  blobsSkipped: number;
  bytesPushed: number;
  manifestsPushed: number;
  manifestsSkipped: number;
}

export const emptyStats = (): RegistryStats => ({
  requests: 0,
  blobsPushed: 0,
  blobsMounted: 0,
  blobsSkipped: 0,
  bytesPushed: 0,
  manifestsPushed: 0,
  manifestsSkipped: 0,
});

/** One registry (base URL). Tokens are cached per scope; secrets are never logged. */
export class RegistryClient {
  readonly stats: RegistryStats = emptyStats();
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    private readonly opts: { timeoutMs?: number; basicAuth?: string; /** @default - the global fetch (system trust) */ fetch?: typeof fetch } = {},
  ) {}

  private async request(method: string, path: string, init: { headers?: Record<string, string>; body?: Uint8Array; scope?: string } = {}): Promise<Response> {
    const url = path.startsWith('http') ? path : `${this.baseUrl}${path}`;
    const doFetch = (auth?: string) => {
      this.stats.requests++;
      return (this.opts.fetch ?? fetch)(url, {
        method,
        headers: { ...(init.headers ?? {}), ...(auth ? { authorization: auth } : {}) },
        body: init.body,
        redirect: 'follow',
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000),
      });
    };
    const key = init.scope ?? '';
    let res = await doFetch(this.tokens.get(key));
    if (res.status === 401) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      await res.arrayBuffer().catch(() => undefined);
      const auth = await this.authenticate(challenge);
      if (!auth) throw new RegistryError(`${method} ${url}: 401 unauthorized (challenge: ${challenge || 'none'})`, 401);
      this.tokens.set(key, auth);
      res = await doFetch(auth);
    }
    return res;
  }

  private async authenticate(challenge: string): Promise<string | undefined> {
    if (/^basic/i.test(challenge)) return this.opts.basicAuth ? `Basic ${Buffer.from(this.opts.basicAuth).toString('base64')}` : undefined;
    if (!/^bearer/i.test(challenge)) return undefined;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!params.realm) return undefined;
    const u = new URL(params.realm);
    if (params.service) u.searchParams.set('service', params.service);
    if (params.scope) u.searchParams.set('scope', params.scope);
    const res = await (this.opts.fetch ?? fetch)(u, {
      headers: this.opts.basicAuth ? { authorization: `Basic ${Buffer.from(this.opts.basicAuth).toString('base64')}` } : {},
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000),
    });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : undefined;
  }

  private fail(what: string, res: Response, body = ''): never {
    throw new RegistryError(`${what}: ${this.baseUrl} answered ${res.status} ${res.statusText}${body ? ` ${body.slice(0, 200)}` : ''}`, res.status);
  }

  /** Fetches a manifest by tag or digest; verifies the digest when asked by digest. */
  async getManifest(repo: string, ref: string): Promise<{ mediaType: string; digest: string; body: Uint8Array }> {
    const res = await this.request('GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: MANIFEST_ACCEPT }, scope: `repository:${repo}:pull` });
    if (!res.ok) this.fail(`get manifest ${repo}:${ref}`, res, await res.text());
    const body = new Uint8Array(await res.arrayBuffer());
    const digest = sha256Digest(body);
    if (ref.startsWith('sha256:') && ref !== digest) throw new RegistryError(`manifest ${repo}@${ref}: content digest is ${digest}`);
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim() || (JSON.parse(Buffer.from(body).toString()) as { mediaType?: string }).mediaType || MediaTypes.ociManifest;
    return { mediaType, digest, body };
  }

  /** Digest of a manifest if present (HEAD), else undefined. */
  async headManifest(repo: string, ref: string): Promise<string | undefined> {
    const res = await this.request('HEAD', `/v2/${repo}/manifests/${ref}`, { headers: { accept: MANIFEST_ACCEPT }, scope: `repository:${repo}:pull` });
    if (res.status === 404) return undefined;
    if (!res.ok) this.fail(`head manifest ${repo}:${ref}`, res);
    return res.headers.get('docker-content-digest') ?? undefined;
  }

  async putManifest(repo: string, ref: string, mediaType: string, body: Uint8Array): Promise<void> {
    const res = await this.request('PUT', `/v2/${repo}/manifests/${ref}`, {
      headers: { 'content-type': mediaType },
      body,
      scope: `repository:${repo}:pull,push`,
    });
    if (!res.ok) this.fail(`put manifest ${repo}:${ref}`, res, await res.text());
    await res.arrayBuffer();
    this.stats.manifestsPushed++;
  }

  /** Downloads a blob and verifies its digest. */
  async getBlob(repo: string, digest: string): Promise<Uint8Array> {
    const res = await this.request('GET', `/v2/${repo}/blobs/${digest}`, { scope: `repository:${repo}:pull` });
    if (!res.ok) this.fail(`get blob ${repo}@${digest}`, res, await res.text());
    const body = new Uint8Array(await res.arrayBuffer());
    const got = sha256Digest(body);
    if (got !== digest) throw new RegistryError(`blob ${repo}@${digest}: downloaded content has digest ${got}`);
    return body;
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, { scope: `repository:${repo}:pull` });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 404) return false;
    if (!res.ok) this.fail(`head blob ${repo}@${digest}`, res);
    return true;
  }

  /**
   * Ensures `repo` has the blob: skip when present, else mount from `mountFrom` (another repository
   * in this registry that has it), else upload `load()` monolithically.
   */
  async ensureBlob(repo: string, digest: string, load: () => Promise<Uint8Array>, mountFrom?: string): Promise<'skipped' | 'mounted' | 'pushed'> {
    if (await this.hasBlob(repo, digest)) {
      this.stats.blobsSkipped++;
      return 'skipped';
    }
    const scope = `repository:${repo}:pull,push`;
    let location: string | undefined;
    if (mountFrom && mountFrom !== repo) {
      const res = await this.request('POST', `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}`, { scope });
      await res.arrayBuffer();
      if (res.status === 201) {
        this.stats.blobsMounted++;
        return 'mounted';
      }
      if (res.status !== 202) this.fail(`mount blob ${digest} into ${repo}`, res);
      location = res.headers.get('location') ?? undefined;
    }
    if (!location) {
      const res = await this.request('POST', `/v2/${repo}/blobs/uploads/`, { scope });
      await res.arrayBuffer();
      if (res.status !== 202) this.fail(`start upload into ${repo}`, res);
      location = res.headers.get('location') ?? undefined;
      if (!location) throw new RegistryError(`start upload into ${repo}: no Location header`);
    }
    const data = await load();
    const url = new URL(location, this.baseUrl);
    url.searchParams.set('digest', digest);
    const put = await this.request('PUT', url.toString(), {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.byteLength) },
      body: data,
      scope,
    });
    if (put.status !== 201) this.fail(`upload blob ${digest} into ${repo}`, put, await put.text());
    await put.arrayBuffer();
    this.stats.blobsPushed++;
    this.stats.bytesPushed += data.byteLength;
    return 'pushed';
  }

  /** Repositories (paginated `_catalog`). */
  async catalog(): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = '/v2/_catalog?n=1000';
    for (let page = 0; path && page < 1000; page++) {
      const res = await this.request('GET', path, { scope: 'registry:catalog:*' });
      if (!res.ok) this.fail('list repositories', res, await res.text());
      out.push(...(((await res.json()) as { repositories?: string[] }).repositories ?? []));
      path = nextLink(res.headers.get('link'));
    }
    return out;
  }

  async tags(repo: string): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = `/v2/${repo}/tags/list?n=1000`;
    for (let page = 0; path && page < 1000; page++) {
      const res = await this.request('GET', path, { scope: `repository:${repo}:pull` });
      if (res.status === 404) return [];
      if (!res.ok) this.fail(`list tags of ${repo}`, res, await res.text());
      out.push(...(((await res.json()) as { tags?: string[] | null }).tags ?? []));
      path = nextLink(res.headers.get('link'));
    }
    return out.sort();
  }
}

function nextLink(link: string | null): string | undefined {
  const m = link ? /<([^>]+)>;\s*rel="next"/.exec(link) : null;
  return m ? m[1] : undefined;
}

/** Blob/manifest source used when copying an image graph (a registry or an OCI layout). */
export interface ContentSource {
  manifest(repo: string, ref: string): Promise<{ mediaType: string; digest: string; body: Uint8Array }>;
  blob(repo: string, digest: string): Promise<Uint8Array>;
}

export function registrySource(client: RegistryClient): ContentSource {
  return { manifest: (r, ref) => client.getManifest(r, ref), blob: (r, d) => client.getBlob(r, d) };
}

/** Blob digest → the repository (in the target) that has it, resolved once its push settled. */
export type MountSources = Map<string, Promise<string | undefined>>;

/**
 * Copies the manifest graph at `digest` (already fetched as `root`) into `target/repo`, children
 * first; the blobs of one manifest go in parallel, each skipped (HEAD), mounted from a repository
 * that already got it in this run (`mountable`, shared across concurrent copies), or uploaded.
 * The root is stored under `ref` (tag or digest).
 */
export async function pushGraph(
  source: ContentSource,
  sourceRepo: string,
  target: RegistryClient,
  repo: string,
  root: { mediaType: string; digest: string; body: Uint8Array },
  mountable: MountSources,
  ref: string = root.digest,
): Promise<void> {
  const refs = referencedDescriptors(root.mediaType, root.body);
  for (const child of refs.manifests) {
    const existing = await target.headManifest(repo, child.digest);
    if (existing === child.digest) {
      target.stats.manifestsSkipped++;
      continue;
    }
    const m = await source.manifest(sourceRepo, child.digest);
    await pushGraph(source, sourceRepo, target, repo, m, mountable, child.digest);
  }
  await Promise.all(
    refs.blobs.map(async (b) => {
      const load = () => source.blob(sourceRepo, b.digest);
      const known = mountable.get(b.digest);
      if (known) {
        await target.ensureBlob(repo, b.digest, load, await known);
        return;
      }
      const p = target.ensureBlob(repo, b.digest, load);
      mountable.set(b.digest, p.then(() => repo, () => undefined));
      await p;
    }),
  );
  await target.putManifest(repo, ref, root.mediaType, root.body);
}
