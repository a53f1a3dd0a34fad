// Table tests of the pure delivery logic: preflight checks over facts, probe parsing, known_hosts
// pinning, image references, repository patterns, host file placement, deterministic JSON.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hostFileDestination } from '../../infra/lib/host-files';
import { hostPath, parseSha256sum, planHostFiles } from '../../scripts/delivery/hosts';
import { parseEndpoints, registryUrl } from '../../scripts/delivery/oci';
import { checkHost, checkSiteHost, compareVersions, crossChecks, frontPorts, opsReachTargets, parseProbe, portsFor, type HostFacts } from '../../scripts/delivery/preflight';
import { opsHostNeeds, parseTlsProbe } from '../../scripts/delivery/site-hosts';
import { siteHosts } from '../../infra/site/hosts';
import { checkHostKey, fingerprint, keyTypeOf, knownHostName, parseKnownHosts } from '../../scripts/delivery/ssh';
import { repoMatcher } from '../../scripts/delivery/sync';
import { loadSite, type SiteNode } from '../../infra/site/index';

const node = (name: string, roles: SiteNode['roles'] = ['worker']): SiteNode => ({ name, address: '10.0.0.1', roles, labels: {} });
const facts = (o: Partial<HostFacts> = {}): HostFacts => ({
  osId: 'debian',
  osPretty: 'Debian GNU/Linux 12 (bookworm)',
  kernel: '6.1.0-18-amd64',
  arch: 'x86_64',
  cpus: 4,
  memKiB: 8 * 1048576,
  diskFreeKiB: 100 * 1048576,
  swaps: 0,
  modules: { br_netfilter: true, overlay: true, ip_vs: true },
  sysctls: { 'net.ipv4.ip_forward': '1', 'net.bridge.bridge-nf-call-iptables': '1' },
  hostname: 'w1',
  listening: [22],
  tools: { ip: true, iptables: true, mount: true, nsenter: true, socat: true, tar: true, ebtables: true, tc: true },
  containerd: '1.7.13',
  mtu: 1500,
  iface: 'eth0',
  reach: {},
  clockSkewMs: 20,
  ...o,
});
const sev = (checks: ReturnType<typeof checkHost>, id: string) => checks.find((c) => c.id === id)?.severity;

describe('preflight checks (pure)', () => {
  it('a clean host passes every check', () => {
    const checks = checkHost(node('w1'), facts(), []);
    expect(checks.filter((c) => c.severity !== 'pass')).toEqual([]);
  });

  it.each<[string, Partial<HostFacts>, SiteNode['roles'], string, 'pass' | 'warn' | 'fail']>([
    ['old kernel', { kernel: '4.18.0-553.el8' }, ['worker'], 'os.kernel', 'fail'],
    ['kernel exactly 4.19', { kernel: '4.19.0' }, ['worker'], 'os.kernel', 'pass'],
    ['unsupported arch', { arch: 'armv7l' }, ['worker'], 'os.arch', 'fail'],
    ['unknown distribution', { osId: 'gentoo', osPretty: 'Gentoo' }, ['worker'], 'os.distribution', 'warn'],
    ['1 CPU on a master', { cpus: 1 }, ['master'], 'resources.cpu', 'fail'],
    ['1 CPU on a worker is enough', { cpus: 1 }, ['worker'], 'resources.cpu', 'pass'],
    ['1 GiB on an edge node', { memKiB: 1048576 }, ['edge'], 'resources.memory', 'fail'],
    ['1.95 GiB on a master (kernel reserve)', { memKiB: 1.95 * 1048576 }, ['master'], 'resources.memory', 'pass'],
    ['10 GiB free disk', { diskFreeKiB: 10 * 1048576 }, ['worker'], 'resources.disk', 'fail'],
    ['swap on', { swaps: 1 }, ['worker'], 'os.swap', 'fail'],
    ['br_netfilter missing', { modules: { br_netfilter: false, overlay: true, ip_vs: true } }, ['worker'], 'kernel.module.br_netfilter', 'fail'],
    ['ip_vs missing', { modules: { br_netfilter: true, overlay: true, ip_vs: false } }, ['worker'], 'kernel.module.ip_vs', 'warn'],
    ['ip_forward 0', { sysctls: { 'net.ipv4.ip_forward': '0', 'net.bridge.bridge-nf-call-iptables': '1' } }, ['worker'], 'sysctl.net.ipv4.ip_forward', 'fail'],
    ['bridge sysctl missing', { sysctls: { 'net.ipv4.ip_forward': '1' } }, ['worker'], 'sysctl.net.bridge.bridge-nf-call-iptables', 'fail'],
    ['clock 1.5 s off', { clockSkewMs: 1500 }, ['worker'], 'clock.skew', 'warn'],
    ['clock 0.9 s off', { clockSkewMs: -900 }, ['worker'], 'clock.skew', 'pass'],
    ['clock 61 s behind', { clockSkewMs: -61_000 }, ['worker'], 'clock.skew', 'fail'],
    ['hostname with capitals', { hostname: 'Node_1' }, ['worker'], 'hostname.dns1123', 'fail'],
    ['6443 taken on a master', { listening: [22, 6443] }, ['master'], 'ports.free', 'fail'],
    ['6443 taken on a worker is fine', { listening: [6443] }, ['worker'], 'ports.free', 'pass'],
    ['443 taken on an edge node', { listening: [443] }, ['edge'], 'ports.free', 'fail'],
    ['179 taken anywhere', { listening: [179] }, ['worker'], 'ports.free', 'fail'],
    ['socat missing', { tools: { ip: true, iptables: true, mount: true, nsenter: true, socat: false, tar: true, ebtables: true, tc: true } }, ['worker'], 'tools.required', 'fail'],
    ['tc missing', { tools: { ip: true, iptables: true, mount: true, nsenter: true, socat: true, tar: true, ebtables: true, tc: false } }, ['worker'], 'tools.recommended', 'warn'],
    ['containerd absent', { containerd: undefined }, ['worker'], 'runtime.containerd', 'warn'],
    ['containerd 1.5', { containerd: '1.5.9' }, ['worker'], 'runtime.containerd', 'fail'],
  ])('%s', (_name, f, roles, id, severity) => {
    const checks = checkHost(node('n1', roles), facts(f), []);
    expect(sev(checks, id)).toBe(severity);
    const c = checks.find((x) => x.id === id)!;
    if (c.severity !== 'pass') expect(c.fix, 'every problem carries a fix hint').toBeTruthy();
  });

  it('reachability: router must accept 179; a refused master port still means reachable', () => {
    const targets = [
      { target: '10.0.0.254:179', kind: 'router' as const, name: 'tor-a' },
      { target: '10.0.0.2:6443', kind: 'master' as const, name: 'm2' },
      { target: '10.0.0.3:6443', kind: 'master' as const, name: 'm3' },
    ];
    const checks = checkHost(node('m1', ['master']), facts({ reach: { '10.0.0.254:179': 'refused', '10.0.0.2:6443': 'refused', '10.0.0.3:6443': 'timeout' } }), targets);
    expect(checks.filter((c) => c.id.startsWith('net.reach')).map((c) => c.severity)).toEqual(['fail', 'pass', 'fail']);
  });

  it('ports per role', () => {
    expect(portsFor(['worker'])).toEqual([179, 10250]);
    expect(portsFor(['master', 'edge'])).toEqual([80, 179, 443, 2379, 2380, 6443, 10250]);
  });

  it('cross checks: duplicate hostnames fail on both hosts, a different MTU warns', () => {
    const hosts = [
      { node: node('a'), cluster: 'c', facts: facts({ hostname: 'a' }) },
      { node: node('b'), cluster: 'c', facts: facts({ hostname: 'x' }) },
      { node: node('c'), cluster: 'c', facts: facts({ hostname: 'x', mtu: 9000 }) },
      { node: node('d'), cluster: 'c', facts: undefined },
    ];
    const r = crossChecks(hosts);
    expect(r.get('a')!.map((c) => c.severity)).toEqual(['pass', 'pass']);
    expect(r.get('b')!.find((c) => c.id === 'hostname.unique')).toMatchObject({ severity: 'fail', message: 'hostname x is also used by c' });
    expect(r.get('c')!.find((c) => c.id === 'net.mtu')).toMatchObject({ severity: 'warn', message: expect.stringContaining("differs from the cluster's 1500") });
    expect(r.get('d')).toEqual([]);
  });

  it('parses the probe output', () => {
    const out = [
      '@@os', 'PRETTY_NAME="Ubuntu 22.04.4 LTS"', 'ID=ubuntu',
      '@@kernel', '5.15.0-100-generic', '@@arch', 'aarch64', '@@cpus', '8', '@@mem', 'MemTotal:       16318480 kB',
      '@@disk', '/dev/sda1 102687672 20000000 77428556  21% /', '@@swaps', '1',
      '@@modules', 'overlay', '@@sysctl', 'net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=',
      '@@hostname', 'node-7', '@@listen', '0.0.0.0:22', '[::]:22', '127.0.0.1:10250',
      '@@tools', 'ip yes', 'socat no', '@@containerd', 'containerd containerd.io 1.6.28 ae07eda', '@@iface', 'ens3 9000',
      '@@reach', '10.0.0.1:179 0', '10.0.0.2:6443 1', '10.0.0.3:6443 124', '@@end',
    ].join('\n');
    const f = parseProbe(out, 42);
    expect(f).toMatchObject({
      osId: 'ubuntu', osPretty: 'Ubuntu 22.04.4 LTS', kernel: '5.15.0-100-generic', arch: 'aarch64', cpus: 8, memKiB: 16318480,
      diskFreeKiB: 77428556, swaps: 1, modules: { br_netfilter: false, overlay: true, ip_vs: false },
      sysctls: { 'net.ipv4.ip_forward': '1', 'net.bridge.bridge-nf-call-iptables': undefined },
      hostname: 'node-7', listening: [22, 10250], tools: { ip: true, socat: false }, containerd: '1.6.28', iface: 'ens3', mtu: 9000,
      reach: { '10.0.0.1:179': 'open', '10.0.0.2:6443': 'refused', '10.0.0.3:6443': 'timeout' }, clockSkewMs: 42,
    });
  });

  it('compares versions numerically', () => {
    expect(compareVersions('4.19', '4.19.0')).toBe(0);
    expect(compareVersions('4.9.0', '4.19')).toBeLessThan(0);
    expect(compareVersions('5.4.0-150-generic', '4.19')).toBeGreaterThan(0);
  });
});

describe('known_hosts pinning (pure)', () => {
  const blob = (seed: string) => {
    const name = Buffer.from('ssh-ed25519');
    const key = Buffer.alloc(32, seed);
    const b = Buffer.alloc(4 + name.length + 4 + 32);
    b.writeUInt32BE(name.length, 0);
    name.copy(b, 4);
    b.writeUInt32BE(32, 4 + name.length);
    key.copy(b, 8 + name.length);
    return b;
  };
  const k1 = blob('a');
  const k2 = blob('b');
  const salt = Buffer.from('0123456789abcdef0123');
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('10.0.0.9').digest('base64')}`;
  const known = parseKnownHosts(
    [`# comment`, `10.0.0.1,node-1 ssh-ed25519 ${k1.toString('base64')}`, `[10.0.0.2]:2222 ssh-ed25519 ${k1.toString('base64')}`, `${hashed} ssh-ed25519 ${k2.toString('base64')}`, `@revoked 10.0.0.3 ssh-ed25519 ${k2.toString('base64')}`, `10.0.0.3 ssh-ed25519 ${k1.toString('base64')}`].join('\n'),
  );

  it.each([
    ['pinned key', '10.0.0.1', 22, k1, { ok: true }],
    ['alias pinned', 'node-1', 22, k1, { ok: true }],
    ['changed key', '10.0.0.1', 22, k2, { ok: false, reason: 'changed' }],
    ['non-standard port', '10.0.0.2', 2222, k1, { ok: true }],
    ['same host, other port is unknown', '10.0.0.2', 22, k1, { ok: false, reason: 'unknown' }],
    ['hashed host name', '10.0.0.9', 22, k2, { ok: true }],
    ['revoked key', '10.0.0.3', 22, k2, { ok: false, reason: 'revoked' }],
    ['unknown host', '10.0.0.77', 22, k1, { ok: false, reason: 'unknown' }],
  ] as const)('%s', (_n, host, port, key, verdict) => {
    expect(checkHostKey(known, host, port, key)).toMatchObject(verdict);
  });

  it('fingerprints like ssh-keygen -l and names the key type', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const b = blob('x');
    raw.copy(b, b.length - 32);
    expect(fingerprint(b)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(keyTypeOf(b)).toBe('ssh-ed25519');
    expect(knownHostName('h', 22)).toBe('h');
    expect(knownHostName('h', 2200)).toBe('[h]:2200');
  });
});

describe('images, endpoints and repository patterns (pure)', () => {
  it('maps registry hosts to URLs', () => {
    const eps = parseEndpoints(['registry.bj1.example.com=http://127.0.0.1:5000']);
    expect(eps.ok).toBe(true);
    const map = eps.ok ? eps.map : new Map();
    expect(registryUrl('registry.bj1.example.com', map)).toBe('http://127.0.0.1:5000');
    expect(registryUrl('127.0.0.1:5001')).toBe('http://127.0.0.1:5001');
    expect(registryUrl('quay.io')).toBe('https://quay.io');
    expect(parseEndpoints(['nope'])).toMatchObject({ ok: false, error: expect.stringContaining('HOST=URL') });
  });

  it.each([
    [['platform/*'], 'platform/app', true],
    [['platform/*'], 'platform/team/app', false],
    [['platform/**'], 'platform/team/app', true],
    [['apps/*', 'platform/*'], 'apps/web', true],
    [['platform/*'], 'platformx/app', false],
    [['a.b/*'], 'aXb/c', false],
  ] as const)('%j matches %s → %s', (patterns, repo, want) => {
    expect(repoMatcher(patterns)(repo)).toBe(want);
  });
});

describe('host files and bundle index (pure)', () => {
  it('places synthesized host files; containerd first', () => {
    const plan = planHostFiles(['keepalived.conf', 'keepalived-edge.conf', 'manifests/haproxy.yaml', 'containerd/certs.d/reg.example.com/hosts.toml', 'containerd/certs.d/reg.example.com/ca.crt', 'check_apiserver.sh', 'haproxy.cfg', 'notes.txt']);
    // where each goes is infra/lib/host-files (tested there); here: the order (by step, then destination)
    expect(plan.files.map((f) => f.src)).toEqual(['containerd/certs.d/reg.example.com/ca.crt', 'containerd/certs.d/reg.example.com/hosts.toml', 'haproxy.cfg', 'check_apiserver.sh', 'keepalived.conf', 'manifests/haproxy.yaml', 'keepalived-edge.conf']);
    expect(plan.files.map((f) => ({ dest: f.dest, mode: f.mode, step: f.step }))).toEqual(plan.files.map((f) => hostFileDestination(f.src)));
    expect(plan.ignored).toEqual(['notes.txt']);
    expect(hostPath('/', 'n1', '/etc/x')).toBe('/etc/x');
    expect(hostPath('/stage/{node}', 'n1', '/etc/x')).toBe('/stage/n1/etc/x');
  });

  it('parses sha256sum output (names with spaces too)', () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    expect(parseSha256sum(`${a}  /etc/x\n${b} */etc/with space\nsha256sum: /etc/y: No such file\n`)).toEqual(new Map([['/etc/x', a], ['/etc/with space', b]]));
  });
});

describe('front hosts and the ops host (pure)', () => {
  const frontFacts = (o: Partial<HostFacts> = {}) => facts({ tools: { haproxy: true, keepalived: true, curl: true, ip: true }, modules: {}, sysctls: {}, containerd: undefined, cpus: 1, memKiB: 1048576, diskFreeKiB: 6 * 1048576, ...o });

  it.each([
    ['a clean front host passes', 'front', {}, {}, []],
    ['missing keepalived and curl', 'front', { tools: { haproxy: true, ip: true } }, {}, [['tools.required', 'fail', 'missing keepalived, curl']]],
    ['a held port is a warning (the front HAProxy of an earlier install)', 'front', { listening: [22, 9999] }, { ports: [80, 8405, 9999] }, [['ports.free', 'warn', 'port(s) 9999 already in use']]],
    ['the ops host without systemd', 'ops', { systemd: false }, {}, [['os.systemd', 'fail', 'systemd does not run this host']]],
    ['an API VIP that does not answer', 'ops', { systemd: true, reach: { '10.0.1.10:6443': 'timeout', '10.0.2.10:6443': 'refused' } }, { targets: [{ target: '10.0.1.10:6443', name: 'a' }, { target: '10.0.2.10:6443', name: 'b' }] }, [['net.reach.api', 'fail', 'API VIP of a 10.0.1.10:6443 unreachable (timeout)']]],
    ['half a GiB of memory', 'ops', { memKiB: 524288, systemd: true }, {}, [['resources.memory', 'fail', '0.5 GiB memory, the ops host needs 1 GiB']]],
  ] as const)('%s', (_t, kind, f, o, want) => {
    const checks = checkSiteHost({ kind, name: 'h1' }, frontFacts(f as Partial<HostFacts>), o as Parameters<typeof checkSiteHost>[2]);
    expect(checks.filter((c) => c.severity !== 'pass').map((c) => [c.id, c.severity, c.message])).toEqual(want);
    // no Kubernetes node checks on these hosts
    expect(checks.map((c) => c.id).filter((id) => /^(kernel|sysctl|runtime|net\.reach\.(router|master))/.test(id))).toEqual([]);
  });

  it('siteHosts: nodes in inventory order, then the front hosts, then the ops host; frontPorts and opsReachTargets', async () => {
    const loaded = await loadSite('examples/sh1.yaml');
    if (!loaded.ok) throw new Error('examples/sh1.yaml does not load');
    const hosts = siteHosts(loaded.value);
    expect(hosts.slice(-3).map((h) => [h.name, h.kind, h.cluster, h.roles])).toEqual([
      ['sh1-front1', 'front', '', ['front']],
      ['sh1-front2', 'front', '', ['front']],
      ['sh1-ops1', 'ops', '', ['ops']],
    ]);
    expect(hosts.slice(0, -3).map((h) => h.name)).toEqual(loaded.value.spec.clusters.flatMap((c) => c.nodes.map((n) => n.name)));
    expect(frontPorts(loaded.value)).toEqual([80, 443, 3306, 8405, 9999]);
    expect(opsReachTargets(loaded.value).map((t) => t.target)).toEqual(['10.20.1.10:6443', '10.20.2.10:6443']);
    expect(opsHostNeeds(loaded.value).map((n) => n.path)).toEqual(['/etc/cluster-mgr/api-token.env', '/etc/cluster-mgr/kubeconfigs/sh1-a.yaml', '/etc/cluster-mgr/kubeconfigs/sh1-b.yaml', '/usr/local/bin/cluster-mgr']);
    // with the bundle's built cluster-mgr image install writes the daemon itself: only pulumi up's secrets remain
    const needs = opsHostNeeds(loaded.value, { binaryFromBundle: true });
    expect(needs.map((n) => n.path)).toEqual(['/etc/cluster-mgr/api-token.env', '/etc/cluster-mgr/kubeconfigs/sh1-a.yaml', '/etc/cluster-mgr/kubeconfigs/sh1-b.yaml']);
    expect(needs.every((n) => n.from.startsWith('pulumi up'))).toBe(true);
  });

  it.each([
    ['nothing there', '@cert\n@key\n@ca\n', { cert: '', hasKey: false, ca: '' }],
    ['certificate, key and CA', '@cert\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n@key\nyes\n@ca\n-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n', { cert: '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----', hasKey: true, ca: '-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----' }],
    ['a certificate without its key', '@cert\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n@key\n@ca\n', { cert: '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----', hasKey: false, ca: '' }],
  ])('parseTlsProbe: %s', (_t, out, want) => expect(parseTlsProbe(out)).toEqual(want));
});
