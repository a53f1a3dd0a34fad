// The images Flotilla builds itself (cluster-mgr and keepalived: no registry has them) travel in the
// air-gap bundle like every other image: `flotilla bundle` builds them from Debian packages (the
// references synthesis writes in images.txt), stores them in the bundle's one OCI layout under the
// signed checksums, and `flotilla install` pushes them into a real docker-registry, which then serves
// them by digest. The digests are compared with a direct build (scripts/image/build.ts) in this file.
//
// Cost: each image is built twice here (once directly, once by `flotilla bundle`); with warm package
// caches (~/.cache/flotilla) cluster-mgr takes ~18 s and keepalived ~38 s per build on this machine.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_MGR_IMAGE as CLUSTER_MGR_REF } from '../../constructs/federation-control';
import { KEEPALIVED_IMAGE as KEEPALIVED_REF } from '../../constructs/edge-gateway';
import { buildClusterMgrImage, buildKeepalivedImage, type BuiltImage } from '../../scripts/image/build';
import { makeDir, missingTools, requireTools } from '../lab/index';
import { flotilla, layer, manifestDigest, seedImage, startRegistry, writeInventory, writeKeys, writeSynthTree, type Registry } from './fixtures';

const TOOLS = ['docker-registry', 'apt-get', 'apt-cache', 'dpkg-deb', 'tar', 'gzip'];
const SITE_REGISTRY = 'registry.lab.example.com';
const ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';

describe('built images (cluster-mgr, keepalived) in the bundle and the site registry', () => {
  const dir = makeDir('delivery-built');
  const direct: Record<string, BuiltImage> = {};
  let source: Registry | undefined;
  let site: Registry | undefined;
  let inventory = '';
  let keys: ReturnType<typeof writeKeys>;
  let pulled = '';

  beforeAll(async () => {
    if (missingTools(TOOLS).length > 0) return;
    // the direct builds the bundle is compared with (one each)
    direct[CLUSTER_MGR_REF] = await buildClusterMgrImage({ out: join(dir, 'direct-cluster-mgr') });
    direct[KEEPALIVED_REF] = await buildKeepalivedImage({ out: join(dir, 'direct-keepalived') });
    source = await startRegistry('built-src');
    site = await startRegistry('built-site');
    await seedImage(source.url, 'platform/app', '1.0', [layer('built test app')]);
    pulled = `${source.host}/platform/app:1.0`;
    writeSynthTree(join(dir, 'synth'), 'lab', { images: [CLUSTER_MGR_REF, KEEPALIVED_REF, pulled], charts: [], nodes: [{ name: 'lab-m1', master: true }], registryHost: SITE_REGISTRY });
    keys = writeKeys(dir);
    inventory = writeInventory(dir, { registryHost: SITE_REGISTRY });
  }, 600_000);

  afterAll(async () => {
    await source?.stop();
    await site?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bundle builds them (digests equal to a direct build), checksums and signature cover them, install pushes them and the registry serves them by digest', async (ctx) => {
    requireTools(ctx, TOOLS);
    const bundle = join(dir, 'bundle');
    const b = await flotilla(['bundle', inventory, '--out', bundle, '--signing-key', keys.priv, '--synth-dir', join(dir, 'synth')], { timeoutMs: 600_000 });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/3 images \(2 built in \d+\.\d s, /);
    console.log(b.stdout.trim());

    // bundle.json lists both with the direct builds' digests; the pulled one is not marked built
    const index = JSON.parse(readFileSync(join(bundle, 'bundle.json'), 'utf8')) as { images: { ref: string; digest: string; built?: boolean }[]; files: { path: string; sha256: string }[] };
    for (const ref of [CLUSTER_MGR_REF, KEEPALIVED_REF]) {
      expect(index.images.find((i) => i.ref === ref), ref).toEqual({ ref, digest: direct[ref]!.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', built: true });
    }
    expect(index.images.find((i) => i.ref === pulled)?.built).toBeUndefined();
    // the layout's index names them, and every blob of theirs is a checksummed bundle file
    const layoutIndex = JSON.parse(readFileSync(join(bundle, 'images', 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    for (const ref of [CLUSTER_MGR_REF, KEEPALIVED_REF]) {
      const img = direct[ref]!;
      expect(layoutIndex.manifests.find((m) => m.annotations['io.containerd.image.name'] === ref)?.digest).toBe(img.digest);
      const manifest = JSON.parse(readFileSync(join(img.layout, 'blobs', 'sha256', img.digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: { digest: string }[] };
      for (const d of [img.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
        expect(index.files.find((f) => f.path === `images/blobs/sha256/${d.slice(7)}`)?.sha256, `${ref} blob ${d}`).toBe(d.slice(7));
      }
    }

    // the signature covers them: a changed byte in cluster-mgr's layer is named by verify
    const cm = direct[CLUSTER_MGR_REF]!;
    const layerFile = join(bundle, 'images', 'blobs', 'sha256', cm.layerDigest.slice(7));
    const original = readFileSync(layerFile);
    const tampered = Buffer.from(original);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 0xff, tampered.length - 1);
    writeFileSync(layerFile, tampered);
    const bad = await flotilla(['bundle', 'verify', bundle, '--public-key', keys.pub]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`images/blobs/sha256/${cm.layerDigest.slice(7)}: changed`);
    writeFileSync(layerFile, original);
    const good = await flotilla(['bundle', 'verify', bundle, '--public-key', keys.pub]);
    expect(good.code, good.stderr).toBe(0);

    // install pushes them into the site registry under their path (ghcr.io/flotilla-dev/x → flotilla-dev/x)
    const eps = ['--registry-endpoint', `${SITE_REGISTRY}=${site!.url}`];
    const i1 = await flotilla(['install', inventory, '--bundle', bundle, '--public-key', keys.pub, '--no-hosts', '--no-pulumi', ...eps], { timeoutMs: 300_000 });
    expect(i1.code, i1.stdout + i1.stderr).toBe(0);
    expect(i1.stdout).toMatch(/images: 3 pushed, 0 unchanged/);
    for (const ref of [CLUSTER_MGR_REF, KEEPALIVED_REF]) {
      const img = direct[ref]!;
      const [, repo, tag] = /^[^/]+\/(.+):([^:]+)$/.exec(ref)!;
      expect(await manifestDigest(site!.url, repo!, tag!), ref).toBe(img.digest);
      // by digest: the manifest bytes and every blob, as containerd pulls them
      const m = await fetch(`${site!.url}/v2/${repo}/manifests/${img.digest}`, { headers: { accept: ACCEPT } });
      expect(m.status).toBe(200);
      expect(Buffer.from(await m.arrayBuffer()).equals(readFileSync(join(img.layout, 'blobs', 'sha256', img.digest.slice(7))))).toBe(true);
      for (const d of [img.layerDigest]) {
        const blob = await fetch(`${site!.url}/v2/${repo}/blobs/${d}`, { method: 'HEAD' });
        expect(blob.status, `${ref} ${d}`).toBe(200);
        expect(blob.headers.get('docker-content-digest')).toBe(d);
      }
    }
    const i2 = await flotilla(['install', inventory, '--bundle', bundle, '--public-key', keys.pub, '--no-hosts', '--no-pulumi', ...eps], { timeoutMs: 300_000 });
    expect(i2.code, i2.stdout + i2.stderr).toBe(0);
    expect(i2.stdout).toContain('images: 0 pushed, 3 unchanged; blobs 0 pushed, 0 mounted');
  }, 900_000);
});
