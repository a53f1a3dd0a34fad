// Table tests of the bootstrap registry's pure parts: facts, the hosts.toml mirror block, the
// /etc/hosts line, the probe parser, who holds the port, and when a certificate must be reissued.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootstrapRegistry, etcHostsWith, ETC_HOSTS_MARK, renderBootstrapConfig, renderBootstrapUnit, withBootstrapMirror, withBootstrapMirrors } from '../../infra/render/bootstrap-registry';
import { renderContainerdHosts } from '../../infra/render/containerd';
import { loadSite } from '../../infra/site/index';
import { certificateProblem, clientCertificateExtensions, clientCertificateProblem, issueCertificate, issueClientCertificate, parseProbe, portHolders } from '../../scripts/delivery/bootstrap';
import { CLUSTER_MGR_FRONT_CLIENT_CERT } from '../../infra/lib/cluster-mgr-rbac';
import { requireTools } from '../lab/index';
import { repoRoot } from './fixtures';

const site = async () => {
  const r = await loadSite(join(repoRoot, 'examples/customer-airgap.yaml'));
  if (!r.ok) throw new Error('example invalid');
  return r.value;
};

describe('bootstrap registry facts and renderers', () => {
  it('runs on the first master under bootstrap.<registry host>:<bootstrapPort>; a host root prefixes every path', async () => {
    const s = await site();
    const b = bootstrapRegistry(s);
    const master = s.spec.clusters.flatMap((c) => c.nodes).find((n) => n.roles.includes('master'))!;
    expect(b).toMatchObject({ node: master, host: `bootstrap.${s.spec.registry.host}`, port: 5000, url: `https://bootstrap.${s.spec.registry.host}:5000` });
    expect(b.paths.config).toBe('/etc/flotilla/bootstrap-registry/config.yml');
    const staged = bootstrapRegistry(s, { root: (n) => `/stage/${n}` });
    expect(staged.paths.unit).toBe(`/stage/${master.name}/etc/systemd/system/flotilla-bootstrap-registry.service`);
    expect(renderBootstrapUnit(staged)).toContain(`ExecStart=/usr/bin/docker-registry serve /stage/${master.name}/etc/flotilla/bootstrap-registry/config.yml\n`);
    const other = bootstrapRegistry({ ...s, spec: { ...s.spec, registry: { ...s.spec.registry, bootstrapPort: 5443 } } });
    expect(renderBootstrapConfig(other)).toContain(`  addr: ${master.address}:5443\n`);
  });

  it('the unit passes systemd-analyze verify', async (ctx) => {
    requireTools(ctx, ['systemd-analyze', 'docker-registry']);
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-unit-'));
    try {
      const file = join(dir, 'flotilla-bootstrap-registry.service');
      writeFileSync(file, renderBootstrapUnit(bootstrapRegistry(await site())));
      execFileSync('systemd-analyze', ['verify', file], { stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const b = { url: 'https://bootstrap.reg.example.com:5000', node: { name: 'm1' } } as Parameters<typeof withBootstrapMirror>[1];
  it.each([
    ['a file with host sections', 'server = "https://reg.example.com"\n\n[host."https://reg.example.com"]\n  capabilities = ["pull"]\n', ['https://bootstrap.reg.example.com:5000', 'https://reg.example.com']],
    ['a file with only a server', 'server = "https://quay.io"\n', ['https://bootstrap.reg.example.com:5000']],
  ])('puts the bootstrap registry first in %s, once', (_what, toml, hosts) => {
    const once = withBootstrapMirror(toml, b, '/etc/flotilla/bootstrap-registry/ca.crt');
    expect([...once.matchAll(/^\[host\."([^"]+)"\]/gm)].map((m) => m[1])).toEqual(hosts);
    expect(once).toContain('[host."https://bootstrap.reg.example.com:5000"]\n  capabilities = ["pull", "resolve"]\n  ca = "/etc/flotilla/bootstrap-registry/ca.crt"\n');
    expect(once.startsWith(toml.split('\n')[0]!)).toBe(true); // server line kept first
    expect(withBootstrapMirror(once, b, '/x')).toBe(once);
  });

  it('every rendered hosts.toml of a site gets the mirror; other host files are left alone', async () => {
    const s = await site();
    const files = [
      ...renderContainerdHosts(s).map((h) => ({ path: `hosts/n1/containerd/certs.d/${h.registry}/hosts.toml`, content: h.content })),
      { path: 'hosts/n1/keepalived.conf', content: 'vrrp\n' },
    ];
    const out = withBootstrapMirrors(files, bootstrapRegistry(s));
    for (const f of out.filter((x) => x.path.endsWith('hosts.toml'))) expect(/^\[host\."([^"]+)"\]/m.exec(f.content)?.[1], f.path).toBe(`https://bootstrap.${s.spec.registry.host}:5000`);
    expect(out.find((f) => f.path.endsWith('keepalived.conf'))).toBe(files.at(-1));
  });

  it.each([
    ['adds the line', '127.0.0.1 localhost\n', { address: '10.0.0.11', host: 'bootstrap.r' }, `127.0.0.1 localhost\n10.0.0.11 bootstrap.r ${ETC_HOSTS_MARK}\n`],
    ['replaces an older line', `127.0.0.1 localhost\n10.0.0.9 bootstrap.r ${ETC_HOSTS_MARK}\n::1 ip6\n`, { address: '10.0.0.11', host: 'bootstrap.r' }, `127.0.0.1 localhost\n::1 ip6\n10.0.0.11 bootstrap.r ${ETC_HOSTS_MARK}\n`],
    ['is stable', `127.0.0.1 localhost\n10.0.0.11 bootstrap.r ${ETC_HOSTS_MARK}\n`, { address: '10.0.0.11', host: 'bootstrap.r' }, `127.0.0.1 localhost\n10.0.0.11 bootstrap.r ${ETC_HOSTS_MARK}\n`],
    ['removes it (handover)', `127.0.0.1 localhost\n10.0.0.11 bootstrap.r ${ETC_HOSTS_MARK}\n`, undefined, '127.0.0.1 localhost\n'],
    ['leaves other lines naming it', '10.1.1.1 bootstrap.r # by hand\n', undefined, '10.1.1.1 bootstrap.r # by hand\n'],
  ])('/etc/hosts: %s', (_what, current, entry, want) => {
    expect(etcHostsWith(current, entry)).toBe(want);
  });
});

describe('bootstrap registry probe', () => {
  const out = [
    'systemd=no',
    'pid=4242',
    'binary=yes',
    '@listeners',
    'LISTEN 0 4096 10.0.0.11:5000 0.0.0.0:* users:(("docker-registry",pid=4242,fd=3))',
    'LISTEN 0 5 127.0.0.1:5000 0.0.0.0:* users:(("socat",pid=7,fd=5))',
    '@sums',
    `${'a'.repeat(64)}  /etc/flotilla/bootstrap-registry/config.yml`,
    '@ca',
    '-----BEGIN CERTIFICATE-----',
    'MIIB',
    '-----END CERTIFICATE-----',
    '@cert',
    '',
  ].join('\n');
  it('parses state, listeners, sums and the CA', () => {
    const p = parseProbe(out);
    expect(p).toMatchObject({ systemd: false, binary: true, pid: 4242, enabled: false, cert: '' });
    expect(p.listeners).toEqual([
      { local: '10.0.0.11:5000', process: 'docker-registry', pid: 4242 },
      { local: '127.0.0.1:5000', process: 'socat', pid: 7 },
    ]);
    expect(p.sums.get('/etc/flotilla/bootstrap-registry/config.yml')).toBe('a'.repeat(64));
    expect(p.caCert).toBe('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----');
  });

  const l = (local: string, pid?: number) => ({ local, ...(pid ? { process: 'x', pid } : {}) });
  it.each([
    ['the registry itself', [l('10.0.0.11:5000', 42)], 42, 0],
    ['another process on the address', [l('10.0.0.11:5000', 7)], 42, 1],
    ['a wildcard listener', [l('0.0.0.0:5000', 7)], 0, 1],
    ['an IPv6 wildcard', [l('[::]:5000', 7)], 0, 1],
    ['an unknown owner (no -p info) while not running', [l('*:5000')], 0, 1],
    ['another address only', [l('127.0.0.1:5000', 7)], 0, 0],
  ])('port holders: %s', (_what, listeners, pid, n) => {
    expect(portHolders({ listeners, pid }, '10.0.0.11')).toHaveLength(n);
  });
});

describe('bootstrap registry certificate', () => {
  it('issues from a bootstrap CA or a given site CA; reissues when names, CA or address do not fit', async (ctx) => {
    requireTools(ctx, ['openssl']);
    const own = await issueCertificate('bootstrap.reg.example.com', '10.0.0.11', 'lab');
    expect(own.key).toMatch(/BEGIN PRIVATE KEY/);
    expect(certificateProblem(own.cert, own.caCert, 'bootstrap.reg.example.com', '10.0.0.11')).toBeUndefined();
    expect(certificateProblem(own.cert, own.caCert, 'other.example.com', '10.0.0.11')).toBe('not valid for other.example.com');
    expect(certificateProblem(own.cert, own.caCert, 'bootstrap.reg.example.com', '10.0.0.12')).toBe('not valid for 10.0.0.12');
    expect(certificateProblem(own.cert, own.caCert, 'bootstrap.reg.example.com', '10.0.0.11', new Date(Date.now() + 820 * 86_400_000))).toMatch(/^expires /);
    expect(certificateProblem('garbage', own.caCert, 'x', '10.0.0.11')).toBe('unreadable certificate');
    // a site CA (made with openssl, like a customer's)
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-ca-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '30', '-subj', '/CN=customer CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'], { stdio: 'pipe' });
      const ca = { cert: readFileSync(join(dir, 'ca.crt'), 'utf8'), key: readFileSync(join(dir, 'ca.key'), 'utf8') };
      const site = await issueCertificate('bootstrap.reg.example.com', '10.0.0.11', 'lab', ca);
      expect(site.caCert).toBe(ca.cert);
      expect(certificateProblem(site.cert, ca.cert, 'bootstrap.reg.example.com', '10.0.0.11')).toBeUndefined();
      expect(certificateProblem(own.cert, ca.cert, 'bootstrap.reg.example.com', '10.0.0.11')).toBe('not signed by the CA');
      await expect(issueCertificate('b.example.com', '10.0.0.11', 'lab', { cert: ca.cert, key: own.key })).rejects.toThrow(/check --ca-cert and --ca-key/);

      // cluster-mgr's client certificate for the front (the ops host's): reused only while it fits
      const c = CLUSTER_MGR_FRONT_CLIENT_CERT;
      const shape = { commonName: 'cluster-mgr', usages: c.usages, privateKey: c.privateKey };
      const client = await issueClientCertificate(shape, ca, c.installDays);
      expect(clientCertificateProblem(client.cert, ca.cert, 'cluster-mgr')).toBeUndefined();
      expect(clientCertificateProblem(client.cert, ca.cert, 'other')).toBe('CN is not other');
      expect(clientCertificateProblem(client.cert, own.caCert, 'cluster-mgr')).toBe('not signed by the CA');
      expect(clientCertificateProblem(client.cert, ca.cert, 'cluster-mgr', new Date(Date.now() + (c.installDays - 20) * 86_400_000))).toMatch(/^expires /);
      const serverOnly = await issueClientCertificate({ ...shape, usages: ['digital signature', 'server auth'] }, ca, 10);
      expect(clientCertificateProblem(serverOnly.cert, ca.cert, 'cluster-mgr')).toBe('no client auth usage');
      expect(() => clientCertificateExtensions({ usages: ['client auth', 'code signing'] })).toThrow(/certificate usages code signing: not supported here/);
      await expect(issueClientCertificate({ ...shape, privateKey: { algorithm: 'RSA', size: 2048 } }, ca, 10)).rejects.toThrow(/private key RSA 2048 is not supported here/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
