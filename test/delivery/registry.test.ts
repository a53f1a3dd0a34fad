// Two real docker-registry instances on loopback: bundle from A → verify → install into B → every image
// digest in B equals A's; second install pushes 0 blobs; tampering fails verify naming the file;
// registry sync A → B is incremental; charts come from a loopback Helm repo and a local chart cache.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeDir, missingTools, requireTools } from '../lab/index';
import { flotilla, layer, manifestDigest, seedImage, seedIndex, startRegistry, writeInventory, writeKeys, writeSynthTree, type Registry } from './fixtures';

describe('bundle, install and registry sync against real registries', () => {
  let dir = '';
  let inventory = '';
  let a: Registry | undefined;
  let b: Registry | undefined;
  let helm: Server | undefined;
  let keys: ReturnType<typeof writeKeys>;
  let images: string[] = [];
  const eps: string[] = [];
  let ready = false;

  beforeAll(async () => {
    if (missingTools(['docker-registry']).length > 0) return;
    dir = makeDir('delivery-reg');
    try {
      a = await startRegistry('a');
      b = await startRegistry('b');
    } catch {
      return; // the tests report the missing tool through requireTools
    }
    const shared = layer('shared base layer');
    await seedImage(a.url, 'platform/app', '1.0', [shared, layer('app 1.0')]);
    await seedImage(a.url, 'platform/app', '1.1', [shared, layer('app 1.1')]);
    await seedImage(a.url, 'apps/web', '2.0', [shared, layer('web 2.0')]);
    await seedIndex(a.url, 'platform/multi', '1.0', shared);
    images = [`${a.host}/platform/app:1.0`, `${a.host}/platform/app:1.1`, `${a.host}/apps/web:2.0`, `${a.host}/platform/multi:1.0`];
    // a loopback Helm repository serving one chart; the other chart comes from the local cache
    const tgz = layer('chart calico');
    const port = await freePort();
    helm = createServer((req, res) => {
      if (req.url === '/charts/index.yaml') {
        res.end(`apiVersion: v1\nentries:\n  tigera-operator:\n    - version: v3.28.0\n      urls: [tigera-operator-v3.28.0.tgz]\n      digest: ${createHash('sha256').update(tgz).digest('hex')}\n`);
      } else if (req.url === '/charts/tigera-operator-v3.28.0.tgz') res.end(tgz);
      else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => helm!.listen(port, '127.0.0.1', r));
    mkdirSync(join(dir, 'chart-cache'));
    writeFileSync(join(dir, 'chart-cache', 'cert-manager-v1.15.0.tgz'), layer('chart cert-manager'));
    const charts = [
      { cluster: 'lab-a', id: 'tigera-operator', component: 'calico', chart: 'tigera-operator', repository: `http://127.0.0.1:${port}/charts`, version: 'v3.28.0', namespace: 'tigera-operator', values: {}, images: [] },
      { cluster: 'lab-a', id: 'cert-manager', component: 'cert-manager', chart: 'cert-manager', repository: 'https://charts.jetstack.io', version: 'v1.15.0', namespace: 'cert-manager', values: {}, images: [] },
    ];
    writeSynthTree(join(dir, 'synth'), 'lab', { images, charts, nodes: [{ name: 'lab-m1', master: true }], registryHost: 'registry.lab.example.com' });
    keys = writeKeys(dir);
    inventory = writeInventory(dir, { registryHost: 'registry.lab.example.com', mirrors: [{ host: 'registry-a.lab.example.com', repositories: ['platform/*'] }] });
    eps.push('--registry-endpoint', `registry.lab.example.com=${b.url}`, '--registry-endpoint', `registry-a.lab.example.com=${a.url}`);
    ready = true;
  }, 120_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await new Promise((r) => (helm ? helm.close(r) : r(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const bundleArgs = (out: string) => ['bundle', inventory, '--out', out, '--signing-key', keys.priv, '--synth-dir', join(dir, 'synth'), '--chart-cache', join(dir, 'chart-cache'), ...eps];

  it('bundles reproducibly, verifies, installs into B with equal digests, and a second install pushes 0 blobs', async (ctx) => {
    requireTools(ctx, ['docker-registry']);
    expect(ready).toBe(true);
    const out1 = join(dir, 'bundle1');
    const r1 = await flotilla(bundleArgs(out1));
    expect(r1.code, r1.stderr).toBe(0);
    const digest1 = /digest (sha256:[a-f0-9]{64})/.exec(r1.stdout)?.[1];
    expect(digest1).toBeDefined();
    // shared layer stored once: 4 images, index children + their layers deduplicated
    expect(r1.stdout).toMatch(/4 images \(\d+ blobs, [1-9]\d* deduplicated\), 2 charts/);
    const out2 = join(dir, 'bundle2');
    const r2 = await flotilla(bundleArgs(out2));
    expect(r2.code, r2.stderr).toBe(0);
    expect(/digest (sha256:[a-f0-9]{64})/.exec(r2.stdout)?.[1]).toBe(digest1);
    expect(readFileSync(join(out2, 'bundle.json'), 'utf8')).toBe(readFileSync(join(out1, 'bundle.json'), 'utf8'));

    const v = await flotilla(['bundle', 'verify', out1, '--public-key', keys.pub]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain(digest1!);

    const i1 = await flotilla(['install', inventory, '--bundle', out1, '--public-key', keys.pub, '--no-hosts', '--no-pulumi', ...eps]);
    expect(i1.code, i1.stdout + i1.stderr).toBe(0);
    expect(i1.stdout).toMatch(/images: 4 pushed, 0 unchanged; blobs [1-9]\d* pushed, [1-9]\d* mounted/);
    expect(i1.stdout).toMatch(new RegExp(`^next: pulumi up --cwd \\S+ --stack lab --config flotilla:inventory=${inventory} --config flotilla:bundle=${out1}$`, 'm'));
    for (const ref of images) {
      const [, repo, tag] = /^[^/]+\/(.+):([^:]+)$/.exec(ref)!;
      const inA = await manifestDigest(a!.url, repo!, tag!);
      expect(inA).toMatch(/^sha256:/);
      expect(await manifestDigest(b!.url, repo!, tag!), ref).toBe(inA);
    }

    const i2 = await flotilla(['install', inventory, '--bundle', out1, '--public-key', keys.pub, '--no-hosts', '--no-pulumi', ...eps]);
    expect(i2.code, i2.stdout + i2.stderr).toBe(0);
    expect(i2.stdout).toContain('images: 0 pushed, 4 unchanged; blobs 0 pushed, 0 mounted');
    expect(i2.stdout).toContain('no changes');
  }, 180_000);

  it('verify names a changed, missing or extra file and a bad signature', async (ctx) => {
    requireTools(ctx, ['docker-registry']);
    expect(ready).toBe(true);
    const good = join(dir, 'bundle-good');
    expect((await flotilla(bundleArgs(good))).code).toBe(0);
    const copy = (name: string) => {
      const d = join(dir, name);
      cpSync(good, d, { recursive: true });
      return d;
    };
    const changed = copy('t-changed');
    writeFileSync(join(changed, 'site/hosts/lab-m1/keepalived.conf'), 'tampered\n');
    let r = await flotilla(['bundle', 'verify', changed, '--public-key', keys.pub]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('site/hosts/lab-m1/keepalived.conf: changed');

    const blob = JSON.parse(readFileSync(join(good, 'bundle.json'), 'utf8')).files.find((f: { path: string }) => f.path.startsWith('images/blobs/')).path as string;
    const missing = copy('t-missing');
    rmSync(join(missing, blob));
    r = await flotilla(['bundle', 'verify', missing, '--public-key', keys.pub]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${blob}: missing`);

    const extra = copy('t-extra');
    writeFileSync(join(extra, 'charts', 'evil-1.0.0.tgz'), 'x');
    r = await flotilla(['bundle', 'verify', extra, '--public-key', keys.pub]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('charts/evil-1.0.0.tgz: extra');

    const sig = copy('t-sig');
    const idx = readFileSync(join(sig, 'bundle.json'), 'utf8');
    writeFileSync(join(sig, 'bundle.json'), idx.replace('"site": "lab"', '"site": "lab2"'));
    r = await flotilla(['bundle', 'verify', sig, '--public-key', keys.pub]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bundle.json.sig: bad signature');

    r = await flotilla(['bundle', 'verify', good, '--public-key', keys.otherPub]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad signature');

    // install refuses a tampered bundle before touching anything
    r = await flotilla(['install', inventory, '--bundle', changed, '--public-key', keys.pub, '--no-hosts', '--no-pulumi', ...eps]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('keepalived.conf: changed');
  }, 180_000);

  it('registry sync A → B copies only what is missing; a second sync copies nothing', async (ctx) => {
    requireTools(ctx, ['docker-registry']);
    expect(ready).toBe(true);
    await seedImage(a!.url, 'platform/app', '1.2', [layer('shared base layer'), layer('app 1.2')]);
    await seedImage(a!.url, 'platform/new', '0.1', [layer('new')]);
    await seedImage(a!.url, 'other/ignored', '1.0', [layer('ignored')]);
    const status = join(dir, 'sync-status.json');
    const s1 = await flotilla(['registry', 'sync', inventory, '--status', status, '--format', 'json', ...eps]);
    expect(s1.code, s1.stderr).toBe(0);
    const first = JSON.parse(s1.stdout)[0];
    expect(first.manifestsCopied).toBeGreaterThanOrEqual(2); // app:1.2, new:0.1 (+ multi's per-arch tags if not yet there)
    expect(await manifestDigest(b!.url, 'platform/app', '1.2')).toBe(await manifestDigest(a!.url, 'platform/app', '1.2'));
    expect(await manifestDigest(b!.url, 'platform/new', '0.1')).toBe(await manifestDigest(a!.url, 'platform/new', '0.1'));
    expect(await manifestDigest(b!.url, 'other/ignored', '1.0')).toBeUndefined();

    const s2 = await flotilla(['registry', 'sync', inventory, '--status', status, '--format', 'json', ...eps]);
    expect(s2.code, s2.stderr).toBe(0);
    const second = JSON.parse(s2.stdout)[0];
    expect(second).toMatchObject({ manifestsCopied: 0, blobsCopied: 0, blobsMounted: 0, ok: true });
    expect(second.tagsUpToDate).toBe(first.tags);
    const file = JSON.parse(readFileSync(status, 'utf8'));
    expect(file.sources['registry-a.lab.example.com'].lastSuccessAt).toBeDefined();
  }, 180_000);

  it('pulls through a registry that demands Bearer tokens (401 challenge → token → retry)', async (ctx) => {
    requireTools(ctx, ['docker-registry']);
    expect(ready).toBe(true);
    const tokens: string[] = [];
    const port = await freePort();
    // An auth front in front of registry A, as a reverse proxy with token auth would be.
    const front = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      if (url.pathname === '/token') {
        const scope = url.searchParams.get('scope') ?? '';
        tokens.push(`${url.searchParams.get('service')} ${scope}`);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ token: `tok:${scope}` }));
        return;
      }
      const repo = /^\/v2\/(.+)\/(manifests|blobs)\//.exec(url.pathname)?.[1] ?? '';
      const want = `Bearer tok:repository:${repo}:pull`;
      if (req.headers.authorization !== want) {
        res.statusCode = 401;
        res.setHeader('www-authenticate', `Bearer realm="http://127.0.0.1:${port}/token",service="lab-registry",scope="repository:${repo}:pull"`);
        res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      const up = await fetch(`${a!.url}${url.pathname}${url.search}`, { method: req.method, headers: { accept: String(req.headers.accept ?? '*/*') } });
      res.statusCode = up.status;
      for (const h of ['content-type', 'docker-content-digest', 'content-length']) {
        const v = up.headers.get(h);
        if (v) res.setHeader(h, v);
      }
      res.end(Buffer.from(await up.arrayBuffer()));
    });
    await new Promise<void>((r) => front.listen(port, '127.0.0.1', r));
    try {
      const synth = join(dir, 'synth-auth');
      writeSynthTree(synth, 'lab', { images: ['secure.lab.example.com/platform/app:1.0', 'secure.lab.example.com/platform/multi:1.0'], charts: [], nodes: [], registryHost: 'registry.lab.example.com' });
      const out = join(dir, 'bundle-auth');
      const r = await flotilla(['bundle', inventory, '--out', out, '--signing-key', keys.priv, '--synth-dir', synth, '--registry-endpoint', `secure.lab.example.com=http://127.0.0.1:${port}`]);
      expect(r.code, r.stderr).toBe(0);
      const index = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8')) as { images: { ref: string; digest: string }[] };
      expect(index.images.find((i) => i.ref.endsWith('app:1.0'))?.digest).toBe(await manifestDigest(a!.url, 'platform/app', '1.0'));
      expect(index.images.find((i) => i.ref.endsWith('multi:1.0'))?.digest).toBe(await manifestDigest(a!.url, 'platform/multi', '1.0'));
      expect(tokens).toEqual(expect.arrayContaining(['lab-registry repository:platform/app:pull', 'lab-registry repository:platform/multi:pull']));
      expect(tokens.length).toBeLessThanOrEqual(4); // tokens are cached per scope, not fetched per request
    } finally {
      await new Promise((r) => front.close(r));
    }
  }, 180_000);
});
