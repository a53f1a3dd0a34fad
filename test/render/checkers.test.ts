// Every rendered host config of every bundled example passes its daemon's own checker:
// `keepalived -t` (inside a lab netns that has the configured interfaces, with the rendered
// check_apiserver.sh bind-mounted at its default path), `bird -p`, `haproxy -c`; static pods are
// valid core/v1 Pods, hosts.toml files parse as TOML, check_apiserver.sh parses as sh, containerd's
// main config + CRI drop-in load in containerd, every ca.crt is a CA certificate for openssl.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Pod } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CHECK_APISERVER_PATH, renderContainerdMainConfig, renderHostFiles, type RenderedFile } from '../../infra/render/index';
import type { Site } from '../../infra/site/index';
import { HOST_PATHS } from '../../infra/lib/host-files';
import { createLab, makeDir, requireTools, run, type Lab, type LabHost } from '../lab/index';
import { EXAMPLES, loadExample } from './helpers';

interface Rendered {
  site: Site;
  dir: string;
  files: RenderedFile[];
}

const rendered = new Map<string, Rendered>();

/** customer-airgap with one master: a lone API-VIP holder has no VRRP peers (keepalived -t rejected `unicast_src_ip` without them). */
const SINGLE_MASTER = 'customer-airgap.yaml (single master)';
const CASES = [...EXAMPLES, SINGLE_MASTER];

async function loadCase(name: string): Promise<Site> {
  if (name !== SINGLE_MASTER) return loadExample(name);
  const site = await loadExample('customer-airgap.yaml');
  const [cluster] = site.spec.clusters;
  const nodes = cluster!.nodes.map((n, i) => (i === 0 ? n : { ...n, roles: n.roles.filter((r) => r !== 'master') }));
  return { ...site, spec: { ...site.spec, clusters: [{ ...cluster!, nodes }] } } as Site;
}

beforeAll(async () => {
  for (const ex of CASES) {
    const site = await loadCase(ex);
    const dir = makeDir(`render-${site.metadata.name}`);
    const files = renderHostFiles(site);
    for (const f of files) {
      const p = join(dir, f.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.content);
      if (f.mode !== undefined) chmodSync(p, f.mode);
    }
    rendered.set(ex, { site, dir, files });
  }
});

afterAll(() => {
  for (const r of rendered.values()) rmSync(r.dir, { recursive: true, force: true });
});

const byName = (ex: string, re: RegExp) => rendered.get(ex)!.files.filter((f) => re.test(f.path));

describe.each(CASES)('host files of examples/%s', (ex) => {
  it('render the expected set of files', () => {
    const { site, files } = rendered.get(ex)!;
    const nodes = site.spec.clusters.flatMap((c) => c.nodes);
    for (const n of nodes) {
      if (n.roles.includes('master')) {
        for (const f of ['keepalived.conf', 'check_apiserver.sh', 'haproxy.cfg', 'manifests/keepalived.yaml', 'manifests/haproxy.yaml']) {
          expect(files.map((x) => x.path)).toContain(`hosts/${n.name}/${f}`);
        }
      }
      if (n.roles.includes('edge')) expect(files.map((x) => x.path)).toContain(`hosts/${n.name}/keepalived-edge.conf`);
      expect(files.map((x) => x.path)).toContain(`hosts/${n.name}/containerd/certs.d/${site.spec.registry.host}/hosts.toml`);
    }
    for (const r of site.spec.network.routers) expect(files.map((x) => x.path)).toContain(`network/${r.name}.bird.conf`);
    expect(files.map((x) => x.path)).toContain('front/haproxy.cfg');
    for (const h of site.spec.front?.hosts ?? []) {
      for (const f of ['front-haproxy.cfg', 'keepalived-front.conf']) expect(files.map((x) => x.path)).toContain(`hosts/${h.name}/${f}`);
    }
  });

  it('keepalived -t accepts every keepalived config (in a netns with the interfaces)', async (ctx) => {
    requireTools(ctx, ['ip', 'keepalived', 'curl', 'mount'], { root: true });
    const { site, dir } = rendered.get(ex)!;
    const confs = byName(ex, /keepalived(-edge|-front)?\.conf$/);
    expect(confs.length).toBeGreaterThan(0);
    const lab: Lab = await createLab();
    try {
      const host: LabHost = await lab.addHost('ka', 1);
      const ifaces = new Set([...site.spec.clusters.flatMap((c) => [c.apiVIP.interface, ...c.edge.vips.map((v) => v.interface)]), ...(site.spec.front ? [site.spec.front.vip.interface] : [])]);
      ifaces.delete('eth0');
      let i = 0;
      for (const name of [...ifaces].sort()) await host.execOk('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `kx${i++}`]);
      for (const conf of confs) {
        const nodeDir = join(dir, dirname(conf.path));
        // The rendered check_apiserver.sh at its default path, in this exec's private mount namespace.
        const script =
          conf.path.endsWith('/keepalived.conf') ?
            `mount --bind ${JSON.stringify(nodeDir)} ${dirname(DEFAULT_CHECK_APISERVER_PATH)} && ` :
            '';
        const r = await host.exec('sh', ['-c', `${script}keepalived -t -f ${JSON.stringify(join(dir, conf.path))}`]);
        expect(r.code, `${conf.path}: ${r.stdout}${r.stderr}`).toBe(0);
        expect(r.stderr, conf.path).not.toMatch(/Disabling|WARNING|Unknown keyword/i);
      }
    } finally {
      await lab.destroy();
    }
  });

  it('bird -p accepts every ToR config', async (ctx) => {
    requireTools(ctx, ['bird']);
    const { dir, site } = rendered.get(ex)!;
    const confs = byName(ex, /^network\/.*\.bird\.conf$/);
    expect(confs.length).toBe(site.spec.network.routers.length);
    for (const conf of confs) {
      const r = await run('bird', ['-p', '-c', join(dir, conf.path)]);
      expect(r.code, `${conf.path}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('haproxy -c accepts the front and every API-VIP haproxy.cfg', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    const { dir } = rendered.get(ex)!;
    const confs = byName(ex, /haproxy\.cfg$/);
    expect(confs.map((c) => c.path)).toContain('front/haproxy.cfg');
    // A front host's config names its runtime API certificate files (which install puts in place):
    // here a test CA and certificate, with the paths pointed at them in a copy of the config.
    const tls = join(dir, 'runtime-api-tls');
    if (confs.some((c) => c.path.endsWith('/front-haproxy.cfg'))) {
      mkdirSync(tls, { recursive: true });
      const ossl = async (args: string[]) => expect((await run('openssl', args)).code, args.join(' ')).toBe(0);
      await ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(tls, 'ca.key'), '-out', join(tls, 'client-ca.pem'), '-days', '2', '-subj', '/CN=test CA']);
      await ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem'), '-days', '2', '-subj', '/CN=front']);
      writeFileSync(join(tls, 'server.pem'), readFileSync(join(tls, 'cert.pem'), 'utf8') + readFileSync(join(tls, 'key.pem'), 'utf8'));
    }
    for (const conf of confs) {
      let file = join(dir, conf.path);
      if (conf.path.endsWith('/front-haproxy.cfg')) {
        expect(conf.content).toContain(` ssl crt ${HOST_PATHS.frontRuntimeApiCert} ca-file ${HOST_PATHS.frontRuntimeApiClientCa} verify required`);
        file = `${file}.test`;
        writeFileSync(file, conf.content.replaceAll(dirname(HOST_PATHS.frontRuntimeApiCert), tls));
      }
      const r = await run('haproxy', ['-c', '-f', file]);
      expect(r.code, `${conf.path}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(`${r.stdout}${r.stderr}`, conf.path).not.toMatch(/\[WARNING\]|\[ALERT\]/);
    }
  });

  it('static pods are valid core/v1 Pods with the kubeadm HA layout', () => {
    const pods = byName(ex, /manifests\/.*\.yaml$/);
    expect(pods.length).toBeGreaterThan(0);
    for (const f of pods) {
      const obj = parse(f.content) as Record<string, unknown>;
      expect(obj.apiVersion).toBe('v1');
      expect(obj.kind).toBe('Pod');
      expect(() => new Pod(obj as ConstructorParameters<typeof Pod>[0]).validate(), f.path).not.toThrow();
      const spec = obj.spec as { hostNetwork: boolean; containers: { image: string }[] };
      expect(spec.hostNetwork).toBe(true);
      expect(f.hostPath).toMatch(/^\/etc\/kubernetes\/manifests\/(keepalived|haproxy)\.yaml$/);
    }
  });

  it('hosts.toml files parse as TOML; check_apiserver.sh parses as sh', async (ctx) => {
    requireTools(ctx, ['python3', 'sh']);
    const { dir } = rendered.get(ex)!;
    const tomls = byName(ex, /hosts\.toml$/);
    expect(tomls.length).toBeGreaterThan(0);
    const py = 'import sys, tomllib, json\nprint(json.dumps([tomllib.load(open(p, "rb")) for p in sys.argv[1:]]))';
    const r = await run('python3', ['-c', py, ...tomls.map((t) => join(dir, t.path))]);
    expect(r.code, r.stderr).toBe(0);
    const parsed = JSON.parse(r.stdout) as { server: string; host: Record<string, { capabilities: string[] }> }[];
    for (const t of parsed) {
      expect(t.server).toMatch(/^https:\/\//);
      expect(Object.values(t.host)[0]!.capabilities).toContain('pull');
    }
    for (const s of byName(ex, /check_apiserver\.sh$/)) {
      const c = await run('sh', ['-n', join(dir, s.path)]);
      expect(c.code, `${s.path}: ${c.stderr}`).toBe(0);
    }
  });

  it('containerd loads the main config + CRI drop-in (`containerd config dump`); every ca.crt is an X.509 CA (`openssl x509`)', async (ctx) => {
    requireTools(ctx, ['containerd', 'openssl']);
    const { dir } = rendered.get(ex)!;
    const dropIns = byName(ex, /containerd\/conf\.d\/[^/]+\.toml$/);
    expect(dropIns.length).toBeGreaterThan(0);
    // The main config imports /etc/containerd/conf.d; here the same text pointed at the rendered folder.
    const main = byName(ex, /containerd\/config\.toml$/)[0]!;
    const confDir = dirname(join(dir, dropIns[0]!.path));
    expect(main.content).toBe(renderContainerdMainConfig());
    const mainFile = join(dir, 'containerd-main.toml');
    writeFileSync(mainFile, renderContainerdMainConfig(confDir));
    const dump = await run('containerd', ['--config', mainFile, 'config', 'dump']);
    expect(dump.code, dump.stderr).toBe(0);
    expect(dump.stdout).toContain('config_path = "/etc/containerd/certs.d"');
    expect(dump.stdout).toContain('SystemdCgroup = true');
    for (const ca of byName(ex, /\/ca\.crt$/)) {
      const x = await run('openssl', ['x509', '-noout', '-ext', 'basicConstraints', '-in', join(dir, ca.path)]);
      expect(x.code, `${ca.path}: ${x.stderr}`).toBe(0);
      expect(x.stdout).toContain('CA:TRUE');
    }
  });
});
