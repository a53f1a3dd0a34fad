// The air-gap bootstrap order on netns hosts with real sshd and a real docker-registry: `flotilla install`
// starts the bootstrap registry on the first master from its rendered systemd unit (no systemd in the
// netns, so install's unit runner runs the unit's ExecStart line), pushes every bundle image into it,
// and points every node at it (/etc/hosts name, CA, containerd hosts.toml mirror) before the cluster
// layer. Checked from the nodes themselves over SSH: the name resolves through their /etc/hosts (a
// staged file bind-mounted in each host's mount namespace) and every image answers by digest with the
// node's CA file. A held port stops the install before anything is written; a second run changes nothing.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSite } from '../../infra/site/index';
import { renderContainerdHosts } from '../../infra/render/containerd';
import { BOOTSTRAP_HOST_PATHS } from '../../infra/render/bootstrap-registry';
import { isRoot, makeDir, missingTools, requireTools, run, startDaemon, waitFor, type Daemon } from '../lab/index';
import { flotilla, layer, seedImage, seedIndex, signedBundle, startRegistry, writeInventory, writeSynthTree, type Registry, type writeKeys } from './fixtures';
import { startSshLab, type SshLab } from './lab-hosts';

const TOOLS = ['sshd', 'ssh', 'ssh-keygen', 'unshare', 'socat', 'ip', 'bash', 'docker-registry', 'openssl', 'ss', 'curl', 'getent', 'setsid', 'nohup'];
const REG = 'registry.lab.example.com';
const BOOT = `bootstrap.${REG}`;
const ACCEPT = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';

/** Every file below a folder with its sha256 (the "nothing half-applied" check). */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out[p.slice(dir.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

describe('flotilla install: air-gap bootstrap order', () => {
  let lab: SshLab | undefined;
  let source: Registry | undefined;
  let holder: Daemon | undefined;
  const dir = makeDir('delivery-boot');
  const roots = join(dir, 'roots');
  const nodes = [
    { name: 'lab-m1', index: 11, roles: ['master'] },
    { name: 'lab-w1', index: 21, roles: ['worker'] },
    { name: 'lab-e1', index: 31, roles: ['edge'] },
  ];
  let addr: (n: string) => string = () => '';
  let inventory = '';
  let bundle = '';
  let keys: ReturnType<typeof writeKeys>;
  const images: { repo: string; tag: string; digest: string }[] = [];
  const at = (node: string, p: string) => join(roots, node, p);
  const pidFile = () => at('lab-m1', BOOTSTRAP_HOST_PATHS.pidFile);
  const installArgs = (extra: string[] = []) => ['install', inventory, '--bundle', bundle, '--public-key', keys.pub, '--host-root', `${roots}/{node}`, '--no-pulumi', ...extra];
  /** A command on a lab node over SSH (its own mount namespace: its /etc/hosts), from the control namespace. */
  const onNode = (node: string, command: string) =>
    run('ip', ['netns', 'exec', lab!.ctl.netns, 'ssh', '-i', join(dir, 'id_ed25519'), '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `root@${addr(node)}`, command], { timeoutMs: 30_000 });

  beforeAll(async () => {
    if (missingTools(TOOLS).length > 0 || !isRoot()) return;
    // each node's /etc/hosts is a staged file under its host root, bind-mounted over /etc/hosts in its mount namespace
    for (const n of nodes) {
      mkdirSync(at(n.name, 'etc'), { recursive: true });
      writeFileSync(at(n.name, 'etc/hosts'), `127.0.0.1 localhost\n::1 localhost\n`);
    }
    lab = await startSshLab(
      dir,
      nodes.map((n) => ({ name: n.name, index: n.index, binds: [{ src: at(n.name, 'etc/hosts'), dest: '/etc/hosts' }] })),
    );
    addr = (n) => lab!.hosts.get(n)!.address;
    const base = addr('lab-m1').split('.').slice(0, 3).join('.');
    inventory = writeInventory(dir, { registryHost: REG, nodes: nodes.map((n) => ({ name: n.name, address: addr(n.name), roles: n.roles })), apiVip: `${base}.10/24` });

    // a source registry (loopback, root namespace) the bundle is built from
    source = await startRegistry('boot-src');
    const shared = layer('boot shared base');
    const app = await seedImage(source.url, 'platform/app', '1.0', [shared, layer('boot app')]);
    const reg = await seedImage(source.url, 'library/registry', '2.8.3', [shared, layer('boot registry')]);
    const multi = await seedIndex(source.url, 'platform/multi', '1.0', shared);
    images.push({ repo: 'platform/app', tag: '1.0', digest: app.digest }, { repo: 'library/registry', tag: '2.8.3', digest: reg.digest }, { repo: 'platform/multi', tag: '1.0', digest: multi });

    // synth tree with the real containerd renderer's hosts.toml files for every node
    const synth = join(dir, 'synth');
    const siteDir = writeSynthTree(synth, 'lab', { images: images.map((i) => `${source!.host}/${i.repo}:${i.tag}`), charts: [], nodes: nodes.map((n) => ({ name: n.name, master: n.roles.includes('master') })), registryHost: REG });
    const loaded = await loadSite(inventory);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    for (const n of nodes) {
      for (const h of renderContainerdHosts(loaded.value)) {
        mkdirSync(join(siteDir, 'hosts', n.name, 'containerd/certs.d', h.registry), { recursive: true });
        writeFileSync(join(siteDir, 'hosts', n.name, 'containerd/certs.d', h.registry, 'hosts.toml'), h.content);
      }
    }
    ({ keys, bundle } = await signedBundle(dir, inventory, synth));
  }, 180_000);

  afterAll(async () => {
    // the registry install started (by its pid file), then what the test started
    try {
      process.kill(Number(readFileSync(pidFile(), 'utf8').trim()), 'SIGTERM');
    } catch {
      // not started or gone
    }
    await holder?.stop();
    await lab?.stop();
    await source?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a held registry port stops the install with a clear message before anything is written', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    holder = startDaemon({ name: 'hold-5000', command: 'socat', args: [`TCP-LISTEN:5000,bind=${addr('lab-m1')},fork,reuseaddr`, 'EXEC:cat'], netns: lab!.hosts.get('lab-m1')!.netns });
    await waitFor(async () => (await lab!.ctl.exec('bash', ['-c', `echo > /dev/tcp/${addr('lab-m1')}/5000`], { timeoutMs: 2000 })).code === 0, { what: 'socat holding 5000' });
    const before = tree(roots);
    const r = await flotilla(installArgs(), { netns: lab!.ctl.netns });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`port 5000 on lab-m1 \\(${addr('lab-m1').replaceAll('.', '\\.')}\\) is taken by socat \\(pid \\d+\\) on .*: stop it, or set spec\\.registry\\.bootstrapPort to a free port; nothing was changed`));
    expect(r.stdout).toContain('install stopped before pushing images or touching any node');
    expect(r.stdout).not.toMatch(/^images/m);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(tree(roots)).toEqual(before); // no unit, config, certificate, hosts.toml or /etc/hosts line anywhere
    expect(existsSync(pidFile())).toBe(false);
    await holder.stop();
    holder = undefined;
  }, 180_000);

  it('starts the bootstrap registry from its unit, pushes every image, points every node at it; a second run changes nothing', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    const t0 = performance.now();
    const first = await flotilla(installArgs(), { netns: lab!.ctl.netns });
    const firstMs = performance.now() - t0;
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`bootstrap registry: lab-m1 https://${BOOT.replaceAll('.', '\\.')}:5000  CHANGED  .*started`));
    expect(first.stdout).toMatch(/images: 3 pushed, 0 unchanged/);
    // progress, in order: registry → images → nodes → cluster layer
    const steps = ['[1/4] bootstrap registry', '[2/4] images', '[3/4] hosts', '[4/4] cluster layer'].map((s) => first.stderr.indexOf(s));
    expect(steps.every((i) => i >= 0), first.stderr).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    expect(first.stdout).toMatch(/cluster layer: every node now pulls the bundle images from the bootstrap registry[^\n]*\nnext: pulumi up /);

    // the unit: systemd accepts it, and the running registry is exactly its ExecStart
    const unitFile = at('lab-m1', BOOTSTRAP_HOST_PATHS.unit);
    const unit = readFileSync(unitFile, 'utf8');
    const execStart = /^ExecStart=(.+)$/m.exec(unit)?.[1];
    expect(execStart).toBe(`/usr/bin/docker-registry serve ${at('lab-m1', BOOTSTRAP_HOST_PATHS.config)}`);
    if (missingTools(['systemd-analyze']).length === 0) {
      const v = await run('systemd-analyze', ['verify', unitFile]);
      expect(v.code, v.stdout + v.stderr).toBe(0);
    }
    const pid = Number(readFileSync(pidFile(), 'utf8').trim());
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')).toBe(execStart);
    expect(readFileSync(at('lab-m1', BOOTSTRAP_HOST_PATHS.key)).length).toBeGreaterThan(0);
    expect(statSync(at('lab-m1', BOOTSTRAP_HOST_PATHS.key)).mode & 0o777).toBe(0o600);
    const ca = readFileSync(at('lab-m1', BOOTSTRAP_HOST_PATHS.caCert), 'utf8');
    const cert = new X509Certificate(readFileSync(at('lab-m1', BOOTSTRAP_HOST_PATHS.cert)));
    expect(cert.verify(new X509Certificate(ca).publicKey)).toBe(true);
    expect(cert.checkHost(BOOT)).toBe(BOOT);

    for (const n of nodes) {
      // name resolution through the node's own /etc/hosts
      const g = await onNode(n.name, `getent hosts ${BOOT}`);
      expect(g.stdout.trim().split(/\s+/).slice(0, 2), `${n.name}: ${g.stderr}`).toEqual([addr('lab-m1'), BOOT]);
      // containerd: every hosts.toml tries the bootstrap registry first, with the CA file written on the node
      const caPath = at(n.name, BOOTSTRAP_HOST_PATHS.caCert);
      expect(readFileSync(caPath, 'utf8'), n.name).toBe(ca);
      const certsD = at(n.name, 'etc/containerd/certs.d');
      const registries = readdirSync(certsD).sort();
      expect(registries).toEqual(expect.arrayContaining([REG, 'docker.io', 'quay.io']));
      for (const r of registries) {
        const toml = readFileSync(join(certsD, r, 'hosts.toml'), 'utf8');
        const hostsInOrder = [...toml.matchAll(/^\[host\."([^"]+)"\]/gm)].map((m) => m[1]);
        expect(hostsInOrder[0], `${n.name} ${r}`).toBe(`https://${BOOT}:5000`);
        expect(hostsInOrder[1], `${n.name} ${r}: the site registry stays next`).toBe(`https://${REG}`);
        expect(toml).toContain(`[host."https://${BOOT}:5000"]\n  capabilities = ["pull", "resolve"]\n  ca = "${caPath}"\n`);
      }
      // every bundle image by digest, fetched on the node by name with the node's CA file
      for (const i of images) {
        const c = await onNode(n.name, `curl -fsS --cacert ${caPath} -H 'Accept: ${ACCEPT}' -o /dev/null -D - https://${BOOT}:5000/v2/${i.repo}/manifests/${i.digest}`);
        expect(c.code, `${n.name} ${i.repo}: ${c.stderr}`).toBe(0);
        expect(c.stdout.toLowerCase()).toContain(`docker-content-digest: ${i.digest}`);
      }
    }
    // tags too, as pods reference them
    for (const i of images) {
      const c = await onNode('lab-w1', `curl -fsS --cacert ${at('lab-w1', BOOTSTRAP_HOST_PATHS.caCert)} -H 'Accept: ${ACCEPT}' -o /dev/null -D - https://${BOOT}:5000/v2/${i.repo}/manifests/${i.tag}`);
      expect(c.stdout.toLowerCase()).toContain(`docker-content-digest: ${i.digest}`);
    }

    const t1 = performance.now();
    const second = await flotilla(installArgs(), { netns: lab!.ctl.netns });
    const secondMs = performance.now() - t1;
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/bootstrap registry: lab-m1 \S+ {2}UNCHANGED {2}running, files up to date/);
    expect(second.stdout).toMatch(/images: 0 pushed, 3 unchanged; blobs 0 pushed, 0 mounted/);
    for (const n of nodes) expect(second.stdout).toMatch(new RegExp(`${n.name}\\s+\\S+\\s+UNCHANGED`));
    expect(second.stdout).toContain('no changes: the site already matches the bundle');
    expect(Number(readFileSync(pidFile(), 'utf8').trim())).toBe(pid); // not restarted
    expect(readFileSync(at('lab-w1', 'etc/hosts'), 'utf8').match(new RegExp(BOOT.replaceAll('.', '\\.'), 'g'))).toHaveLength(1);
    console.log(`bootstrap install: first run ${Math.round(firstMs)} ms, second (no-op) ${Math.round(secondMs)} ms`);
  }, 240_000);

  it('handover (after pulumi up): the nodes get the bundle hosts.toml and lose the /etc/hosts line; the bootstrap registry stays up', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    const pid = Number(readFileSync(pidFile(), 'utf8').trim());
    // no in-cluster registry in this lab: only the node side of the handover (its push is registry.test.ts's install)
    const r = await flotilla(installArgs(['--handover', '--no-images']), { netns: lab!.ctl.netns });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toContain('bootstrap registry:');
    for (const n of nodes) {
      expect(r.stdout).toMatch(new RegExp(`${n.name}\\s+\\S+\\s+CHANGED`));
      const g = await onNode(n.name, `getent hosts ${BOOT}`);
      expect(g.code, n.name).not.toBe(0); // no longer resolves
      expect(readFileSync(at(n.name, 'etc/hosts'), 'utf8')).toBe('127.0.0.1 localhost\n::1 localhost\n');
      const certsD = at(n.name, 'etc/containerd/certs.d');
      for (const reg of readdirSync(certsD)) expect(readFileSync(join(certsD, reg, 'hosts.toml'), 'utf8')).toBe(readFileSync(join(bundle, 'site/hosts', n.name, 'containerd/certs.d', reg, 'hosts.toml'), 'utf8'));
    }
    expect(() => process.kill(pid, 0)).not.toThrow();
  }, 180_000);
});
