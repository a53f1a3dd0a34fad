// Unit tests per construct: defaults, every validation message, key invariants.
import { describe, expect, it } from 'vitest';
import {
  BgpMode,
  CalicoNetwork,
  CertManagerIssuers,
  DEFAULT_CLASS_ANNOTATION,
  EdgeGateway,
  FederatedApplication,
  FederationControl,
  IstioMesh,
  Logging,
  Monitoring,
  Registry,
  SiteIssuer,
  Dns01Solver,
  Storage,
  StorageBackend,
  filebeatConfig,
  ilmPolicy,
  type CalicoNetworkProps,
} from '../../constructs/index';
import { blackboxModules, ingressGatewayValues } from '../../infra/catalog/values';
import { selectSolver, type SolverChoice } from '../../infra/lib/acme';
import { objectsOf, ofKind, podSpecs, spec } from './helpers';

const calicoBase: CalicoNetworkProps = { asNumber: 64512, podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12' };
const routers = [
  { name: 'tor-a', address: '10.10.0.1', asNumber: 65001 },
  { name: 'tor-b', address: '10.10.0.2', asNumber: 65001 },
];

describe('CalicoNetwork', () => {
  it('defaults: block 26, no encapsulation, natOutgoing off, mesh on, service CIDR advertised', () => {
    const objs = objectsOf((s) => new CalicoNetwork(s, 'c', calicoBase));
    const inst = ofKind(objs, 'Installation')[0];
    expect(inst?.metadata.name).toBe('default');
    expect(spec(inst).calicoNetwork.ipPools).toEqual([
      { name: 'default-ipv4-ippool', cidr: '10.244.0.0/16', blockSize: 26, encapsulation: 'None', natOutgoing: 'Disabled', nodeSelector: 'all()' },
    ]);
    const bgp = ofKind(objs, 'BGPConfiguration')[0];
    expect(bgp?.metadata.name).toBe('default');
    expect(spec(bgp)).toMatchObject({ asNumber: 64512, nodeToNodeMeshEnabled: true, serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] });
    expect(ofKind(objs, 'BGPPeer')).toHaveLength(0);
    expect(ofKind(objs, 'Node')).toHaveLength(0);
  });

  it.each([
    ['None', undefined, 'Disabled'],
    ['IPIP', undefined, 'Enabled'],
    ['VXLAN', undefined, 'Enabled'],
    ['VXLANCrossSubnet', undefined, 'Enabled'],
    ['None', true, 'Enabled'],
    ['IPIP', false, 'Disabled'],
  ] as const)('encapsulation %s, natOutgoing %s → %s', (encapsulation, natOutgoing, want) => {
    const objs = objectsOf((s) => new CalicoNetwork(s, 'c', { ...calicoBase, encapsulation, natOutgoing }));
    expect(spec(ofKind(objs, 'Installation')[0]).calicoNetwork.ipPools[0].natOutgoing).toBe(want);
  });

  it('one BGPPeer per ToR router (global with a mesh)', () => {
    const objs = objectsOf((s) => new CalicoNetwork(s, 'c', { ...calicoBase, routers }));
    const peers = ofKind(objs, 'BGPPeer');
    expect(peers.map((p) => [p.metadata.name, spec(p).peerIP, spec(p).asNumber, spec(p).nodeSelector])).toEqual([
      ['tor-tor-a', '10.10.0.1', 65001, undefined],
      ['tor-tor-b', '10.10.0.2', 65001, undefined],
    ]);
  });

  it('route reflectors: mesh off, reflectors peer with ToRs, everyone peers with reflectors, nodes labelled with the cluster id', () => {
    const objs = objectsOf((s) => new CalicoNetwork(s, 'c', { ...calicoBase, routers, bgpMode: BgpMode.routeReflectors(['m1', 'm2'], '244.0.0.7') }));
    expect(spec(ofKind(objs, 'BGPConfiguration')[0]).nodeToNodeMeshEnabled).toBe(false);
    const peers = ofKind(objs, 'BGPPeer');
    expect(peers.filter((p) => p.metadata.name.startsWith('tor-'))).toHaveLength(2);
    for (const p of peers.filter((x) => x.metadata.name.startsWith('tor-'))) expect(spec(p).nodeSelector).toBe("route-reflector == 'true'");
    expect(spec(peers.find((p) => p.metadata.name === 'peer-with-route-reflectors'))).toEqual({ nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" });
    const nodes = ofKind(objs, 'Node');
    expect(nodes.map((n) => n.metadata.name)).toEqual(['m1', 'm2']);
    for (const n of nodes) {
      expect(n.metadata.labels).toEqual({ 'route-reflector': 'true' });
      expect(n.metadata.annotations).toEqual({ 'projectcalico.org/RouteReflectorClusterID': '244.0.0.7' });
    }
  });

  it('advertiseServiceCIDR false leaves serviceClusterIPs out; registry goes to the Installation', () => {
    const objs = objectsOf((s) => new CalicoNetwork(s, 'c', { ...calicoBase, advertiseServiceCIDR: false, registry: 'reg.example.com' }));
    expect(spec(ofKind(objs, 'BGPConfiguration')[0]).serviceClusterIPs).toBeUndefined();
    expect(spec(ofKind(objs, 'Installation')[0]).registry).toBe('reg.example.com/');
  });

  it.each([
    [{ asNumber: 0 }, 'CalicoNetwork.asNumber: got 0, expected an AS number 1–4294967294'],
    [{ podCIDR: '10.244.0.0' }, 'CalicoNetwork.podCIDR: got "10.244.0.0", expected an IPv4 CIDR such as "10.244.0.0/16"'],
    [{ serviceCIDR: '300.1.0.0/16' }, 'CalicoNetwork.serviceCIDR: got "300.1.0.0/16", expected an IPv4 CIDR'],
    [{ blockSize: 19 }, 'CalicoNetwork.blockSize: got 19, expected an integer 20–32'],
    [{ podCIDR: '10.244.0.0/27', blockSize: 26 }, 'CalicoNetwork.blockSize: got 26, expected at least the podCIDR prefix length /27'],
    [{ encapsulation: 'GRE' }, 'CalicoNetwork.encapsulation: got "GRE", expected one of None, IPIP, VXLAN'],
    [{ routers: [{ name: 'Tor_A', address: '10.0.0.1', asNumber: 1 }] }, 'CalicoNetwork.routers[0].name: got "Tor_A", expected a DNS-1123 label'],
    [{ routers: [{ name: 'tor', address: '10.0.0', asNumber: 1 }] }, 'CalicoNetwork.routers[0].address: got "10.0.0", expected an IPv4 address'],
    [{ routers: [routers[0], routers[0]] }, 'CalicoNetwork.routers[1].name: got "tor-a", expected a router name used once'],
  ])('rejects %j', (bad, message) => {
    expect(() => objectsOf((s) => new CalicoNetwork(s, 'c', { ...calicoBase, ...(bad as object) }))).toThrow(message);
  });

  it('BgpMode validation names the prop', () => {
    expect(() => BgpMode.routeReflectors([])).toThrow('CalicoNetwork.bgpMode: got [], expected at least one route-reflector node name');
    expect(() => BgpMode.routeReflectors(['m1'], '244.0.0')).toThrow('CalicoNetwork.bgpMode.clusterId: got "244.0.0", expected an IPv4-formatted cluster id');
    expect(() => BgpMode.routeReflectors(['M1'])).toThrow('CalicoNetwork.bgpMode.routeReflectors[]: got "M1"');
  });
});

const edgeNodes = [
  { name: 'e1', address: '10.10.1.21' },
  { name: 'e2', address: '10.10.1.22' },
];
const vips = [
  { name: 'ingress', address: '10.10.1.100/24', ports: [80, 443] },
  { name: 'mysql-proxy', address: '10.10.1.101/24', ports: [3306] },
];
const confs = { e1: 'vrrp e1\n', e2: 'vrrp e2\n' };

describe('EdgeGateway', () => {
  const objs = objectsOf((s) => new EdgeGateway(s, 'edge', { nodes: edgeNodes, vips, keepalivedConfigs: confs }));
  it('a ConfigMap with one key per edge node', () => {
    const cm = ofKind(objs, 'ConfigMap')[0] as unknown as { data: Record<string, string> };
    expect(cm.data).toEqual({ 'e1.conf': 'vrrp e1\n', 'e2.conf': 'vrrp e2\n' });
  });
  it('DaemonSet: hostNetwork, pinned to the edge nodes, only VRRP capabilities, per-node config file, requests+limits', () => {
    const ds = ofKind(objs, 'DaemonSet')[0];
    const pod = spec(ds).template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]).toEqual({
      key: 'kubernetes.io/hostname',
      operator: 'In',
      values: ['e1', 'e2'],
    });
    const c = pod.containers[0];
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_BROADCAST', 'NET_RAW'] });
    expect(c.securityContext.privileged ?? false).toBe(false);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.args).toContain('--use-file=/etc/keepalived/$(NODE_NAME).conf');
    expect(c.resources.requests).toBeDefined();
    expect(c.resources.limits).toBeDefined();
  });
  it('the node-local status Service keepalived tracks', () => {
    const svc = ofKind(objs, 'Service')[0];
    expect(spec(svc)).toMatchObject({ internalTrafficPolicy: 'Local', selector: { istio: 'ingressgateway' }, ports: [{ port: 15021 }] });
  });
  it('ingress gateway values: pinned to edge nodes, 80/443 plus extra VIP ports, VIPs as external IPs', () => {
    const v = ingressGatewayValues(edgeNodes, vips) as { replicaCount: number; service: { externalIPs: string[]; ports: Array<{ port: number }> }; affinity: { nodeAffinity: unknown } };
    expect(v.replicaCount).toBe(2);
    expect(v.service.externalIPs).toEqual(['10.10.1.100', '10.10.1.101']);
    expect(v.service.ports.map((p) => p.port)).toEqual([15021, 80, 443, 3306]);
    expect(JSON.stringify(v.affinity.nodeAffinity)).toContain('"values":["e1","e2"]');
  });
  it.each([
    [{ nodes: [] }, 'EdgeGateway.nodes: got [], expected at least one edge node'],
    [{ keepalivedConfigs: { e1: 'x' } }, 'EdgeGateway.keepalivedConfigs["e2"]: got undefined, expected a keepalived.conf for every edge node'],
    [{ keepalivedConfigs: { ...confs, w1: 'x' } }, 'EdgeGateway.keepalivedConfigs: got "w1", expected only edge node names (e1, e2)'],
    [{ vips: [{ name: 'x', address: '10.0.0.1/24', ports: [] }] }, 'EdgeGateway.vips[0].ports: got [], expected at least one TCP port'],
    [{ vips: [{ name: 'x', address: '10.0.0.1/24', ports: [70000] }] }, 'EdgeGateway.vips[0].ports: got 70000, expected ports 1–65535'],
    [{ namespace: 'Edge' }, 'EdgeGateway.namespace: got "Edge", expected a DNS-1123 label'],
  ])('rejects %j', (bad, message) => {
    expect(() => objectsOf((s) => new EdgeGateway(s, 'edge', { nodes: edgeNodes, vips, keepalivedConfigs: confs, ...(bad as object) }))).toThrow(message);
  });
});

describe('IstioMesh', () => {
  it('defaults and inventory policy land in the mesh-wide DestinationRule; Gateway for *.domain; STRICT mTLS', () => {
    const objs = objectsOf((s) => new IstioMesh(s, 'm', { domain: 'bj1.example.com', tlsSecretName: 'site-tls', maxRequestsPerConnection: 2, retryAttempts: 3 }));
    const dr = spec(ofKind(objs, 'DestinationRule')[0]);
    expect(dr.host).toBe('*.local');
    expect(dr.trafficPolicy).toEqual({
      loadBalancer: { simple: 'LEAST_REQUEST' },
      outlierDetection: { consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      connectionPool: { tcp: { connectTimeout: '1s' }, http: { http1MaxPendingRequests: 1024, maxRequestsPerConnection: 2, maxRetries: 3 } },
    });
    const gw = spec(ofKind(objs, 'Gateway')[0]);
    expect(gw.selector).toEqual({ istio: 'ingressgateway' });
    expect(gw.servers[1]).toEqual({ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['*.bj1.example.com'], tls: { mode: 'SIMPLE', credentialName: 'site-tls' } });
    expect(gw.servers[0].tls).toEqual({ httpsRedirect: true });
    expect(spec(ofKind(objs, 'PeerAuthentication')[0])).toEqual({ mtls: { mode: 'STRICT' } });
    const pm = ofKind(objs, 'PodMonitor')[0];
    expect(pm?.metadata.labels).toEqual({ release: 'kube-prometheus-stack' });
    expect(spec(pm).podMetricsEndpoints[0]).toMatchObject({ path: '/stats/prometheus', port: 'http-envoy-prom' });
  });
  it.each([
    [{ domain: 'Bad_Domain' }, 'IstioMesh.domain: got "Bad_Domain", expected a DNS name'],
    [{ loadBalancer: 'FASTEST' }, 'IstioMesh.loadBalancer: got "FASTEST", expected one of ROUND_ROBIN'],
    [{ outlierInterval: '10 s' }, 'IstioMesh.outlierInterval: got "10 s", expected a duration'],
    [{ baseEjectionTime: 'x' }, 'IstioMesh.baseEjectionTime: got "x", expected a duration'],
    [{ connectTimeout: '1' }, 'IstioMesh.connectTimeout: got "1", expected a duration'],
    [{ maxEjectionPercent: 0 }, 'IstioMesh.maxEjectionPercent: got 0, expected an integer 1–100'],
    [{ consecutive5xxErrors: 0 }, 'IstioMesh.consecutive5xxErrors: got 0, expected an integer ≥ 1'],
    [{ http1MaxPendingRequests: 0 }, 'IstioMesh.http1MaxPendingRequests: got 0, expected an integer ≥ 1'],
    [{ maxRequestsPerConnection: -1 }, 'IstioMesh.maxRequestsPerConnection: got -1, expected an integer ≥ 0'],
    [{ retryAttempts: 101 }, 'IstioMesh.retryAttempts: got 101, expected an integer 0–100'],
    [{ tlsSecretName: 'TLS' }, 'IstioMesh.tlsSecretName: got "TLS", expected a DNS-1123 label'],
  ])('rejects %j', (bad, message) => {
    expect(() => objectsOf((s) => new IstioMesh(s, 'm', { domain: 'a.example.com', tlsSecretName: 't', ...(bad as object) }))).toThrow(message);
  });
});

describe('CertManagerIssuers', () => {
  const rfc2136 = Dns01Solver.rfc2136({ nameserver: '10.10.0.53:53', tsigKeyName: 'acme-sh1' });
  it('ACME: one ClusterIssuer with the account email and server, plus the wildcard certificate', () => {
    const objs = objectsOf((s) => new CertManagerIssuers(s, 'i', { domain: 'sh1.example.com', issuer: SiteIssuer.acme({ email: 'ops@example.com', dns01: rfc2136 }) }));
    const issuers = ofKind(objs, 'ClusterIssuer');
    expect(issuers).toHaveLength(1);
    expect(spec(issuers[0]).acme).toMatchObject({ email: 'ops@example.com', server: 'https://acme-v02.api.letsencrypt.org/directory' });
    const cert = ofKind(objs, 'Certificate')[0];
    expect(cert?.metadata.namespace).toBe('istio-ingress');
    expect(spec(cert)).toMatchObject({ secretName: 'site-wildcard-tls', dnsNames: ['sh1.example.com', '*.sh1.example.com'], issuerRef: { name: 'site-issuer', kind: 'ClusterIssuer' } });
  });
  it('ACME with DNS-01 (RFC 2136): a DNS-01 solver for the site zone before the HTTP-01 fallback, TSIG secret as a placeholder', () => {
    const objs = objectsOf((s) => new CertManagerIssuers(s, 'i', { domain: 'sh1.example.com', issuer: SiteIssuer.acme({ email: 'ops@example.com', dns01: rfc2136 }) }));
    const solvers = spec(ofKind(objs, 'ClusterIssuer')[0]).acme.solvers;
    expect(solvers[0]).toEqual({
      selector: { dnsZones: ['sh1.example.com'] },
      dns01: { rfc2136: { nameserver: '10.10.0.53:53', tsigKeyName: 'acme-sh1', tsigAlgorithm: 'HMACSHA256', tsigSecretSecretRef: { name: 'site-issuer-tsig', key: 'tsig-secret' } } },
    });
    expect(solvers[1]).toEqual({ http01: { ingress: { ingressClassName: 'istio' } } });
    // cert-manager's own choice over the emitted solvers: DNS-01 for both names of the certificate.
    const cert = spec(ofKind(objs, 'Certificate')[0]);
    const choices: SolverChoice[] = solvers.map((x: { dns01?: unknown; selector?: SolverChoice['selector'] }) => ({ type: x.dns01 ? 'dns01' : 'http01', ...(x.selector ? { selector: x.selector } : {}) }));
    for (const name of cert.dnsNames as string[]) expect(solvers[selectSolver(name, choices)!].dns01, name).toBeDefined();
    expect(selectSolver('registry.other.example.org', choices)).toBe(1);
    // The Secret cert-manager reads lives in its namespace, empty until the Pulumi program fills it.
    const secret = objs.find((o) => o.kind === 'Secret');
    expect(secret).toMatchObject({ metadata: { name: 'site-issuer-tsig', namespace: 'cert-manager', annotations: { 'flotilla.dev/filled-by': expect.any(String) } }, stringData: { 'tsig-secret': '' } });
  });
  it('ACME with an existing TSIG Secret, a webhook, explicit zones, no HTTP-01', () => {
    const own = Dns01Solver.rfc2136({ nameserver: 'ns1.example.com:5353', tsigKeyName: 'k', tsigAlgorithm: 'HMACSHA512', tsigSecret: { name: 'my-tsig', key: 'secret' } });
    const a = objectsOf((s) => new CertManagerIssuers(s, 'i', { domain: 'sh1.example.com', issuer: SiteIssuer.acme({ email: 'ops@example.com', dns01: own, dnsZones: ['example.com'], http01: false }) }));
    expect(ofKind(a, 'Secret')).toEqual([]);
    expect(spec(ofKind(a, 'ClusterIssuer')[0]).acme.solvers).toEqual([
      { selector: { dnsZones: ['example.com'] }, dns01: { rfc2136: { nameserver: 'ns1.example.com:5353', tsigKeyName: 'k', tsigAlgorithm: 'HMACSHA512', tsigSecretSecretRef: { name: 'my-tsig', key: 'secret' } } } },
    ]);
    const hook = Dns01Solver.webhook({ groupName: 'acme.example.com', solverName: 'corpdns', config: { zone: 'sh1.example.com', apiKeySecretRef: { name: 'corpdns', key: 'token' } } });
    const b = objectsOf((s) => new CertManagerIssuers(s, 'i', { domain: 'sh1.example.com', issuer: SiteIssuer.acme({ email: 'ops@example.com', dns01: hook }) }));
    expect(spec(ofKind(b, 'ClusterIssuer')[0]).acme.solvers[0]).toEqual({
      selector: { dnsZones: ['sh1.example.com'] },
      dns01: { webhook: { groupName: 'acme.example.com', solverName: 'corpdns', config: { zone: 'sh1.example.com', apiKeySecretRef: { name: 'corpdns', key: 'token' } } } },
    });
  });
  it.each([
    ['no DNS-01 solver', () => SiteIssuer.acme({ email: 'ops@example.com' }), 'CertManagerIssuers.issuer.dns01: got undefined, expected a DNS-01 solver whose zones cover "*.sh1.example.com"'],
    ['zones that miss the domain', () => SiteIssuer.acme({ email: 'ops@example.com', dns01: rfc2136, dnsZones: ['other.example.com'] }), 'CertManagerIssuers.issuer.dnsZones: got ["other.example.com"], expected a DNS-01 solver whose zones cover "*.sh1.example.com" (ACME refuses HTTP-01 for wildcard names)'],
  ])('ACME refuses a wildcard over HTTP-01: %s', (_n, issuer, message) => {
    expect(() => objectsOf((s) => new CertManagerIssuers(s, 'i', { domain: 'sh1.example.com', issuer: issuer() }))).toThrow(message);
  });
  it.each([
    [() => Dns01Solver.rfc2136({ nameserver: '10.0.0.53', tsigKeyName: 'k' }), 'CertManagerIssuers.issuer.dns01.nameserver: got "10.0.0.53", expected host:port'],
    [() => Dns01Solver.rfc2136({ nameserver: '10.0.0.53:53', tsigKeyName: 'bad key' }), 'CertManagerIssuers.issuer.dns01.tsigKeyName: got "bad key"'],
    [() => Dns01Solver.rfc2136({ nameserver: '10.0.0.53:53', tsigKeyName: 'k', tsigAlgorithm: 'SHA1' as never }), 'CertManagerIssuers.issuer.dns01.tsigAlgorithm: got "SHA1", expected one of HMACMD5'],
    [() => Dns01Solver.webhook({ groupName: 'Not A Group', solverName: 'x' }), 'CertManagerIssuers.issuer.dns01.groupName: got "Not A Group"'],
  ])('DNS-01 validation message %#', (build, message) => {
    expect(build).toThrow(message);
  });
  it('private CA: self-signed issuer → CA certificate → CA ClusterIssuer', () => {
    const objs = objectsOf((s) => new CertManagerIssuers(s, 'i', { domain: 'k8s.customer.internal', issuer: SiteIssuer.privateCa() }));
    const issuers = ofKind(objs, 'ClusterIssuer');
    expect(issuers.map((i) => i.metadata.name)).toEqual(['site-issuer-selfsigned', 'site-issuer']);
    expect(spec(issuers[0])).toEqual({ selfSigned: {} });
    const ca = ofKind(objs, 'Certificate').find((c) => spec(c).isCA);
    expect(spec(ca)).toMatchObject({ secretName: 'site-issuer-root-ca', issuerRef: { name: 'site-issuer-selfsigned' } });
    expect(spec(issuers[1])).toEqual({ ca: { secretName: 'site-issuer-root-ca' } });
  });
  it('validation messages', () => {
    expect(() => SiteIssuer.acme({ email: 'nope' })).toThrow('CertManagerIssuers.issuer.email: got "nope", expected an email address');
    expect(() => SiteIssuer.acme({ email: 'a@b.io', server: 'http://x' })).toThrow('CertManagerIssuers.issuer.server: got "http://x", expected an https:// ACME directory URL');
    expect(() => objectsOf((s) => new CertManagerIssuers(s, 'i', { domain: '-x', issuer: SiteIssuer.privateCa() }))).toThrow('CertManagerIssuers.domain: got "-x"');
    expect(() => objectsOf((s) => new CertManagerIssuers(s, 'i', { domain: 'a.io', issuer: SiteIssuer.privateCa(), secretName: 'A' }))).toThrow('CertManagerIssuers.secretName: got "A"');
  });
});

describe('Logging', () => {
  const objs = objectsOf((s) => new Logging(s, 'l'));
  it('defaults: 3 ES nodes with 100Gi, Kibana, Filebeat DaemonSet, 7-day ILM', () => {
    const es = spec(ofKind(objs, 'Elasticsearch')[0]);
    expect(es.nodeSets[0]).toMatchObject({ count: 3, volumeClaimTemplates: [{ spec: { resources: { requests: { storage: '100Gi' } } } }] });
    expect(es.nodeSets[0].volumeClaimTemplates[0].spec.storageClassName).toBeUndefined();
    expect(spec(ofKind(objs, 'Kibana')[0]).elasticsearchRef).toEqual({ name: 'logs' });
    const beat = spec(ofKind(objs, 'Beat')[0]);
    expect(beat.type).toBe('filebeat');
    expect(beat.daemonSet).toBeDefined();
    const cm = ofKind(objs, 'ConfigMap')[0] as unknown as { data: Record<string, string> };
    expect(JSON.parse(cm.data['ilm-policy.json']!)).toEqual(ilmPolicy(7));
    expect(JSON.parse(cm.data['ingest-pipeline.json']!).processors[0].json.field).toBe('message');
  });
  it('Filebeat reads container stdout and <hostPath>/<namespace>_<pod>/*.log, output through the JSON pipeline', () => {
    const cfg = filebeatConfig('/var/log/k8s') as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const inputs = cfg['filebeat.inputs'];
    expect(inputs[0].paths).toEqual(['/var/log/containers/*.log']);
    expect(inputs[1].paths).toEqual(['/var/log/k8s/*_*/*.log']);
    expect(inputs[1].processors[0].dissect.tokenizer).toBe('/var/log/k8s/%{kubernetes.namespace}_%{kubernetes.pod.name}/%{log_file_name}');
    expect(cfg['output.elasticsearch'].pipeline).toBe('flotilla-json');
    const beat = spec(ofKind(objs, 'Beat')[0]);
    expect(beat.daemonSet.podTemplate.spec.volumes.map((v: { hostPath: { path: string } }) => v.hostPath.path)).toContain('/var/log/k8s');
  });
  it('storage class and retention from props', () => {
    const o = objectsOf((s) => new Logging(s, 'l', { storageClass: 'ceph-rbd', retentionDays: 30, nodes: 1 }));
    expect(spec(ofKind(o, 'Elasticsearch')[0]).nodeSets[0].volumeClaimTemplates[0].spec.storageClassName).toBe('ceph-rbd');
    expect((ofKind(o, 'ConfigMap')[0] as unknown as { data: Record<string, string> }).data['ilm-policy.json']).toContain('"min_age": "30d"');
  });
  it.each([
    [{ nodes: 0 }, 'Logging.nodes: got 0, expected a whole number from 1 to 100'],
    [{ storage: '100GB' }, 'Logging.storage: got "100GB", expected a positive quantity'],
    [{ retentionDays: 0 }, 'Logging.retentionDays: got 0, expected a whole number from 1 to 3650'],
    [{ fileLogsHostPath: 'var/log' }, 'Logging.fileLogsHostPath: got "var/log", expected an absolute host folder'],
    [{ fileLogsHostPath: '/var/log/' }, 'Logging.fileLogsHostPath: got "/var/log/", expected an absolute host folder without a trailing'],
    [{ version: 'latest' }, 'Logging.version: got "latest", expected an Elastic Stack version'],
    [{ storageClass: 'Fast_SSD' }, 'Logging.storageClass: got "Fast_SSD", expected a DNS name'],
    [{ namespace: 'Logs' }, 'Logging.namespace: got "Logs"'],
  ])('rejects %j', (bad, message) => {
    expect(() => objectsOf((s) => new Logging(s, 'l', bad as object))).toThrow(message);
  });
});

describe('Monitoring', () => {
  const probes = [
    { name: 'shop-home', url: 'https://shop.example.com/', bodyMustNotContain: 'ERROR' },
    { name: 'api-health', url: 'https://api.example.com/healthz' },
  ];
  const objs = objectsOf((s) => new Monitoring(s, 'm', { probes }));
  it('the rule templates named in the issue exist', () => {
    const alerts = spec(ofKind(objs, 'PrometheusRule')[0]).groups.flatMap((g: { rules: Array<{ alert: string }> }) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual(
      expect.arrayContaining(['NodeNotReady', 'PodCrashLooping', 'IngressGateway5xxRatioHigh', 'CertificateExpiringSoon', 'PersistentVolumeFillingUp', 'RegistrySyncLagging', 'FederationMemberUnhealthy']),
    );
  });
  it('one Probe per inventory probe; the body check fails on the configured string, all fail on non-2xx', () => {
    const ps = ofKind(objs, 'Probe');
    expect(ps.map((p) => [p.metadata.name, spec(p).module, spec(p).targets.staticConfig.static])).toEqual([
      ['site-shop-home', 'http_2xx_shop_home', ['https://shop.example.com/']],
      ['site-api-health', 'http_2xx', ['https://api.example.com/healthz']],
    ]);
    const mods = blackboxModules(probes) as Record<string, { http: { valid_status_codes: number[]; fail_if_body_matches_regexp?: string[] } }>;
    expect(mods.http_2xx!.http.valid_status_codes).toEqual([]); // [] = any 2xx
    expect(mods.http_2xx_shop_home!.http.fail_if_body_matches_regexp).toEqual(['ERROR']);
    expect((blackboxModules([{ name: 'x', url: 'http://x', bodyMustNotContain: 'a.b(c)' }]) as Record<string, { http: { fail_if_body_matches_regexp: string[] } }>).http_2xx_x!.http.fail_if_body_matches_regexp).toEqual(['a\\.b\\(c\\)']);
  });
  it('Alertmanager routing is chart values, not an AlertmanagerConfig object (test/synth/monitoring.test.ts)', () => {
    expect(ofKind(objs, 'AlertmanagerConfig')).toHaveLength(0);
  });
  it.each([
    [{ probes: [{ name: 'p', url: 'shop' }] }, 'Monitoring.probes[0].url: got "shop", expected an http(s):// URL'],
    [{ probes: [{ name: 'p', url: 'http://x', interval: 'often' }] }, 'Monitoring.probes[0].interval: got "often", expected a duration'],
    [{ probes: [{ name: 'P', url: 'http://x' }] }, 'Monitoring.probes[0].name: got "P"'],
  ])('rejects %j', (bad, message) => {
    expect(() => objectsOf((s) => new Monitoring(s, 'm', bad as object))).toThrow(message);
  });
});

describe('Registry', () => {
  it('registry:2 with PVC, TLS certificate and one sync CronJob per mirror', () => {
    const objs = objectsOf(
      (s) =>
        new Registry(s, 'r', {
          mirrors: [
            { host: 'registry.sh1.example.com', repositories: ['platform/*', 'apps/*'] },
            { host: 'registry.gz1.example.com', repositories: ['platform/base'] },
          ],
          host: 'registry.bj1.example.com',
          issuerName: 'site-issuer',
          storage: '500Gi',
        }),
    );
    expect(spec(ofKind(objs, 'PersistentVolumeClaim')[0]).resources.requests.storage).toBe('500Gi');
    expect(spec(ofKind(objs, 'Certificate')[0]).dnsNames).toEqual(['registry.bj1.example.com']);
    expect(spec(ofKind(objs, 'Deployment')[0]).template.spec.containers[0].image).toBe('docker.io/library/registry:2.8.3');
    const jobs = ofKind(objs, 'CronJob');
    expect(jobs.map((j) => j.metadata.name)).toEqual(['registry-sync-registry-sh1-example-com', 'registry-sync-registry-gz1-example-com']);
    const script = (ofKind(objs, 'ConfigMap')[0] as unknown as { data: Record<string, string> }).data['sync.sh']!;
    expect(script).toContain('SRC=registry.sh1.example.com');
    expect(script).toContain('platform/*|apps/*)');
    expect(ofKind(objs, 'VirtualService')).toHaveLength(0);
  });
  it('htpasswd auth from a placeholder Secret; sync jobs push with the credentials and trust the peer CA when given', () => {
    const peerCa = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    const objs = objectsOf(
      (s) =>
        new Registry(s, 'r', {
          host: 'registry.bj1.example.com',
          issuerName: 'site-issuer',
          mirrors: [
            { host: 'registry.sh1.example.com', repositories: ['platform/*'], caCert: peerCa },
            { host: 'registry.gz1.example.com', repositories: ['platform/base'] },
          ],
        }),
    );
    const secret = ofKind(objs, 'Secret')[0] as unknown as { metadata: { name: string; annotations: Record<string, string> }; stringData: Record<string, string> };
    expect(secret.metadata.name).toBe('registry-htpasswd');
    expect(secret.stringData).toEqual({ htpasswd: '' });
    expect(secret.metadata.annotations['flotilla.dev/filled-by']).toMatch(/registryPassword/);
    const pod = spec(ofKind(objs, 'Deployment')[0]).template.spec;
    const env = Object.fromEntries((pod.containers[0].env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ REGISTRY_AUTH: 'htpasswd', REGISTRY_AUTH_HTPASSWD_REALM: 'registry.bj1.example.com', REGISTRY_AUTH_HTPASSWD_PATH: '/auth/htpasswd' });
    expect(pod.volumes).toEqual(expect.arrayContaining([{ name: 'auth', secret: expect.objectContaining({ secretName: 'registry-htpasswd' }) }]));
    expect(pod.containers[0].readinessProbe.tcpSocket).toEqual({ port: 5000 });
    const maps = ofKind(objs, 'ConfigMap') as unknown as { metadata: { name: string }; data: Record<string, string> }[];
    const sh1 = maps.find((m) => m.metadata.name === 'registry-sync-registry-sh1-example-com')!;
    expect(sh1.data['ca.crt']).toBe(`${peerCa}\n`);
    expect(sh1.data['sync.sh']).toContain('--src-cert-dir /peer-certs');
    expect(sh1.data['sync.sh']).toContain('--dest-authfile /auth/.dockerconfigjson');
    const gz1 = maps.find((m) => m.metadata.name === 'registry-sync-registry-gz1-example-com')!;
    expect(gz1.data['ca.crt']).toBeUndefined();
    expect(gz1.data['sync.sh']).not.toContain('--src-cert-dir');
    const jobs = ofKind(objs, 'CronJob').map((j) => spec(j).jobTemplate.spec.template.spec);
    const vols = (i: number) => Object.fromEntries((jobs[i].volumes as { name: string }[]).map((v) => [v.name, v]));
    expect(vols(0)['peer-ca']).toMatchObject({ configMap: { name: 'registry-sync-registry-sh1-example-com', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
    expect(vols(1)['peer-ca']).toBeUndefined();
    expect(vols(0).auth).toMatchObject({ secret: { secretName: 'registry-credentials' } });
    expect(vols(0)['source-auth']).toMatchObject({ secret: { secretName: 'registry-sync-registry-sh1-example-com-source', optional: true } });
  });
  it('ingressNamespace: TLS passthrough route through the ingress gateway for the registry host', () => {
    const objs = objectsOf((s) => new Registry(s, 'r', { host: 'registry.bj1.example.com', issuerName: 'i', ingressNamespace: 'istio-ingress' }));
    const gw = ofKind(objs, 'Gateway')[0];
    expect(spec(gw).servers).toEqual([{ port: { number: 443, name: 'tls-registry', protocol: 'TLS' }, hosts: ['registry.bj1.example.com'], tls: { mode: 'PASSTHROUGH' } }]);
    const vs = ofKind(objs, 'VirtualService')[0];
    expect(spec(vs).tls[0].route[0].destination).toEqual({ host: 'registry.registry.svc.cluster.local', port: { number: 443 } });
  });
  it.each([
    [{ host: 'Registry' }, 'Registry.host: got "Registry", expected a DNS name'],
    [{ ingressNamespace: 'Istio' }, 'Registry.ingressNamespace: got "Istio"'],
    [{ storage: 'big' }, 'Registry.storage: got "big", expected a positive quantity'],
    [{ syncSchedule: '@hourly' }, 'Registry.syncSchedule: got "@hourly", expected a 5-field cron expression'],
    [{ mirrors: [{ host: 'reg.example.com', repositories: ['x'] }] }, 'Registry.mirrors[0].host: got "reg.example.com", expected another registry than this one'],
    [{ mirrors: [{ host: 'b.example.com', repositories: [] }] }, 'Registry.mirrors[0].repositories: got [], expected at least one repository pattern'],
    [{ mirrors: [{ host: 'b.example.com', repositories: ['Platform/*'] }] }, 'Registry.mirrors[0].repositories: got "Platform/*", expected a repository path'],
    [{ mirrors: [{ host: 'b.example.com', repositories: ['x'], caCert: 'not a cert' }] }, 'Registry.mirrors[0].caCert: got "not a cert…", expected a PEM CA certificate'],
  ])('rejects %j', (bad, message) => {
    expect(() => objectsOf((s) => new Registry(s, 'r', { host: 'reg.example.com', issuerName: 'i', ...(bad as object) }))).toThrow(message);
  });
});

describe('Storage', () => {
  const nfs = StorageBackend.nfs({ server: '10.10.0.50', path: '/export/k8s' });
  const ceph = StorageBackend.ceph({ monitors: ['10.0.0.1:6789'], pool: 'k8s-rbd', fsName: 'k8sfs', clusterID: 'bj1' });
  const defaults = (objs: ReturnType<typeof objectsOf>) =>
    ofKind(objs, 'StorageClass')
      .filter((c) => c.metadata.annotations && (c.metadata.annotations as Record<string, string>)[DEFAULT_CLASS_ANNOTATION] === 'true')
      .map((c) => c.metadata.name);
  it.each([
    [[nfs], 'nfs', ['nfs']],
    [[nfs, ceph], 'nfs', ['nfs']],
    [[nfs, ceph], 'ceph', ['ceph-rbd']],
    [[ceph], 'ceph', ['ceph-rbd']],
  ] as const)('exactly one default StorageClass (%#)', (backends, def, want) => {
    const objs = objectsOf((s) => new Storage(s, 's', { backends, defaultBackend: def }));
    expect(defaults(objs)).toEqual(want);
  });
  it('ceph: RBD and CephFS classes, the secret shapes without values', () => {
    const objs = objectsOf((s) => new Storage(s, 's', { backends: [ceph], defaultBackend: 'ceph' }));
    expect(ofKind(objs, 'StorageClass').map((c) => [c.metadata.name, (c as unknown as { provisioner: string }).provisioner])).toEqual([
      ['ceph-rbd', 'rbd.csi.ceph.com'],
      ['ceph-fs', 'cephfs.csi.ceph.com'],
    ]);
    const secrets = ofKind(objs, 'Secret') as unknown as Array<{ metadata: { name: string }; stringData: Record<string, string> }>;
    expect(secrets.map((s) => [s.metadata.name, s.stringData])).toEqual([
      ['csi-rbd-secret', { userID: '', userKey: '' }],
      ['csi-cephfs-secret', { adminID: '', adminKey: '' }],
    ]);
  });
  it('validation messages', () => {
    expect(() => StorageBackend.nfs({ server: '10.0.0.1', path: 'export' })).toThrow('Storage.nfs.path: got "export", expected an absolute export path');
    expect(() => StorageBackend.ceph({ monitors: [], pool: 'p', clusterID: 'c' })).toThrow('Storage.ceph.monitors: got [], expected at least one monitor');
    expect(() => StorageBackend.ceph({ monitors: ['10.0.0.1'], pool: 'p', clusterID: 'c' })).toThrow('Storage.ceph.monitors: got "10.0.0.1", expected host:port');
    expect(() => StorageBackend.ceph({ monitors: ['a:1'], pool: '', clusterID: 'c' })).toThrow('Storage.ceph.pool: got "", expected an RBD pool name');
    expect(() => StorageBackend.ceph({ monitors: ['a:1'], pool: 'p', clusterID: '' })).toThrow('Storage.ceph.clusterID: got ""');
    expect(() => objectsOf((s) => new Storage(s, 's', { backends: [nfs], defaultBackend: 'ceph' }))).toThrow('Storage.defaultBackend: got "ceph", expected one of the configured backends (nfs)');
    expect(() => objectsOf((s) => new Storage(s, 's', { backends: [], defaultBackend: 'nfs' }))).toThrow('Storage.backends: got [], expected at least one StorageBackend');
    expect(() => objectsOf((s) => new Storage(s, 's', { backends: [nfs, nfs], defaultBackend: 'nfs' }))).toThrow('Storage.backends: got ["nfs","nfs"], expected at most one backend of each kind');
    expect(() => objectsOf((s) => new Storage(s, 's', { backends: [StorageBackend.nfs({ server: 'NFS!', path: '/x' })], defaultBackend: 'nfs' }))).toThrow('Storage.nfs.server: got "NFS!"');
  });
});

describe('FederationControl', () => {
  const config = 'apiVersion: flotilla.dev/v1alpha1\nkind: Federation\nmetadata: { name: x }\nspec: {}\n';
  const objs = objectsOf((s) => new FederationControl(s, 'f', { config }));
  it('2 replicas, leader election through its own Lease, config mounted', () => {
    const d = spec(ofKind(objs, 'Deployment')[0]);
    expect(d.replicas).toBe(2);
    expect(d.template.spec.containers[0].args).toEqual(['run', '--config', '/etc/cluster-mgr/federation.yaml', '--listen', '0.0.0.0:9464']);
    expect((ofKind(objs, 'ConfigMap')[0] as unknown as { data: Record<string, string> }).data['federation.yaml']).toBe(config);
    const sm = ofKind(objs, 'ServiceMonitor')[0];
    expect(sm?.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
    expect(spec(sm).endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '15s' }]);
  });
  it('least privilege: no wildcards, no secrets, leases limited by name, federatedapps read + status only', () => {
    const rules = [...ofKind(objs, 'Role'), ...ofKind(objs, 'ClusterRole')].flatMap((r) => (r as unknown as { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }> }).rules);
    for (const r of rules) {
      expect(r.verbs).not.toContain('*');
      expect(r.resources).not.toContain('*');
      expect(r.resources).not.toContain('secrets');
      if (r.resources.includes('leases') && r.verbs.some((v) => v === 'update' || v === 'get')) expect(r.resourceNames).toEqual(['cluster-mgr']);
      if (r.resources.includes('federatedapps')) expect(r.verbs).toEqual(['get', 'list', 'watch']);
    }
    expect(ofKind(objs, 'CustomResourceDefinition')[0]?.metadata.name).toBe('federatedapps.flotilla.dev');
  });
  it.each([
    [{ config: 'kind: Site' }, 'FederationControl.config: got "Site", expected a document with kind: Federation'],
    [{ config: 'a: [' }, 'FederationControl.config: got'],
    [{ replicas: 0 }, 'FederationControl.replicas: got 0, expected an integer 1–5'],
    [{ leaseName: 'Lease' }, 'FederationControl.leaseName: got "Lease"'],
  ])('rejects %j', (bad, message) => {
    expect(() => objectsOf((s) => new FederationControl(s, 'f', { config, ...(bad as object) }))).toThrow(message);
  });
  it('FederatedApplication authors a FederatedApp mirroring a Federation apps entry', () => {
    const app = objectsOf(
      (s) =>
        new FederatedApplication(s, 'web', {
          name: 'web',
          namespace: 'shop',
          replicas: 10,
          template: { apiVersion: 'apps/v1' as never, kind: 'Deployment' as never, metadata: { name: 'web' }, spec: {} },
          placement: { clusterSelector: { env: 'prod' }, spread: 'capacity' as never, perCluster: { 'bj1-a': { min: 2, max: 8 } } },
          autoscale: { query: 'up', targetPerReplica: 50, min: 2, max: 40, interval: '30s' },
          propagate: [{ kind: 'ConfigMap' as never, name: 'web-config' }],
        }),
    )[0];
    expect(app).toMatchObject({ apiVersion: 'flotilla.dev/v1alpha1', kind: 'FederatedApp', metadata: { name: 'web', namespace: 'shop' }, spec: { replicas: 10, placement: { spread: 'capacity' } } });
    expect(() =>
      objectsOf((s) => new FederatedApplication(s, 'w', { name: 'w', namespace: 'n', replicas: 1, template: {} as never, autoscale: { query: 'q', targetPerReplica: 1, min: 5, max: 2 } })),
    ).toThrow('FederatedApplication.autoscale.min: got 5, expected at most autoscale.max (2)');
  });
});

describe('secure defaults of every pod the constructs define', () => {
  const all = [
    ...objectsOf((s) => new EdgeGateway(s, 'e', { nodes: edgeNodes, vips, keepalivedConfigs: confs })),
    ...objectsOf((s) => new Logging(s, 'l')),
    ...objectsOf((s) => new Registry(s, 'r', { host: 'reg.example.com', issuerName: 'i', mirrors: [{ host: 'b.example.com', repositories: ['x/*'] }] })),
    ...objectsOf((s) => new FederationControl(s, 'f', { config: 'kind: Federation\n' })),
  ];
  const pods = podSpecs(all);
  it('finds the workloads', () => expect(pods.length).toBeGreaterThanOrEqual(5));
  it.each(pods.map((p) => [p.where, p] as const))('%s: requests+limits, read-only root fs, no privilege escalation', (_w, p) => {
    for (const c of (p.podSpec.containers as Array<Record<string, any>>)) { // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${c.name} requests`).toBeTruthy();
      expect(c.resources?.limits?.cpu && c.resources?.limits?.memory, `${c.name} limits`).toBeTruthy();
      expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
      // cdk8s-plus-27 writes `privileged: false` explicitly; never true.
      expect(c.securityContext?.privileged ?? false).toBe(false);
      expect(c.securityContext?.capabilities?.drop).toEqual(['ALL']);
    }
  });
  it.each(pods.filter((p) => !p.where.startsWith('DaemonSet/')).map((p) => [p.where, p] as const))('%s runs as non-root', (_w, p) => {
    expect((p.podSpec.securityContext as { runAsNonRoot?: boolean }).runAsNonRoot).toBe(true);
  });
  it.each(pods.map((p) => [p.where, p] as const))('%s: RuntimeDefault seccomp, pulls only when missing', (_w, p) => {
    expect((p.podSpec.securityContext as { seccompProfile?: unknown }).seccompProfile).toEqual({ type: 'RuntimeDefault' });
    for (const c of p.podSpec.containers as Array<{ imagePullPolicy?: string }>) expect(c.imagePullPolicy).toBe('IfNotPresent');
  });
  it('selectors use our labels only (no cdk8s-plus address label), and every Service selects pods of a workload', () => {
    expect(JSON.stringify(all)).not.toContain('cdk8s.io/metadata.addr');
    const templates = all.flatMap((o) => (['Deployment', 'DaemonSet'].includes(o.kind) ? [spec(o)] : []));
    for (const t of templates) expect(t.selector).toEqual({ matchLabels: t.template.metadata.labels });
    for (const svc of ofKind(all, 'Service')) {
      const sel = spec(svc).selector as Record<string, string>;
      if (sel.istio) continue; // the Istio ingress gateway's pods come from its chart
      expect(templates.some((t) => Object.entries(sel).every(([k, v]) => t.template.metadata.labels[k] === v)), svc.metadata.name).toBe(true);
    }
  });
});
