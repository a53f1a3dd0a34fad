import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { formatError, parseSite, type Site } from './index';
import { sharedPath } from '../../test/lab/shared';
import { siteJsonSchemaText } from './json-schema';

const base = readFileSync('examples/bj1.yaml', 'utf8');

/** Applies a mutation to the bj1 example and returns the YAML text. */
function mutate(fn: (doc: ReturnType<typeof parseDocument>) => void): string {
  const doc = parseDocument(base);
  fn(doc);
  return doc.toString();
}

describe('trust fields (PEM CA certificates)', () => {
  const caPem = (parseSite(base).ok ? (parseSite(base) as { value: Site }).value.spec.certificates.caCert : undefined)!;
  it('the example\'s site CA loads as given', () => {
    expect(caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });
  it.each([
    ['not PEM', 'hello', /spec\.certificates\.caCert: is not a PEM certificate bundle/],
    ['a broken block', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', /spec\.certificates\.caCert: is not a PEM certificate bundle/],
  ])('%s is refused with the field and the fix', (_what, value, message) => {
    const r = parseSite(mutate((d) => d.setIn(['spec', 'certificates', 'caCert'], value)), 'site.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map(formatError).join('\n')).toMatch(message);
  });
  it('a server (non-CA) certificate is refused, naming its subject', () => {
    const leaf = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null', '-days', '1', '-subj', '/CN=registry.example.com', '-addext', 'basicConstraints=critical,CA:FALSE'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const r = parseSite(mutate((d) => d.setIn(['spec', 'registry', 'mirrors', 0, 'caCert'], leaf)), 'site.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map(formatError).join('\n')).toMatch(/spec\.registry\.mirrors\[0\]\.caCert: holds a certificate that is not a CA \(CN=registry\.example\.com\)/);
  });
});

describe('Site model', () => {
  it.each(['examples/bj1.yaml', 'examples/sh1.yaml', 'examples/customer-airgap.yaml', sharedPath('contract', 'site.example.yaml')])(
    '%s validates',
    (file) => {
      const r = parseSite(readFileSync(file, 'utf8'), file);
      if (!r.ok) throw new Error(r.errors.map(formatError).join('\n'));
      expect(r.value.spec.clusters.length).toBeGreaterThan(0);
    },
  );

  it('applies defaults to the resolved model', () => {
    const text = mutate((d) => {
      d.deleteIn(['spec', 'network', 'blockSize']);
      d.deleteIn(['spec', 'network', 'encapsulation']);
      d.deleteIn(['spec', 'ssh', 'port']);
      d.deleteIn(['spec', 'clusters', 0, 'istio']);
    });
    const r = parseSite(text);
    expect(r.ok).toBe(true);
    const site = (r as { value: Site }).value;
    expect(site.spec.network.blockSize).toBe(26);
    expect(site.spec.network.encapsulation).toBe('None');
    expect(site.spec.ssh.port).toBe(22);
    expect(site.spec.clusters[0]!.istio.trafficPolicy.retries.attempts).toBe(2);
    expect(site.spec.clusters[0]!.istio.trafficPolicy.loadBalancer).toBe('LEAST_REQUEST');
  });

  // Each case: a mutation, the expected path and a fragment of the message.
  const cases: [string, (d: ReturnType<typeof parseDocument>) => void, string, RegExp][] = [
    ['pod CIDR overlaps service CIDR', (d) => d.setIn(['spec', 'network', 'serviceCIDR'], '10.244.128.0/17'), 'spec.network.podCIDR', /overlaps serviceCIDR "10.244.128.0\/17"/],
    ['duplicate node address', (d) => d.setIn(['spec', 'clusters', 0, 'nodes', 6, 'address'], '10.10.1.31'), 'spec.clusters[0].nodes[6].address', /already used by spec.clusters\[0\].nodes\[5\]/],
    ['duplicate node name', (d) => d.setIn(['spec', 'clusters', 0, 'nodes', 6, 'name'], 'bj1-a-w1'), 'spec.clusters[0].nodes[6].name', /duplicate node name "bj1-a-w1"/],
    ['VIP outside its subnet', (d) => d.setIn(['spec', 'clusters', 0, 'edge', 'vips', 0, 'address'], '10.10.2.100/24'), 'spec.clusters[0].edge.vips[0].address', /outside the subnet of edge node/],
    ['API VIP outside the masters subnet', (d) => d.setIn(['spec', 'clusters', 0, 'apiVIP', 'address'], '10.10.9.10/24'), 'spec.clusters[0].apiVIP.address', /master node/],
    ['VIP equals a node address', (d) => d.setIn(['spec', 'clusters', 0, 'edge', 'vips', 0, 'address'], '10.10.1.21/24'), 'spec.clusters[0].edge.vips[0].address', /must not be a node or router address/],
    ['unknown field', (d) => d.setIn(['spec', 'network', 'mtu'], 9000), 'spec.network.mtu', /unknown field "mtu"/],
    ['VRID out of range', (d) => d.setIn(['spec', 'clusters', 0, 'edge', 'vips', 0, 'virtualRouterId'], 300), 'spec.clusters[0].edge.vips[0].virtualRouterId', /300 is out of range: expected 1–255/],
    ['VRID reused in a cluster', (d) => d.setIn(['spec', 'clusters', 0, 'edge', 'vips', 1, 'virtualRouterId'], 51), 'spec.clusters[0].edge.vips[1].virtualRouterId', /already used/],
    ['ASN out of range', (d) => d.setIn(['spec', 'network', 'asNumber'], 4294967295), 'spec.network.asNumber', /not an AS number/],
    ['route reflector not a node', (d) => d.setIn(['spec', 'network', 'routeReflectors'], ['bj1-a-m9']), 'spec.network.routeReflectors[0]', /"bj1-a-m9" is not a node/],
    ['no master', (d) => d.setIn(['spec', 'clusters', 0, 'nodes'], [{ name: 'w', address: '10.10.1.40', roles: ['worker'] }]), 'spec.clusters[0].nodes', /no node with role "master"/],
    ['default storage not configured', (d) => {
      d.setIn(['spec', 'storage', 'default'], 'ceph');
      d.deleteIn(['spec', 'storage', 'ceph']);
    }, 'spec.storage.default', /"ceph" is not configured/],
    ['edge VIP without edge nodes', (d) => {
      d.setIn(['spec', 'clusters', 0, 'nodes', 3, 'roles'], ['worker']);
      d.setIn(['spec', 'clusters', 0, 'nodes', 4, 'roles'], ['worker']);
    }, 'spec.clusters[0].edge.vips[0]', /no node with role "edge"/],
    ['bad DNS name', (d) => d.setIn(['metadata', 'name'], 'BJ_1'), 'metadata.name', /not a DNS-1123 label/],
    ['bad IPv4', (d) => d.setIn(['spec', 'network', 'routers', 0, 'address'], '10.10.0.300'), 'spec.network.routers[0].address', /not an IPv4 address/],
    ['CIDR with host bits', (d) => d.setIn(['spec', 'network', 'podCIDR'], '10.244.1.0/16'), 'spec.network.podCIDR', /host bits set/],
    ['enum value', (d) => d.setIn(['spec', 'network', 'encapsulation'], 'GRE'), 'spec.network.encapsulation', /"GRE" is not allowed: expected one of "None"/],
    ['wrong type', (d) => d.setIn(['spec', 'network', 'asNumber'], 'sixty'), 'spec.network.asNumber', /expected number, got string "sixty"/],
    ['missing field', (d) => d.deleteIn(['spec', 'domain']), 'spec.domain', /required field is missing/],
    ['node address inside pod CIDR', (d) => d.setIn(['spec', 'clusters', 0, 'nodes', 6, 'address'], '10.244.3.3'), 'spec.clusters[0].nodes[6].address', /inside podCIDR/],
    ['acme without email', (d) => {
      d.setIn(['spec', 'certificates', 'issuer'], 'acme');
      d.deleteIn(['spec', 'certificates', 'acmeEmail']);
    }, 'spec.certificates.acmeEmail', /needs acmeEmail/],
    ['acme wildcard over HTTP-01 (no dns01)', (d) => d.setIn(['spec', 'certificates', 'issuer'], 'acme'), 'spec.certificates.issuer', /"\*\.bj1\.example\.com" over HTTP-01, which ACME refuses for wildcard names: add spec\.certificates\.dns01/],
    ['acme DNS-01 zones that miss the wildcard', (d) => {
      d.setIn(['spec', 'certificates', 'issuer'], 'acme');
      d.setIn(['spec', 'certificates', 'dns01'], { zones: ['sh1.example.com'], rfc2136: { nameserver: '10.10.0.53:53', tsigKeyName: 'acme-bj1' } });
    }, 'spec.certificates.dns01.zones', /"\*\.bj1\.example\.com" is outside the DNS-01 zones \["sh1\.example\.com"\], so it would use HTTP-01.*add "bj1\.example\.com" \(or a parent zone\)/],
    ['acme DNS-01 without HTTP-01 and zones that miss the apex', (d) => {
      d.setIn(['spec', 'certificates', 'issuer'], 'acme');
      d.setIn(['spec', 'certificates', 'dns01'], { zones: ['a.bj1.example.com'], http01: false, webhook: { groupName: 'acme.example.com', solverName: 'corpdns' } });
    }, 'spec.certificates.dns01.zones', /"bj1\.example\.com" is outside the DNS-01 zones .* no solver at all/],
    ['dns01 with both solvers', (d) => {
      d.setIn(['spec', 'certificates', 'issuer'], 'acme');
      d.setIn(['spec', 'certificates', 'dns01'], { rfc2136: { nameserver: '10.10.0.53:53', tsigKeyName: 'k' }, webhook: { groupName: 'acme.example.com', solverName: 'x' } });
    }, 'spec.certificates.dns01', /both rfc2136 and webhook: give exactly one/],
    ['dns01 with neither solver', (d) => {
      d.setIn(['spec', 'certificates', 'issuer'], 'acme');
      d.setIn(['spec', 'certificates', 'dns01'], { zones: ['bj1.example.com'] });
    }, 'spec.certificates.dns01', /neither rfc2136 nor webhook/],
    ['RFC 2136 nameserver without port', (d) => d.setIn(['spec', 'certificates', 'dns01'], { rfc2136: { nameserver: '10.10.0.53', tsigKeyName: 'k' } }), 'spec.certificates.dns01.rfc2136.nameserver', /"10\.10\.0\.53" is not host:port/],
    ['unknown TSIG algorithm', (d) => d.setIn(['spec', 'certificates', 'dns01'], { rfc2136: { nameserver: '10.10.0.53:53', tsigKeyName: 'k', tsigAlgorithm: 'hmac-sha256' } }), 'spec.certificates.dns01.rfc2136.tsigAlgorithm', /"hmac-sha256" is not allowed: expected one of "HMACMD5"/],
    ['a TSIG secret in the inventory', (d) => d.setIn(['spec', 'certificates', 'dns01'], { rfc2136: { nameserver: '10.10.0.53:53', tsigKeyName: 'k', tsigSecret: 'c2VjcmV0' } }), 'spec.certificates.dns01.rfc2136.tsigSecret', /unknown field "tsigSecret"/],
    ['receiver with two targets', (d) => d.setIn(['spec', 'monitoring', 'receivers', 1, 'webhook'], { url: 'http://x.example.com/' }), 'spec.monitoring.receivers[1]', /exactly one of webhook or email/],
    ['bad duration', (d) => d.setIn(['spec', 'clusters', 0, 'istio', 'trafficPolicy', 'retries', 'perTryTimeout'], '2 seconds'), 'spec.clusters[0].istio.trafficPolicy.retries.perTryTimeout', /not a duration/],
  ];

  it.each(cases)('rejects %s with its path and a message naming the value', (_name, fn, path, message) => {
    const r = parseSite(mutate(fn), 'site.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const hit = r.errors.find((e) => e.path === path);
    expect(hit, `errors: ${r.errors.map(formatError).join('\n')}`).toBeDefined();
    expect(hit!.message).toMatch(message);
    expect(hit!.line).toBeGreaterThan(0);
    expect(formatError(hit!)).toMatch(/^site\.yaml:\d+:\d+ /);
  });

  it('reports the line of the offending value', () => {
    const r = parseSite(base.replace('bj1-a-w2, address: 10.10.1.32', 'bj1-a-w2, address: 10.10.1.31'), 'x.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const lines = base.split('\n');
    const lineNo = lines.findIndex((l) => l.includes('bj1-a-w2')) + 1;
    expect(r.errors[0]!.line).toBe(lineNo);
  });

  it('reports every error, not only the first', () => {
    const r = parseSite(mutate((d) => {
      d.setIn(['spec', 'network', 'mtu'], 1);
      d.setIn(['spec', 'network', 'asNumber'], -1);
      d.setIn(['metadata', 'name'], 'X');
    }));
    expect(r.ok).toBe(false);
    expect(r.ok ? 0 : r.errors.length).toBeGreaterThanOrEqual(3);
  });

  it('bad YAML is a positioned error, not an exception', () => {
    const r = parseSite(base.replace('  domain: bj1.example.com', '   domain: bj1.example.com'), 'bad.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]!.path).toBe('(yaml)');
    expect(r.errors[0]!.line).toBe(base.split('\n').findIndex((l) => l.startsWith('  domain:')) + 1);
  });

  it.each([['', /empty document/], ['- a\n- b\n', /got a list/], ['42', /got number/]])('non-mapping input %j is an error', (text, msg) => {
    const r = parseSite(text);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.errors[0]!.message).toMatch(msg);
  });

  it('an alias bomb is a positioned error, not an exception', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`)].join('\n');
    const r = parseSite(bomb, 'bomb.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]!.path).toBe('(yaml)');
  });

  it('does not mutate or share state between loads', () => {
    const a = parseSite(base);
    const b = parseSite(base);
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) expect(a.value).not.toBe(b.value);
  });

  it('docs/site.schema.json is generated from the zod schema and up to date (npm run schema)', () => {
    expect(readFileSync('docs/site.schema.json', 'utf8')).toBe(siteJsonSchemaText());
    const schema = JSON.parse(siteJsonSchemaText());
    expect(schema.properties.spec.properties.network.properties.encapsulation.enum).toContain('VXLAN');
    expect(schema.additionalProperties).toBe(false);
  });
});
