// `flotilla install` and `flotilla preflight` on the site-level hosts, with real sshd on netns hosts:
// a master (the bootstrap registry), two front hosts (spec.front) and the ops host
// (spec.federation.opsHost), from a real `flotilla synth` output. Install writes each front host's
// rendered HAProxy and keepalived configs and the runtime API certificate issued from the site CA,
// checks them with haproxy -c / keepalived -t and starts the daemons (no systemd in a netns: the
// restart script's direct mode), so front-1 really holds the front VIP and the runtime API answers over
// mutual TLS; the ops host gets cluster-mgr's unit and config, its client certificate for the front
// hosts (issued from the same site CA: the runtime API of both front hosts answers it, from the ops
// host) and the daemon out of the bundle's built cluster-mgr image (it runs there), and the report
// names what `pulumi up` still provides. A second run changes nothing and restarts nothing; a front
// host without the TLS files and no site CA fails alone with a message naming the fix, an ops host
// without them gets a note. The bundle builds the cluster-mgr image once (beforeAll, ~15-50 s).
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_MGR_IMAGE } from '../../constructs/federation-control';
import { CLUSTER_MGR_FRONT_TLS } from '../../infra/lib/cluster-mgr-rbac';
import { HOST_PATHS } from '../../infra/lib/host-files';
import { BOOTSTRAP_HOST_PATHS } from '../../infra/render/bootstrap-registry';
import { isRoot, makeDir, missingTools, requireTools, runOk, waitFor } from '../lab/index';
import { flotilla, signedBundle, writeInventory, type writeKeys } from './fixtures';
import { startSshLab, type SshLab } from './lab-hosts';

const TOOLS = ['sshd', 'ssh', 'ssh-keygen', 'unshare', 'ip', 'bash', 'docker-registry', 'openssl', 'ss', 'curl', 'setsid', 'nohup', 'haproxy', 'keepalived', 'apt-get', 'apt-cache', 'dpkg-deb', 'tar', 'gzip'];
const FRONTS = ['front-1', 'front-2'];
/** Folders each front host sees at their real path (its own mount namespace): the configs refer to them. */
const FRONT_BINDS = ['/etc/haproxy', '/etc/keepalived', '/run/haproxy'];

describe('flotilla install: front hosts and the ops host', () => {
  let lab: SshLab | undefined;
  const dir = makeDir('delivery-front');
  const roots = join(dir, 'roots');
  const at = (host: string, p: string) => join(roots, host, p);
  const hosts = [
    { name: 'lab-m1', index: 11 },
    { name: 'front-1', index: 41 },
    { name: 'front-2', index: 42 },
    { name: 'ops-1', index: 51 },
  ];
  let addr: (n: string) => string = () => '';
  let vip = '';
  let inventory = '';
  let bundle = '';
  let keys: ReturnType<typeof writeKeys>;
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  // images are not pushed here (built-images.test.ts and registry.test.ts cover that)
  const installArgs = (extra: string[] = []) => ['install', inventory, '--bundle', bundle, '--public-key', keys.pub, '--host-root', `${roots}/{node}`, '--no-pulumi', '--no-images', ...extra];
  const opsTls = (f: string) => at('ops-1', `${CLUSTER_MGR_FRONT_TLS.dir}/${f}`);
  /** A runtime API command from the ops host with the files install wrote there. */
  const fromOps = async (front: string, command: string) =>
    (await lab!.hosts.get('ops-1')!.exec('sh', ['-c', `printf '${command}\\n' | timeout 10 openssl s_client -quiet -verify_return_error -connect ${addr(front)}:9999 -cert ${opsTls('tls.crt')} -key ${opsTls('tls.key')} -CAfile ${opsTls('ca.crt')} 2>/dev/null`])).stdout;
  /** A command on the ops host over SSH (its own mount and UTS namespace). */
  const onOps = (command: string) => lab!.ctl.exec('ssh', ['-i', join(dir, 'id_ed25519'), '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'BatchMode=yes', `root@${addr('ops-1')}`, command], { timeoutMs: 30_000 });
  const pids = (host: string, file: string) => {
    try {
      return readFileSync(at(host, `run/${file}`), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const holdsVip = async (host: string) => (await lab!.hosts.get(host)!.execOk('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(` ${vip}/24`);

  beforeAll(async () => {
    if (missingTools(TOOLS).length > 0 || !isRoot()) return;
    for (const f of FRONTS) for (const b of FRONT_BINDS) mkdirSync(at(f, b), { recursive: true });
    lab = await startSshLab(
      dir,
      hosts.map((h) => ({ name: h.name, index: h.index, binds: FRONTS.includes(h.name) ? FRONT_BINDS.map((b) => ({ src: at(h.name, b), dest: b })) : [] })),
    );
    addr = (n) => lab!.hosts.get(n)!.address;
    const base = addr('lab-m1').split('.').slice(0, 3).join('.');
    vip = `${base}.100`;
    inventory = writeInventory(dir, { nodes: [{ name: 'lab-m1', address: addr('lab-m1'), roles: ['master', 'edge'] }], apiVip: `${base}.10/24` });
    // an edge VIP (the front's backend: no front without one), the front and the ops host
    writeFileSync(
      inventory,
      `${readFileSync(inventory, 'utf8')}      edge:
        vips: [{ name: ingress, address: ${base}.50/24, interface: eth0, virtualRouterId: 51, ports: [80] }]
  front:
    hosts: [{ name: front-1, address: ${addr('front-1')} }, { name: front-2, address: ${addr('front-2')} }]
    vip: { address: ${vip}/24, interface: eth0, virtualRouterId: 70 }
    runtimeApi: { port: 9999 }
  federation:
    opsHost: { name: ops-1, address: ${addr('ops-1')} }
`,
    );
    await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', ca.key, '-out', ca.cert, '-days', '30', '-subj', '/CN=lab site CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    // the real synth output; of its images only cluster-mgr's (built by `flotilla bundle`: the ops host's daemon), no charts
    const synth = join(dir, 'synth');
    const s = await flotilla(['synth', inventory, '--out', synth]);
    if (s.code !== 0) throw new Error(`synth failed: ${s.stdout}${s.stderr}`);
    expect(readFileSync(join(synth, 'lab', 'images.txt'), 'utf8')).toContain(CLUSTER_MGR_IMAGE);
    writeFileSync(join(synth, 'lab', 'images.txt'), `${CLUSTER_MGR_IMAGE}\n`);
    writeFileSync(join(synth, 'lab', 'charts.json'), '{"charts":[]}\n');
    ({ keys, bundle } = await signedBundle(dir, inventory, synth, { timeoutMs: 400_000 }));
  }, 480_000);

  afterAll(async () => {
    // what install started: the front daemons and the bootstrap registry (by their pid files)
    const started = [...FRONTS.flatMap((f) => [...pids(f, 'flotilla-keepalived.pid'), ...pids(f, 'flotilla-haproxy.pid')]), ...pids('lab-m1', BOOTSTRAP_HOST_PATHS.pidFile.replace('/run/', ''))];
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone
      }
    }
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs both front hosts (VIP held, runtime API over mutual TLS) and the ops host in order; a second run changes nothing', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    const first = await flotilla(installArgs(['--ca-cert', ca.cert, '--ca-key', ca.key]), { netns: lab!.ctl.netns });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stderr).toContain('[3/4] hosts: 1 nodes');
    expect(first.stderr).toContain('2 front hosts (HAProxy, keepalived, runtime API TLS), the ops host (cluster-mgr unit)');
    // the report: nodes, then front hosts, then the ops host
    const rows = hosts.map((h) => first.stdout.search(new RegExp(`^  ${h.name}\\s+${addr(h.name).replaceAll('.', '\\.')}\\s+CHANGED`, 'm')));
    expect(rows.every((i) => i >= 0), first.stdout).toBe(true);
    expect([...rows].sort((a, b) => a - b)).toEqual(rows);
    for (const f of FRONTS) expect(first.stdout).toMatch(new RegExp(`^  ${f} .*CHANGED .*${HOST_PATHS.frontHaproxyCfg}.*; restarted haproxy, keepalived$`, 'm'));

    for (const f of FRONTS) {
      // the bundle's rendered files at their host paths
      expect(readFileSync(at(f, HOST_PATHS.frontHaproxyCfg), 'utf8')).toBe(readFileSync(join(bundle, 'site/hosts', f, 'front-haproxy.cfg'), 'utf8'));
      expect(readFileSync(at(f, HOST_PATHS.frontKeepalivedConf), 'utf8')).toBe(readFileSync(join(bundle, 'site/hosts', f, 'keepalived-front.conf'), 'utf8'));
      // the runtime API certificate: from the site CA, for the host's address; the key only on the host
      const pem = readFileSync(at(f, HOST_PATHS.frontRuntimeApiCert), 'utf8');
      expect(statSync(at(f, HOST_PATHS.frontRuntimeApiCert)).mode & 0o777).toBe(0o600);
      expect(pem).toMatch(/PRIVATE KEY-----/);
      const cert = new X509Certificate(pem);
      expect(cert.verify(new X509Certificate(readFileSync(ca.cert)).publicKey)).toBe(true);
      expect(cert.checkIP(addr(f))).toBe(addr(f));
      expect(readFileSync(at(f, HOST_PATHS.frontRuntimeApiClientCa), 'utf8').trim()).toBe(readFileSync(ca.cert, 'utf8').trim());
      // the daemons run from those files
      await waitFor(async () => (await lab!.hosts.get(f)!.exec('curl', ['-sf', '-m', '1', 'http://127.0.0.1:8405/healthz'])).code === 0 || undefined, { timeoutMs: 15_000, what: `${f} HAProxy health endpoint` });
      expect(pids(f, 'flotilla-keepalived.pid').length).toBe(1);
    }
    await waitFor(async () => ((await holdsVip('front-1')) && !(await holdsVip('front-2'))) || undefined, { timeoutMs: 15_000, what: 'front-1 holds the front VIP' });

    // the ops host: cluster-mgr's client certificate from the same site CA (CN = runtimeApi.clientName, client auth), the key 0640
    const clientCert = new X509Certificate(readFileSync(opsTls('tls.crt')));
    expect(clientCert.verify(new X509Certificate(readFileSync(ca.cert)).publicKey)).toBe(true);
    expect(clientCert.subject).toBe('CN=cluster-mgr');
    expect(clientCert.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
    expect(readFileSync(opsTls('ca.crt'), 'utf8').trim()).toBe(readFileSync(ca.cert, 'utf8').trim());
    expect(statSync(opsTls('tls.key')).mode & 0o777).toBe(0o640);
    // … which both front hosts' runtime APIs accept from the ops host (allowed by default: the ops host's address)
    for (const f of FRONTS) {
      expect(await fromOps(f, 'show info'), f).toMatch(/^Name: HAProxy$/m);
      expect(await fromOps(f, 'show servers state web'), f).toMatch(/^\d+ web \d+ lab-a /m);
    }
    // the daemon from the bundle's image runs on the ops host: exactly the image's Node.js binary and daemon file
    const bin = at('ops-1', HOST_PATHS.clusterMgrBinary);
    const help = await onOps(`${bin} --help`);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: cluster-mgr /m);
    const image = (JSON.parse(readFileSync(join(bundle, 'bundle.json'), 'utf8')) as { images: { ref: string; digest: string }[] }).images.find((i) => i.ref === CLUSTER_MGR_IMAGE)!;
    const manifest = JSON.parse(readFileSync(join(bundle, 'images/blobs/sha256', image.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
    const layerFile = join(bundle, 'images/blobs/sha256', manifest.layers[0]!.digest.slice(7));
    const libDir = at('ops-1', `/usr/local/lib/cluster-mgr/${manifest.layers[0]!.digest.slice(7, 19)}`);
    for (const [inImage, onHost] of [['./usr/local/bin/node', 'node'], ['./app/cluster-mgr.mjs', 'cluster-mgr.mjs']]) {
      const want = (await runOk('sh', ['-c', `tar -xzf ${layerFile} -O ${inImage} | sha256sum`])).stdout.split(' ')[0];
      expect(createHash('sha256').update(readFileSync(join(libDir, onHost!))).digest('hex'), onHost).toBe(want);
    }
    expect(statSync(bin).mode & 0o777).toBe(0o755);

    // the ops host: the unit and the config, and what pulumi up still provides
    expect(readFileSync(at('ops-1', HOST_PATHS.clusterMgrUnit), 'utf8')).toBe(readFileSync(join(bundle, 'site/hosts/ops-1/cluster-mgr.service'), 'utf8'));
    expect(readFileSync(at('ops-1', HOST_PATHS.clusterMgrConfig), 'utf8')).toBe(readFileSync(join(bundle, 'site/hosts/ops-1/cluster-mgr/federation.yaml'), 'utf8'));
    expect(first.stdout).toContain(
      'note: cluster-mgr.service starts once these exist (install does not invent them): /etc/cluster-mgr/api-token.env, /etc/cluster-mgr/kubeconfigs/lab-a.yaml from pulumi up (its host layer, from the stack secrets)\n',
    );
    expect(first.stdout).not.toContain('from the operator');
    expect(first.stdout).not.toMatch(/token=|BEGIN [A-Z ]*PRIVATE KEY/); // no secret in the output

    const before = Object.fromEntries(FRONTS.map((f) => [f, [...pids(f, 'flotilla-haproxy.pid'), ...pids(f, 'flotilla-keepalived.pid')]]));
    const second = await flotilla(installArgs(['--ca-cert', ca.cert, '--ca-key', ca.key]), { netns: lab!.ctl.netns });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    for (const h of hosts) expect(second.stdout).toMatch(new RegExp(`^  ${h.name}\\s+\\S+\\s+UNCHANGED`, 'm'));
    expect(second.stdout).toContain('no changes: the site already matches the bundle');
    for (const f of FRONTS) expect([...pids(f, 'flotilla-haproxy.pid'), ...pids(f, 'flotilla-keepalived.pid')], f).toEqual(before[f]); // nothing restarted
    expect(await holdsVip('front-1')).toBe(true);
  }, 300_000);

  it('a front host without its TLS files and no site CA fails alone, naming the fix; the others are unchanged', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    rmSync(at('front-2', HOST_PATHS.frontRuntimeApiCert));
    const r = await flotilla(installArgs(), { netns: lab!.ctl.netns });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^ {2}front-2 .*FAILED {8}\/etc\/haproxy\/runtime-api\/server\.pem or \/etc\/haproxy\/runtime-api\/client-ca\.pem is missing on front-2: pass --ca-cert\/--ca-key .*nothing was changed on this host$/m);
    for (const h of ['lab-m1', 'front-1', 'ops-1']) expect(r.stdout).toMatch(new RegExp(`^  ${h}\\s+\\S+\\s+UNCHANGED`, 'm'));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // with the site CA it is issued again; only server.pem changes and HAProxy reloads
    const again = await flotilla(installArgs(['--ca-cert', ca.cert, '--ca-key', ca.key]), { netns: lab!.ctl.netns });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^ {2}front-2 .*CHANGED .*1 file\(s\): \S+\/etc\/haproxy\/runtime-api\/server\.pem$/m);
  }, 180_000);

  it("the ops host without its client certificate and no site CA: a note naming the fix; with it the certificate is issued again", async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    rmSync(opsTls('tls.crt'));
    const r = await flotilla(installArgs(), { netns: lab!.ctl.netns });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {2}ops-1\s+\S+\s+UNCHANGED/m);
    expect(r.stdout).toContain(`note: ${CLUSTER_MGR_FRONT_TLS.dir}/ca.crt, ${CLUSTER_MGR_FRONT_TLS.dir}/tls.crt, ${CLUSTER_MGR_FRONT_TLS.dir}/tls.key missing: pass --ca-cert/--ca-key (the site CA the front hosts trust: install issues cluster-mgr's client certificate, CN cluster-mgr) or put them there`);
    const again = await flotilla(installArgs(['--ca-cert', ca.cert, '--ca-key', ca.key]), { netns: lab!.ctl.netns });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^ {2}ops-1 .*CHANGED .*2 file\(s\): \S+\/etc\/cluster-mgr\/front-tls\/tls\.crt, \S+\/etc\/cluster-mgr\/front-tls\/tls\.key$/m);
    expect(again.stdout).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
    expect(await fromOps('front-2', 'show info')).toMatch(/^Name: HAProxy$/m);
  }, 180_000);

  it('preflight covers the front hosts and the ops host', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    const r = await flotilla(['preflight', inventory, '--format', 'json'], { netns: lab!.ctl.netns });
    const report = (JSON.parse(r.stdout) as { hosts: { node: string; roles: string[]; checks: { id: string; severity: string; message: string }[] }[] }).hosts;
    expect(report.map((h) => h.node)).toEqual(hosts.map((h) => h.name));
    const check = (host: string, id: string) => report.find((h) => h.node === host)?.checks.find((c) => c.id === id);
    for (const f of FRONTS) {
      expect(report.find((h) => h.node === f)?.roles).toEqual(['front']);
      expect(check(f, 'tools.required')).toMatchObject({ severity: 'pass', message: 'haproxy, keepalived, curl, ip present' });
      // the HAProxy install started holds the runtime API port: a warning, not a failure
      expect(check(f, 'ports.free')).toMatchObject({ severity: 'warn' });
      expect(check(f, 'ports.free')?.message).toContain('9999');
      expect(check(f, 'kernel.module.br_netfilter')).toBeUndefined(); // no Kubernetes checks on a front host
    }
    expect(report.find((h) => h.node === 'ops-1')?.roles).toEqual(['ops']);
    // no systemd in a netns host, and nothing serves the lab cluster's API VIP
    expect(check('ops-1', 'os.systemd')).toMatchObject({ severity: 'fail' });
    expect(check('ops-1', 'net.reach.api')?.message).toContain(':6443');
    expect(r.code).toBe(3);
  }, 120_000);
});
