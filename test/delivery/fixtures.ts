// Shared fixtures for the delivery tests: real docker-registry instances on loopback, small images
// seeded through the registry API (raw fetch, independent of the code under test), signing keys,
// a synth-like output tree and a Site inventory.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { freePort, makeDir, run, startDaemon, waitForPort, type Daemon } from '../lab/index';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

export interface Registry {
  readonly url: string;
  readonly host: string;
  readonly daemon: Daemon;
  stop(): Promise<void>;
}

export async function startRegistry(name: string): Promise<Registry> {
  const port = await freePort();
  const dir = makeDir(`reg-${name}`);
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const daemon = startDaemon({ name: `registry-${name}`, command: 'docker-registry', args: ['serve', join(dir, 'config.yml')], dir });
  await waitForPort('127.0.0.1', port, { timeoutMs: 10_000 });
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    daemon,
    async stop() {
      await daemon.stop();
      await run('rm', ['-rf', dir]);
    },
  };
}

const digestOf = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function uploadBlob(url: string, repo: string, data: Uint8Array): Promise<{ digest: string; size: number }> {
  const digest = digestOf(data);
  const head = await fetch(`${url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  if (head.status === 200) return { digest, size: data.byteLength };
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`seed: start upload ${start.status}`);
  const loc = new URL(start.headers.get('location')!, url);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`seed: put blob ${put.status} ${await put.text()}`);
  return { digest, size: data.byteLength };
}

async function putManifest(url: string, repo: string, ref: string, mediaType: string, body: string): Promise<string> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body, headers: { 'content-type': mediaType } });
  if (res.status !== 201) throw new Error(`seed: put manifest ${repo}:${ref} ${res.status} ${await res.text()}`);
  return digestOf(Buffer.from(body));
}

/** A deterministic small layer (gzip of some text). */
export const layer = (text: string): Uint8Array => new Uint8Array(gzipSync(Buffer.from(`${text}\n`.repeat(50)), { level: 9 }));

/** Seeds an OCI image (config + gzip layers, diff_ids of the uncompressed layers) and tags it; returns the manifest digest. */
export async function seedImage(url: string, repo: string, tag: string, layers: Uint8Array[], arch = 'amd64'): Promise<{ digest: string; size: number }> {
  const config = Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => digestOf(gunzipSync(l))) } }));
  const cfg = await uploadBlob(url, repo, config);
  const ls = [];
  for (const l of layers) ls.push(await uploadBlob(url, repo, l));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
    layers: ls.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
  });
  const digest = await putManifest(url, repo, tag, 'application/vnd.oci.image.manifest.v1+json', manifest);
  return { digest, size: Buffer.byteLength(manifest) };
}

/** Seeds a two-platform image index whose images share a layer. */
export async function seedIndex(url: string, repo: string, tag: string, shared: Uint8Array): Promise<string> {
  const amd = await seedImage(url, repo, `${tag}-amd64`, [shared, layer(`${repo} amd64`)], 'amd64');
  const arm = await seedImage(url, repo, `${tag}-arm64`, [shared, layer(`${repo} arm64`)], 'arm64');
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...amd, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...arm, platform: { architecture: 'arm64', os: 'linux' } },
    ],
  });
  return putManifest(url, repo, tag, 'application/vnd.oci.image.index.v1+json', index);
}

/** Digest of repo:tag as the registry reports it (HEAD, all manifest types accepted). */
export async function manifestDigest(url: string, repo: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json',
    },
  });
  return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
}

export function writeKeys(dir: string): { priv: string; pub: string; otherPub: string } {
  const k = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const priv = join(dir, 'signing.pem');
  const pub = join(dir, 'signing.pub.pem');
  const otherPub = join(dir, 'other.pub.pem');
  writeFileSync(priv, k.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  writeFileSync(pub, k.publicKey.export({ format: 'pem', type: 'spki' }));
  writeFileSync(otherPub, other.publicKey.export({ format: 'pem', type: 'spki' }));
  return { priv, pub, otherPub };
}

export interface InventoryOptions {
  readonly site?: string;
  readonly registryHost?: string;
  readonly mirrors?: { host: string; repositories: string[] }[];
  readonly nodes?: { name: string; address: string; roles: string[] }[];
  readonly routers?: { name: string; address: string; asNumber: number }[];
  readonly apiVip?: string;
  readonly sshPort?: number;
  readonly timeout?: string;
  readonly concurrency?: number;
  /** Jump host address (spec.ssh.bastion.host). */
  readonly bastion?: string;
  /** File name inside dir (default site.yaml). */
  readonly file?: string;
}

/** A Site inventory (validated by the real loader when the CLI runs). */
export function writeInventory(dir: string, o: InventoryOptions = {}): string {
  const nodes = o.nodes ?? [{ name: 'lab-m1', address: '10.10.1.11', roles: ['master'] }];
  const text = `apiVersion: flotilla.dev/v1alpha1
kind: Site
metadata:
  name: ${o.site ?? 'lab'}
spec:
  environment: test
  domain: lab.example.com
  ssh:
    user: root
    port: ${o.sshPort ?? 22}
    privateKeyFile: ./id_ed25519
    knownHostsFile: ./known_hosts
    timeout: ${o.timeout ?? '3s'}
    concurrency: ${o.concurrency ?? 10}
${o.bastion ? `    bastion: { host: ${o.bastion} }\n` : ''}  network:
    asNumber: 64512
    podCIDR: 10.244.0.0/16
    serviceCIDR: 10.96.0.0/12
    routers: ${JSON.stringify(o.routers ?? [])}
  registry:
    host: ${o.registryHost ?? 'registry.lab.example.com'}
    mirrors: ${JSON.stringify(o.mirrors ?? [])}
  storage:
    default: nfs
    nfs: { server: 10.10.0.50, path: /export/k8s }
  certificates:
    issuer: ca
  logging:
    elasticsearch: { nodes: 1 }
  clusters:
    - name: lab-a
      kubeconfig: ./kubeconfig.yaml
      apiVIP: { address: ${o.apiVip ?? '10.10.1.10/24'}, interface: eth0, virtualRouterId: 10 }
      nodes: ${JSON.stringify(nodes)}
`;
  const file = join(dir, o.file ?? 'site.yaml');
  writeFileSync(file, text);
  return file;
}

/** A synth-like output tree: OUT/<site>/{images.txt,charts.json,clusters/…,hosts/<node>/…}. */
export function writeSynthTree(out: string, site: string, o: { images: string[]; charts: object[]; nodes: { name: string; master: boolean }[]; registryHost: string; variant?: string }): string {
  const base = join(out, site);
  const put = (p: string, content: string) => {
    mkdirSync(join(base, p, '..'), { recursive: true });
    writeFileSync(join(base, p), content);
  };
  put('images.txt', `${[...o.images].sort().join('\n')}\n`);
  put('charts.json', `${JSON.stringify({ charts: o.charts }, null, 2)}\n`);
  put('clusters/lab-a/registry.k8s.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: registry\n');
  put('summary.json', '{"site":"lab"}\n');
  for (const n of o.nodes) {
    put(`hosts/${n.name}/containerd/certs.d/${o.registryHost}/hosts.toml`, `server = "https://${o.registryHost}"\n\n[host."https://${o.registryHost}"]\n  capabilities = ["pull", "resolve"]\n# ${o.variant ?? 'v1'}\n`);
    if (n.master) {
      put(`hosts/${n.name}/keepalived.conf`, `vrrp_instance api { # ${n.name} ${o.variant ?? 'v1'}\n}\n`);
      put(`hosts/${n.name}/check_apiserver.sh`, '#!/bin/sh\ncurl -sfk https://localhost:6443/healthz\n');
      put(`hosts/${n.name}/haproxy.cfg`, 'frontend api\n  bind *:8443\n');
      put(`hosts/${n.name}/manifests/keepalived.yaml`, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: keepalived\n');
      put(`hosts/${n.name}/manifests/haproxy.yaml`, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: haproxy\n');
    }
  }
  return base;
}

/** Runs the real CLI (`node bin/flotilla.mjs …`), optionally inside a lab namespace. */
export function flotilla(args: readonly string[], opts: { netns?: string; timeoutMs?: number; cwd?: string } = {}) {
  const cmd = [process.execPath, join(repoRoot, 'bin', 'flotilla.mjs'), ...args];
  return opts.netns ? run('ip', ['netns', 'exec', opts.netns, ...cmd], { timeoutMs: opts.timeoutMs ?? 120_000, cwd: opts.cwd ?? repoRoot }) : run(cmd[0]!, cmd.slice(1), { timeoutMs: opts.timeoutMs ?? 120_000, cwd: opts.cwd ?? repoRoot });
}

/** Signing keys in `dir` and `flotilla bundle` of a synth output into `dir/bundle` (throws with stderr when it fails). */
export async function signedBundle(dir: string, inventory: string, synth: string, o: { timeoutMs?: number } = {}): Promise<{ keys: ReturnType<typeof writeKeys>; bundle: string }> {
  const keys = writeKeys(dir);
  const bundle = join(dir, 'bundle');
  const b = await flotilla(['bundle', inventory, '--out', bundle, '--signing-key', keys.priv, '--synth-dir', synth], { timeoutMs: o.timeoutMs });
  if (b.code !== 0) throw new Error(`bundle failed: ${b.stderr}`);
  return { keys, bundle };
}
