// The trust chain end to end with the real programs: Debian's containerd (CRI pulls, as kubelet asks
// for them) configured by the rendered main config + CRI drop-in (config_path, the site registry's
// credentials) and the rendered certs.d (hosts.toml + ca.crt), pulling from Debian's docker-registry
// run with the Registry construct's own auth/TLS environment, a certificate signed by a site CA made
// here with openssl, and an htpasswd file from infra/lib/bcrypt — registry and node in their own
// network namespaces. A pull must fail without the CA and with a wrong password.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Chart, Testing } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { Registry } from '../../constructs/registry';
import { htpasswdLine } from '../../infra/lib/bcrypt';
import { renderContainerdConfig, renderContainerdMainConfig, renderHostFiles, type RegistryAuth } from '../../infra/render/index';
import { parseSite, type Site } from '../../infra/site/index';
import { seedImage, startRegistry } from '../delivery/fixtures';
import { createLab, isRoot, makeDir, missingTools, requireTools, startDaemon, waitFor, type Daemon, type Lab, type LabHost } from '../lab/index';
import { criPullImage, criVersion } from './cri';

const TOOLS = ['containerd', 'docker-registry', 'openssl', 'tar'];
const REG = 'registry.lab.test';
const USER = 'flotilla';
const PASSWORD = 'pa$$ "word" \\ with:specials';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** Site CA + registry server certificate for REG (ECDSA P-256), and an unrelated CA. */
function makeCerts(dir: string): { ca: string; otherCa: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=lab site CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=some other CA', '-addext', 'basicConstraints=critical,CA:TRUE']);
  openssl(dir, ['req', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', `/CN=${REG}`]);
  writeFileSync(join(dir, 'serving.ext'), `subjectAltName=DNS:${REG}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  openssl(dir, ['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '2', '-extfile', 'serving.ext']);
  return { ca: readFileSync(join(dir, 'ca.crt'), 'utf8'), otherCa: readFileSync(join(dir, 'other.crt'), 'utf8') };
}

/** The customer example with the lab registry host and (optionally) a site CA, through the real loader. */
function labSite(caCert?: string): Site {
  const doc = parse(readFileSync('examples/customer-airgap.yaml', 'utf8')) as { spec: { registry: { host: string }; certificates: Record<string, unknown> } };
  doc.spec.registry.host = REG;
  if (caCert !== undefined) doc.spec.certificates.caCert = caCert;
  const r = parseSite(stringify(doc), 'lab-site.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.value;
}

/** A real (tar) image layer with one file. */
function tarLayer(dir: string, text: string): Uint8Array {
  const src = join(dir, 'layer-src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'hello.txt'), `${text}\n`);
  return new Uint8Array(gzipSync(execFileSync('tar', ['-C', src, '--owner=0', '--group=0', '--mtime=@0', '-cf', '-', 'hello.txt'])));
}

/** The registry container's environment from the synthesized Registry construct. */
function registryEnv(): Record<string, string> {
  const chart = new Chart(Testing.app(), 'c');
  new Registry(chart, 'registry', { host: REG, issuerName: 'site-issuer' });
  const dep = Testing.synth(chart).find((o) => o.kind === 'Deployment') as { spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } } };
  return Object.fromEntries(dep.spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value]));
}

describe.sequential('containerd pulls from the site registry through the rendered trust chain (real containerd, docker-registry, netns)', () => {
  let lab: Lab | undefined;
  let dir = '';
  let node: LabHost;
  let registry: Daemon | undefined;
  let containerd: Daemon | undefined;
  let certs: { ca: string; otherCa: string };
  let configDigest = '';
  let hostsFile = '';

  beforeAll(async () => {
    if (missingTools(TOOLS).length > 0 || !isRoot()) return; // each test skips (or fails under CI) with the reason
    dir = makeDir('trust');
    certs = makeCerts(dir);
    // Seed an image into the registry's storage through a plain loopback registry on the same folder.
    const seeder = await startRegistry('trust-seed');
    const data = join(dir, 'data');
    try {
      const layerBlob = tarLayer(dir, 'served by the site registry');
      await seedImage(seeder.url, 'library/hello', '1', [layerBlob]);
      const cfgRes = await fetch(`${seeder.url}/v2/library/hello/manifests/1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      configDigest = ((await cfgRes.json()) as { config: { digest: string } }).config.digest;
      execFileSync('cp', ['-a', join(seeder.daemon.dir, 'data'), data]);
    } finally {
      await seeder.stop();
    }

    lab = await createLab();
    const regHost = await lab.addHost('reg', 1);
    node = await lab.addHost('node', 2);
    // Name resolution inside the node's namespace: `ip netns exec` bind-mounts /etc/netns/<ns>/hosts.
    hostsFile = `/etc/netns/${node.netns}/hosts`;
    mkdirSync(`/etc/netns/${node.netns}`, { recursive: true });
    writeFileSync(hostsFile, `127.0.0.1 localhost\n${regHost.address} ${REG}\n`);

    writeFileSync(join(dir, 'htpasswd'), htpasswdLine(USER, PASSWORD, REG));
    const env = registryEnv();
    expect(env).toMatchObject({ REGISTRY_AUTH: 'htpasswd', REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd', REGISTRY_HTTP_TLS_CERTIFICATE: '/certs/tls.crt' });
    writeFileSync(join(dir, 'registry.yml'), `version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: ${data}\nhttp:\n  addr: 0.0.0.0:5000\n`);
    const inDir = (p: string) => p.replace(/^\/(certs|auth)\//, `${dir}/`);
    registry = startDaemon({
      name: 'trust-registry',
      command: 'docker-registry',
      args: ['serve', join(dir, 'registry.yml')],
      netns: regHost.netns,
      env: {
        ...env,
        REGISTRY_HTTP_ADDR: `${regHost.address}:443`,
        REGISTRY_HTTP_TLS_CERTIFICATE: inDir(env.REGISTRY_HTTP_TLS_CERTIFICATE!),
        REGISTRY_HTTP_TLS_KEY: inDir(env.REGISTRY_HTTP_TLS_KEY!),
        REGISTRY_AUTH_HTPASSWD_PATH: inDir(env.REGISTRY_AUTH_HTPASSWD_PATH!),
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: data,
      },
    });
    await waitFor(async () => (await node.exec('bash', ['-c', `exec 3<>/dev/tcp/${REG}/443`])).code === 0 || undefined, { timeoutMs: 15_000, what: 'registry listening on :443 in its namespace' });
  }, 120_000);

  afterAll(async () => {
    await containerd?.stop();
    await registry?.stop();
    await lab?.destroy();
    if (hostsFile) rmSync(`/etc/netns/${node.netns}`, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * (Re)starts containerd in the node's namespace on the node files rendered for `site` (certs.d,
   * CRI drop-in with `auths`), with its own root/state/socket under the test folder.
   */
  async function startContainerd(name: string, site: Site, auths: readonly RegistryAuth[]): Promise<string> {
    await containerd?.stop();
    const root = join(dir, name);
    const certsDir = join(root, 'certs.d');
    const dropIns = join(root, 'conf.d');
    mkdirSync(dropIns, { recursive: true });
    const files = renderHostFiles(site, { containerd: { certsDir } });
    const nodeName = site.spec.clusters[0]!.nodes[0]!.name;
    const prefix = `hosts/${nodeName}/containerd/certs.d/`;
    for (const f of files.filter((x) => x.path.startsWith(prefix))) {
      mkdirSync(join(certsDir, f.path.slice(prefix.length), '..'), { recursive: true });
      writeFileSync(join(certsDir, f.path.slice(prefix.length)), f.content);
    }
    // The drop-in as synth renders it, and the same with the credentials (what the host layer writes).
    const synthDropIn = files.find((f) => f.path === `hosts/${nodeName}/containerd/conf.d/10-flotilla-cri.toml`)!.content;
    expect(renderContainerdConfig({ certsDir })).toBe(synthDropIn);
    writeFileSync(join(dropIns, '10-flotilla-cri.toml'), renderContainerdConfig({ certsDir, auths }), { mode: 0o600 });
    writeFileSync(join(root, 'config.toml'), renderContainerdMainConfig(dropIns));
    const socket = join(root, 'containerd.sock');
    const args = ['--config', join(root, 'config.toml'), '--root', join(root, 'root'), '--state', join(root, 'state'), '--address', socket];
    // The drop-in is really imported (containerd 1.x loads none unless the main config says so).
    const dump = execFileSync('containerd', [...args, 'config', 'dump'], { encoding: 'utf8' });
    expect(dump).toContain(`config_path = "${certsDir}"`);
    expect(dump).toContain('SystemdCgroup = true');
    containerd = startDaemon({ name: `containerd-${name}`, command: 'containerd', args, netns: node.netns, dir: root });
    const d = containerd;
    await waitFor(
      async () => {
        if (!d.isRunning()) throw new Error(`containerd exited:\n${d.logs().slice(-3000)}`);
        return await criVersion(socket).catch(() => undefined);
      },
      { timeoutMs: 30_000, what: 'containerd CRI serving' },
    );
    return socket;
  }

  it('pulls by the site registry name and, as its mirror, by the docker.io name with the site CA and the right password', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    const socket = await startContainerd('ok', labSite(certs.ca), [{ registry: REG, username: USER, password: PASSWORD }]);
    expect(await criPullImage(socket, `${REG}/library/hello:1`)).toBe(configDigest);
    // docker.io has no network here: only the mirror host (the site registry) can serve it.
    expect(await criPullImage(socket, 'docker.io/library/hello:1')).toBe(configDigest);
    expect(containerd!.logs()).not.toContain(PASSWORD);
  }, 90_000);

  it('fails without the site CA (no ca.crt in certs.d: the system trust store does not know it)', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    const socket = await startContainerd('no-ca', labSite(), [{ registry: REG, username: USER, password: PASSWORD }]);
    await expect(criPullImage(socket, `${REG}/library/hello:1`)).rejects.toThrow(/x509|certificate/i);
  }, 90_000);

  it('fails when the site CA is another CA', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    const socket = await startContainerd('other-ca', labSite(certs.otherCa), [{ registry: REG, username: USER, password: PASSWORD }]);
    await expect(criPullImage(socket, `${REG}/library/hello:1`)).rejects.toThrow(/x509|certificate/i);
  }, 90_000);

  it('fails with a wrong password and with no credentials', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    let socket = await startContainerd('wrong-pw', labSite(certs.ca), [{ registry: REG, username: USER, password: `${PASSWORD}x` }]);
    await expect(criPullImage(socket, `${REG}/library/hello:1`)).rejects.toThrow(/401|unauthorized/i);
    socket = await startContainerd('no-auth', labSite(certs.ca), []);
    await expect(criPullImage(socket, `${REG}/library/hello:1`)).rejects.toThrow(/401|unauthorized/i);
  }, 90_000);
});
