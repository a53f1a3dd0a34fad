// Pure calculations of the Pulumi program, tested without mocks on the real synthesis of the bundled
// examples (infra/synth: the constructs and the chart catalog in infra/catalog): chart sources and
// the air-gap guard, dependency plan, secrets, host plans, stack settings and environment overrides.
import { describe, expect, it } from 'vitest';
import { chartSource, foreignImageRefs, isRemoteSource, missingBundleCharts } from '../../infra/pulumi/airgap';
import { applyEnvironment, parseStackConfig, SECRET_KEYS } from '../../infra/pulumi/config';
import { parse as parseYaml } from 'yaml';
import { hostKeyFor, installScript, parseKnownHosts, planHosts, withSecrets } from '../../infra/pulumi/hosts';
import { renderContainerdAuths, renderHostFiles } from '../../infra/render/index';
import { chartOrder, chartsNeededBy, valueNeeds, clusterEndpoints, planCluster, planSecrets, requiredSecrets } from '../../infra/pulumi/plan';
import { chartsFor } from '../../infra/catalog/charts';
import { parseSite, type Site } from '../../infra/site/index';
import { synthesizeCluster } from '../../infra/synth/index';
import { CLUSTER_MGR_FRONT_CLIENT_CERT } from '../../infra/lib/cluster-mgr-rbac';
import { readdirSync, readFileSync } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';

const load = (f: string): Site => {
  const r = parseSite(readFileSync(f, 'utf8'), f);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
};
const EXAMPLES = readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => `examples/${f}`);
const bj1 = load('examples/bj1.yaml');
const bj1a = bj1.spec.clusters[0]!;
/** The real synthesis of bj1's first cluster (what the program plans and applies). */
const synth = synthesizeCluster(bj1, bj1a);
const release = (id: string) => {
  const r = synth.charts.find((c) => c.id === id);
  if (!r) throw new Error(`no chart release ${id} in the synthesis of ${bj1a.name}: ${synth.charts.map((c) => c.id).join(', ')}`);
  return r;
};

describe('air-gap guard (foreignImageRefs) on the real synthesis', () => {
  it('finds references outside the site registry in every shape charts use', () => {
    const REG = 'registry.site.test';
    expect(
      foreignImageRefs(
        { a: { image: 'quay.io/x/y:1' }, b: { registry: 'docker.io', repository: 'grafana/grafana' }, c: 'gcr.io/p/q:2', d: 'https://example.com/x', e: { hub: 'docker.io/istio' }, f: `${REG}/ok:1`, g: { registry: REG, repository: 'x/y' } },
        REG,
      ).sort(),
    ).toEqual(['a.image=quay.io/x/y:1', 'b.registry=docker.io', 'c=gcr.io/p/q:2', 'e.hub=docker.io/istio'].sort());
  });

  it.each(EXAMPLES)('%s: connected synthesis references upstream registries (the guard has something to find)', (file) => {
    const site = load(file);
    const registry = site.spec.registry.host;
    const s = synthesizeCluster(site, site.spec.clusters[0]!);
    const foreign = [...s.charts.flatMap((r) => foreignImageRefs(r.values, registry)), ...s.components.flatMap((c) => foreignImageRefs(c.objects, registry))];
    expect(foreign.length).toBeGreaterThan(0);
  });

  it.each(EXAMPLES)('%s: air-gapped synthesis of every cluster leaves nothing outside the site registry', (file) => {
    const site = load(file);
    const registry = site.spec.registry.host;
    for (const cluster of site.spec.clusters) {
      const s = synthesizeCluster(site, cluster, { airGapped: true });
      expect(s.charts.length, cluster.name).toBeGreaterThan(0);
      for (const r of s.charts) {
        expect(foreignImageRefs(r.values, registry), `${cluster.name} chart ${r.id}`).toEqual([]);
        expect(r.images.filter((i) => !i.startsWith(`${registry}/`)), `${cluster.name} chart ${r.id} images`).toEqual([]);
      }
      for (const c of s.components) expect(foreignImageRefs(c.objects, registry), `${cluster.name} ${c.component}`).toEqual([]);
    }
  });
});

describe('chart sources', () => {
  const tigera = release('tigera-operator');
  it('the synthesis uses the catalog\'s releases, versions pinned', () => {
    const catalog = chartsFor(bj1, bj1a);
    expect(synth.charts.map((r) => [r.id, r.chart, r.version, r.repository]).sort()).toEqual(catalog.map((r) => [r.id, r.chart, r.version, r.repository]).sort());
    for (const r of synth.charts) expect(r.version, r.id).toMatch(/^v?\d+\.\d+\.\d+$/);
  });
  it('upstream: repository + pinned version', () => {
    expect(chartSource(tigera)).toEqual({ chart: 'tigera-operator', version: tigera.version, repositoryOpts: { repo: 'https://docs.tigera.io/calico/charts' } });
    expect(isRemoteSource(chartSource(tigera))).toBe(true);
  });
  it('OCI repository', () => {
    expect(chartSource({ ...tigera, repository: 'oci://ghcr.io/x/charts/' })).toEqual({ chart: 'oci://ghcr.io/x/charts/tigera-operator', version: tigera.version });
  });
  it('air-gapped: the local archive in the bundle, never remote', () => {
    for (const r of synthesizeCluster(bj1, bj1a, { airGapped: true }).charts) {
      const src = chartSource(r, '/b');
      expect(src).toEqual({ chart: `/b/charts/${r.chart}-${r.version}.tgz` });
      expect(isRemoteSource(src)).toBe(false);
    }
  });
  it('lists archives missing from a bundle', () => {
    const istiod = release('istiod');
    expect(missingBundleCharts(synth.charts, '/b', (p) => !p.includes('istiod'))).toEqual([`/b/charts/istiod-${istiod.version}.tgz`]);
    expect(missingBundleCharts(synth.charts, '/b', () => true)).toEqual([]);
  });
});

describe('cluster plan', () => {
  const secrets = planSecrets(bj1, synth, { cephKey: 'k', registryPassword: 'p', caKey: 'ck', caCert: 'cc' });
  const plan = planCluster(synth, secrets);
  const group = (c: string) => plan.groups.find((g) => g.component === c)!;
  it.each([
    ['operator.tigera.io/v1', ['tigera-operator']],
    ['crd.projectcalico.org/v1', ['tigera-operator']],
    ['cert-manager.io/v1', ['cert-manager']],
    ['networking.istio.io/v1', ['base', 'istiod']],
    ['elasticsearch.k8s.elastic.co/v1', ['eck-operator']],
    ['monitoring.coreos.com/v1', ['kube-prometheus-stack']],
    ['apps/v1', []],
    ['v1', []],
  ])('objects of %s come after %j', (apiVersion, charts) => {
    expect(chartsNeededBy({ apiVersion })).toEqual(charts);
  });
  it('required edges: Calico after tigera-operator, issuers after cert-manager, gateways after istiod, ECK after its operator, rules after Prometheus', () => {
    expect(group('calico').afterCharts).toContain('tigera-operator');
    expect(group('cert-manager').afterCharts).toContain('cert-manager');
    expect(group('istio').afterCharts).toContain('istiod');
    expect(group('logging').afterCharts).toContain('eck-operator');
    expect(group('monitoring').afterCharts).toContain('kube-prometheus-stack');
    // cluster-mgr ships a ServiceMonitor: it needs the Prometheus operator's CRDs first.
    expect(group('federation').afterCharts).toEqual(['kube-prometheus-stack']);
    // The edge keepalived pairs with the ingress gateway the istio-ingressgateway release installs;
    // the TCP services' Gateway and VirtualServices need Istio's CRDs (base, istiod).
    expect(group('edge-gateway').afterCharts).toEqual(['istio-base', 'istio-ingressgateway', 'istiod']);
    // Grafana's route is a VirtualService too.
    expect(group('monitoring').afterCharts).toEqual(expect.arrayContaining(['istio-base', 'istiod', 'kube-prometheus-stack']));
  });
  it('charts: istiod after base, gateway after istiod; order respects it', () => {
    expect(plan.charts.find((c) => c.release.id === 'istiod')!.afterCharts).toEqual(['istio-base']);
    expect(plan.charts.find((c) => c.release.id === 'istio-ingressgateway')!.afterCharts).toEqual(['istiod']);
    const order = chartOrder(plan.charts);
    expect(order.indexOf('istio-base')).toBeLessThan(order.indexOf('istiod'));
    expect(order.indexOf('istiod')).toBeLessThan(order.indexOf('istio-ingressgateway'));
    expect(order.indexOf('cert-manager')).toBeLessThan(order.indexOf('kube-prometheus-stack'));
    expect(() => chartOrder([{ release: { ...synth.charts[0]!, id: 'a' }, afterCharts: ['b'] }, { release: { ...synth.charts[0]!, id: 'b' }, afterCharts: ['a'] }])).toThrow(/cycle/);
  });
  it('values switch on chart edges: cert-manager integration required, monitoring objects as add-on', () => {
    expect(valueNeeds({ prometheusOperator: { admissionWebhooks: { certManager: { enabled: true } } } })).toEqual([
      { chart: 'cert-manager', kind: 'required', why: 'prometheusOperator.admissionWebhooks.certManager' },
    ]);
    expect(valueNeeds({ prometheus: { servicemonitor: { enabled: true } } })).toEqual([{ chart: 'kube-prometheus-stack', kind: 'addon', why: 'prometheus.servicemonitor' }]);
    expect(valueNeeds({ serviceMonitor: { enabled: false }, certManager: { enabled: false } })).toEqual([]);
  });
  it('a cycle between a required and an add-on edge keeps the required one and warns', () => {
    const [cm, kps] = [synth.charts.find((r) => r.chart === 'cert-manager')!, synth.charts.find((r) => r.chart === 'kube-prometheus-stack')!];
    const both = planCluster(
      {
        ...synth,
        charts: [
          { ...cm, values: { prometheus: { servicemonitor: { enabled: true } } } },
          { ...kps, values: { prometheusOperator: { admissionWebhooks: { certManager: { enabled: true } } } } },
        ],
      },
      [],
    );
    expect(both.charts.find((c) => c.release.chart === 'kube-prometheus-stack')!.afterCharts).toEqual([cm.id]);
    expect(both.charts.find((c) => c.release.chart === 'cert-manager')!.afterCharts).toEqual([]);
    expect(both.warnings).toEqual([expect.stringMatching(/^chart cert-manager: prometheus\.servicemonitor needs kube-prometheus-stack first/)]);
    expect(() => chartOrder(both.charts)).not.toThrow();
  });
  it('foundation holds every namespace once (objects, chart and secret namespaces) and no group keeps one', () => {
    const names = plan.foundation.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of ['tigera-operator', 'cert-manager', 'istio-system', 'istio-ingress', 'ceph-csi', 'registry', 'flotilla-system']) expect(names).toContain(n);
    expect(plan.groups.flatMap((g) => g.objects).some((o) => o.kind === 'Namespace')).toBe(false);
  });
  it('secrets: fills the Ceph placeholders (RBD and CephFS) and the registry htpasswd, replaces the in-cluster CA certificate, adds the registry pull secret', () => {
    const ids = secrets.map((s) => s.id).sort();
    expect(ids).toEqual(['ca', 'registry', 'registry-registry-htpasswd', 'storage-csi-cephfs-secret', 'storage-csi-rbd-secret']);
    expect(secrets.find((s) => s.id === 'registry-registry-htpasswd')).toMatchObject({ name: 'registry-htpasswd', stringData: { htpasswd: { from: 'htpasswd' } }, replaces: { kind: 'Secret', name: 'registry-htpasswd' } });
    expect(group('registry').objects.some((o) => o.kind === 'Secret')).toBe(false);
    expect(secrets.find((s) => s.id === 'storage-csi-rbd-secret')!.stringData).toEqual({ userID: { from: 'literal', value: 'admin' }, userKey: { from: 'cephKey' } });
    expect(secrets.find((s) => s.id === 'storage-csi-cephfs-secret')!.stringData).toEqual({ adminID: { from: 'literal', value: 'admin' }, adminKey: { from: 'cephKey' } });
    expect(group('storage').objects.some((o) => o.kind === 'Secret')).toBe(false);
    expect(group('cert-manager').objects.some((o) => o.kind === 'Certificate' && (o.spec as { isCA?: boolean }).isCA === true)).toBe(false);
    expect([...group('storage').afterSecrets].sort()).toEqual(['storage-csi-cephfs-secret', 'storage-csi-rbd-secret']);
    expect([...group('registry').afterSecrets].sort()).toEqual(['registry', 'registry-registry-htpasswd']);
    const caCert = synth.components.find((c) => c.component === 'cert-manager')!.objects.find((o) => o.kind === 'Certificate' && (o.spec as { isCA?: boolean }).isCA === true)!;
    const caSecretName = (caCert.spec as { secretName: string }).secretName;
    expect(caSecretName).toMatch(/ca/);
    expect(secrets.find((s) => s.id === 'ca')).toMatchObject({ name: caSecretName, namespace: caCert.metadata.namespace, type: 'kubernetes.io/tls', replaces: { kind: 'Certificate', name: caCert.metadata.name } });
  });
  it('without secret settings nothing is replaced', () => {
    const none = planSecrets(bj1, synth, {});
    expect(none).toEqual([]);
    expect(planCluster(synth, none).groups.find((g) => g.component === 'cert-manager')!.objects.some((o) => o.kind === 'Certificate' && (o.spec as { isCA?: boolean }).isCA === true)).toBe(true);
  });
  it('ACME DNS-01 over RFC 2136: the TSIG Secret placeholder in cert-manager\'s namespace is filled from flotilla:tsigKey; the federation keeps its own', () => {
    const sh1 = load('examples/sh1.yaml');
    const s = synthesizeCluster(sh1, sh1.spec.clusters[0]!);
    const plans = planSecrets(sh1, s, { tsigKey: 'c2VjcmV0' });
    expect(plans.find((p) => p.name === 'site-issuer-tsig')).toMatchObject({
      namespace: 'cert-manager',
      stringData: { 'tsig-secret': { from: 'tsigSecret' } },
      consumers: ['cert-manager'],
      replaces: { kind: 'Secret', namespace: 'cert-manager', name: 'site-issuer-tsig' },
    });
    expect(plans.find((p) => p.name === 'flotilla-tsig')?.stringData).toEqual({ key: { from: 'tsigKey' } });
    const cm = planCluster(s, plans).groups.find((g) => g.component === 'cert-manager')!;
    expect(cm.objects.some((o) => o.kind === 'Secret')).toBe(false);
    expect(cm.afterSecrets).toContain('cert-manager-site-issuer-tsig');
    expect(requiredSecrets(sh1).map((r) => r.key)).toEqual(['caCert', 'caKey', 'registryPassword', 'cephKey', 'tsigKey']);
  });
  it("front hosts: the runtime API's CA Issuer Secret is filled from flotilla:caCert/caKey before the federation group (after cert-manager)", () => {
    const sh1 = load('examples/sh1.yaml');
    const s = synthesizeCluster(sh1, sh1.spec.clusters[0]!);
    const fed = s.components.find((c) => c.component === 'federation')!.objects;
    const placeholder = fed.find((o) => o.kind === 'Secret' && o.metadata.name === CLUSTER_MGR_FRONT_CLIENT_CERT.caSecret)!;
    expect(placeholder.metadata.annotations).toHaveProperty(['flotilla.dev/filled-by']);
    const issuer = fed.find((o) => o.kind === 'Issuer')!;
    expect(issuer.spec).toEqual({ ca: { secretName: placeholder.metadata.name } });
    const plans = planSecrets(sh1, s, { caCert: 'CA-CERT', caKey: 'CA-KEY' });
    const filled = plans.find((p) => p.name === placeholder.metadata.name);
    expect(filled).toMatchObject({
      namespace: issuer.metadata.namespace,
      type: 'kubernetes.io/tls',
      stringData: { 'tls.crt': { from: 'caCert' }, 'tls.key': { from: 'caKey' } },
      consumers: ['federation'],
      replaces: { kind: 'Secret', namespace: issuer.metadata.namespace, name: placeholder.metadata.name },
    });
    const plan = planCluster(s, plans);
    const group = plan.groups.find((g) => g.component === 'federation')!;
    expect(group.objects.some((o) => o.kind === 'Secret' && o.metadata.name === placeholder.metadata.name)).toBe(false); // the filled Secret replaces it
    expect(group.afterSecrets).toContain(filled!.id);
    expect(group.afterCharts).toContain(s.charts.find((c) => c.chart === 'cert-manager')!.id); // Issuer and Certificate after cert-manager's CRDs
    // without the CA nothing is filled (and requiredSecrets stops the run first)
    expect(planSecrets(sh1, s, {}).some((p) => p.name === placeholder.metadata.name)).toBe(false);
    // the CA's key goes to that Secret only: another tls placeholder is not filled with it
    const other = { ...placeholder, metadata: { ...placeholder.metadata, name: 'some-other-tls' } };
    const withOther = { ...s, components: s.components.map((c) => (c.component === 'federation' ? { ...c, objects: [...c.objects, other] } : c)) };
    expect(planSecrets(sh1, withOther, { caCert: 'CA-CERT', caKey: 'CA-KEY' }).some((p) => p.name === 'some-other-tls')).toBe(false);
  });
  it('front hosts require the site CA, naming why', () => {
    const sh1 = load('examples/sh1.yaml');
    const req = requiredSecrets(sh1);
    for (const key of ['caCert', 'caKey'] as const) expect(req.find((r) => r.key === key)?.why).toMatch(/^spec\.front is set \(cert-manager issues cluster-mgr's client certificate .* the site CA given to `flotilla install --ca-cert\/--ca-key`/);
    // a private-CA site whose inventory has the CA certificate: only the key is missing
    const bj1Front = { ...bj1, spec: { ...bj1.spec, front: sh1.spec.front } };
    expect(requiredSecrets(bj1Front).filter((r) => r.key.startsWith('ca')).map((r) => r.key)).toEqual(['caKey']);
    const noFront = { ...sh1, spec: { ...sh1.spec, front: undefined } };
    expect(requiredSecrets(noFront).map((r) => r.key)).toEqual(['registryPassword', 'cephKey', 'tsigKey']);
  });
  it('required secrets follow the inventory', () => {
    // bj1: its site CA is in the inventory (issuer ca), so cert-manager needs the CA key; Ceph; the registry's auth.
    expect(requiredSecrets(bj1).map((r) => r.key)).toEqual(['caKey', 'registryPassword', 'cephKey', 'smtpPassword']);
    const cust = load('examples/customer-airgap.yaml');
    expect(requiredSecrets(cust).map((r) => r.key)).toEqual(['registryPassword']);
    expect(requiredSecrets(cust, { caKey: 'x' }).map((r) => r.key)).toEqual(['caCert', 'registryPassword']);
    // An ACME site's caCert (a private ACME root) is only trusted by nodes: no CA key needed.
    const sh1 = load('examples/sh1.yaml');
    const acmeWithRoot = { ...sh1, spec: { ...sh1.spec, certificates: { ...sh1.spec.certificates, caCert: bj1.spec.certificates.caCert } } };
    expect(requiredSecrets({ ...acmeWithRoot, spec: { ...acmeWithRoot.spec, front: undefined } }).map((r) => r.key)).toEqual(['registryPassword', 'cephKey', 'tsigKey']);
  });
  it('endpoints per cluster', () => {
    const sh1 = load('examples/sh1.yaml');
    expect(clusterEndpoints(sh1, sh1.spec.clusters[1]!)).toEqual({
      apiServer: 'https://10.20.2.10:6443',
      ingressVIPs: [
        { name: 'ingress', address: '10.20.2.100', ports: [80, 443] },
        { name: 'mysql-proxy', address: '10.20.2.101', ports: [3306] },
      ],
      registryUrl: 'https://registry.sh1.example.com',
      kibanaUrl: 'https://kibana-sh1-b.sh1.example.com',
      grafanaUrl: 'https://grafana-sh1-b.sh1.example.com',
      clusterMgrEndpoint: 'https://cluster-mgr-sh1-b.sh1.example.com',
    });
    expect(clusterEndpoints(bj1, bj1.spec.clusters[0]!).kibanaUrl).toBe('https://kibana.bj1.example.com');
  });
});

describe('host plans', () => {
  const files = [
    { path: 'hosts/bj1-a-m1/keepalived.conf', content: 'k1', hostPath: '/etc/keepalived/keepalived.conf' },
    { path: 'hosts/bj1-a-m1/check_apiserver.sh', content: '#!/bin/sh', hostPath: '/etc/keepalived/check_apiserver.sh', mode: 0o755 },
    { path: 'hosts/bj1-a-m1/manifests/keepalived.yaml', content: 'pod' },
    { path: 'hosts/bj1-a-w1/containerd/certs.d/registry.bj1.example.com/hosts.toml', content: 'toml' },
    { path: 'network/tor-a.bird.conf', content: 'bird' },
  ];
  it('a file without hostPath goes where infra/lib/host-files says; one not in that table is an error', () => {
    expect(planHosts(bj1, [{ path: 'hosts/bj1-a-m1/keepalived-edge.conf', content: 'e' }])[0]!.files[0]).toMatchObject({ remotePath: '/etc/keepalived/keepalived-edge.conf', mode: '0644' });
    expect(() => planHosts(bj1, [{ path: 'hosts/bj1-a-m1/notes.txt', content: 'x' }])).toThrow(/notes.txt: not a host file/);
  });
  it('one plan per node with files; network files are not host files', () => {
    const plans = planHosts(bj1, files);
    expect(plans.map((p) => p.host)).toEqual(['bj1-a-m1', 'bj1-a-w1']);
    const m1 = plans[0]!;
    expect(m1.address).toBe('10.10.1.11');
    expect(m1.files.map((f) => [f.remotePath, f.mode])).toEqual([
      ['/etc/keepalived/keepalived.conf', '0644'],
      ['/etc/keepalived/check_apiserver.sh', '0755'],
      ['/etc/kubernetes/manifests/keepalived.yaml', '0600'],
    ]);
  });
  it('the script writes every file (base64) and static pods last', () => {
    const [m1] = planHosts(bj1, files);
    const lines = m1!.script.split('\n').filter((l) => l.startsWith('put '));
    expect(lines.map((l) => l.split(' ')[2])).toEqual(["'/etc/keepalived/check_apiserver.sh'", "'/etc/keepalived/keepalived.conf'", "'/etc/kubernetes/manifests/keepalived.yaml'"]);
    expect(lines[1]).toContain(Buffer.from('k1').toString('base64'));
    expect(installScript([{ source: 'x', remotePath: "/etc/it's", mode: '0644', content: '' }])).toContain(`'/etc/it'\\''s'`);
  });
  it('trigger changes only with the node’s own content', () => {
    const a = planHosts(bj1, files);
    const b = planHosts(bj1, files.map((f) => (f.path.includes('bj1-a-w1') ? { ...f, content: 'toml2' } : f)));
    expect(a[0]!.trigger).toBe(b[0]!.trigger);
    expect(a[1]!.trigger).not.toBe(b[1]!.trigger);
  });
  it('containerd config: restarted once after a change, before the static pods; the CRI drop-in gets the registry credentials only at deploy time', () => {
    const real = renderHostFiles(bj1).filter((f) => f.path.startsWith('hosts/bj1-a-m1/'));
    const [plain] = planHosts(bj1, real);
    expect(plain!.files.some((f) => f.registryAuth)).toBe(false);
    const [m1] = planHosts(bj1, real, [], { registryUser: 'flotilla' });
    const dropIn = m1!.files.find((f) => f.remotePath === '/etc/containerd/conf.d/10-flotilla-cri.toml')!;
    expect(dropIn).toMatchObject({ mode: '0600', restart: 'containerd', registryAuth: { registry: 'registry.bj1.example.com', username: 'flotilla' } });
    expect(m1!.files.find((f) => f.remotePath === '/etc/containerd/certs.d/registry.bj1.example.com/ca.crt')!.content).toContain(bj1.spec.certificates.caCert!.trim());
    expect(m1!.script).not.toContain('password');
    const lines = m1!.script.split('\n');
    const restart = lines.findIndex((l) => l.includes('systemctl restart containerd'));
    expect(lines.filter((l) => l.includes('systemctl restart containerd'))).toHaveLength(1);
    expect(lines.findIndex((l) => l.includes("'/etc/containerd/config.toml'"))).toBeLessThan(restart);
    expect(lines.findIndex((l) => l.includes('/etc/kubernetes/manifests/'))).toBeGreaterThan(restart);
    const filled = withSecrets(m1!.files, { registryPassword: 's3cret' });
    expect(filled.find((f) => f.remotePath === dropIn.remotePath)!.content).toBe(dropIn.content + renderContainerdAuths([{ registry: 'registry.bj1.example.com', username: 'flotilla', password: 's3cret' }]));
    expect(filled.filter((f) => f.content.includes('s3cret'))).toHaveLength(1);
    expect(() => withSecrets(m1!.files, {})).toThrow(/flotilla:registryPassword/);
  });
  it('pins host keys from known_hosts (plain, with port, hashed)', () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('10.10.1.31').digest();
    const text = [
      '# comment',
      '10.10.1.11,bj1-a-m1 ssh-ed25519 AAAAm1',
      '[10.10.1.12]:2222 ssh-ed25519 AAAAm2port',
      `|1|${salt.toString('base64')}|${hash.toString('base64')} ssh-ed25519 AAAAw1`,
      '@revoked 10.10.1.13 ssh-ed25519 AAAArev',
    ].join('\n');
    const known = parseKnownHosts(text);
    expect(hostKeyFor(known, ['10.10.1.11'], 22)).toBe('ssh-ed25519 AAAAm1');
    expect(hostKeyFor(known, ['10.10.1.12'], 22)).toBeUndefined();
    expect(hostKeyFor(known, ['10.10.1.12'], 2222)).toBe('ssh-ed25519 AAAAm2port');
    expect(hostKeyFor(known, ['10.10.1.31'], 22)).toBe('ssh-ed25519 AAAAw1');
    expect(hostKeyFor(known, ['10.10.1.13'], 22)).toBeUndefined();
    expect(planHosts(bj1, files, known).map((p) => p.hostKey)).toEqual(['ssh-ed25519 AAAAm1', 'ssh-ed25519 AAAAw1']);
  });
});

describe('stack settings', () => {
  const base = { stack: 's', secretKeys: new Set<string>() };
  it('accepts a minimal stack', () => {
    const r = parseStackConfig({ ...base, values: { 'flotilla:inventory': 'examples/bj1.yaml', 'other:x': '1' } });
    expect(r).toEqual({ ok: true, value: { inventory: 'examples/bj1.yaml', registryUser: 'flotilla', cephUser: 'admin' } });
  });
  it('unknown environment: positioned in the stack file, validate-style message', () => {
    const text = 'config:\n  flotilla:inventory: examples/bj1.yaml\n  flotilla:environment: staging\n';
    const r = parseStackConfig({ ...base, values: { 'flotilla:inventory': 'examples/bj1.yaml', 'flotilla:environment': 'staging' }, stackFile: { path: 'stacks/Pulumi.s.yaml', text } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toEqual([{ file: 'stacks/Pulumi.s.yaml', line: 3, col: 25, path: 'config.flotilla:environment', message: '"staging" is not allowed: expected one of "prod", "pre", "test"' }]);
  });
  it('missing inventory and a typo, without a stack file', () => {
    const r = parseStackConfig({ ...base, values: { 'flotilla:inventroy': 'x' } });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const msgs = r.errors.map((e) => `${e.path}: ${e.message}`);
      expect(msgs).toContain('config.flotilla:inventory: required field is missing: expected string');
      expect(msgs).toContain('config.flotilla:inventroy: unknown field "inventroy": remove it or check its spelling');
      expect(r.errors[0]!.file).toBe('pulumi config of stack s');
    }
  });
  it('bad override values name the field and value', () => {
    const text = 'config:\n  flotilla:inventory: i.yaml\n  flotilla:overrides:\n    elasticsearch: { nodes: 0 }\n';
    const r = parseStackConfig({ ...base, values: { 'flotilla:inventory': 'i.yaml', 'flotilla:overrides': '{"elasticsearch":{"nodes":0}}' }, stackFile: { path: 'f.yaml', text } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`)).toEqual(['4:29 config.flotilla:overrides.elasticsearch.nodes: elasticsearch.nodes 0 must be at least 1']);
  });
  it('secret settings must be secrets', () => {
    const r = parseStackConfig({ ...base, values: { 'flotilla:inventory': 'i', 'flotilla:caKey': 'PLAINTEXT-KEY' } });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors[0]!.message).toMatch(/plain text: it must be a secret/);
      expect(JSON.stringify(r.errors)).not.toContain('PLAINTEXT-KEY');
    }
    expect(parseStackConfig({ ...base, secretKeys: new Set(['flotilla:caKey']), values: { 'flotilla:inventory': 'i', 'flotilla:caKey': 'k' } }).ok).toBe(true);
  });
  it('environment overrides produce a new site and leave the input alone', () => {
    const before = JSON.stringify(bj1);
    const pre = applyEnvironment(bj1, 'pre', { domainPrefix: 'pre', elasticsearch: { nodes: 1 }, monitoring: { retentionDays: 5 } });
    expect(pre.spec.environment).toBe('pre');
    expect(pre.spec.domain).toBe('pre.bj1.example.com');
    expect(pre.spec.logging.elasticsearch).toMatchObject({ nodes: 1, retentionDays: 7, storage: '200Gi' });
    expect(pre.spec.monitoring.retentionDays).toBe(5);
    expect(JSON.stringify(bj1)).toBe(before);
    expect(applyEnvironment(bj1, undefined)).toEqual(bj1);
  });
});

describe('locating settings in the stack file', () => {
  it('points at the value, at config: when absent, 0:0 without a file', async () => {
    const { locateSetting } = await import('../../infra/pulumi/program');
    const text = '# c\nconfig:\n  flotilla:inventory: x.yaml\n  flotilla:bundle: b\n';
    expect(locateSetting(text, 'flotilla:bundle')).toEqual({ line: 4, col: 20 });
    expect(locateSetting(text, 'flotilla:cephKey')).toEqual({ line: 2, col: 1 });
    expect(locateSetting(undefined, 'flotilla:cephKey')).toEqual({ line: 0, col: 0 });
    expect(locateSetting('just: text\n', 'flotilla:x')).toEqual({ line: 0, col: 0 });
  });
});

describe('stack files', () => {
  const files = readdirSync('stacks').filter((f) => /^Pulumi\..+\.yaml$/.test(f));
  it('cover every example, and one site in prod, pre and test', () => {
    const docs = files.map((f) => parseYaml(readFileSync(`stacks/${f}`, 'utf8')) as { config: Record<string, unknown> });
    const inventories = docs.map((d) => d.config['flotilla:inventory']);
    for (const ex of readdirSync('examples').filter((f) => f.endsWith('.yaml'))) expect(inventories).toContain(`examples/${ex}`);
    const bj1Envs = docs.filter((d) => d.config['flotilla:inventory'] === 'examples/bj1.yaml').map((d) => d.config['flotilla:environment']);
    expect(bj1Envs.sort()).toEqual(['pre', 'prod', 'test']);
  });
  it.each(files)('%s: secrets are secure: ciphertext, the settings validate', (f) => {
    const text = readFileSync(`stacks/${f}`, 'utf8');
    const cfg = (parseYaml(text) as { config: Record<string, unknown> }).config;
    const values: Record<string, string> = {};
    const secretKeys = new Set<string>();
    for (const [k, v] of Object.entries(cfg)) {
      const name = k.replace(/^flotilla:/, '');
      if ((SECRET_KEYS as readonly string[]).includes(name)) {
        expect(v, k).toEqual({ secure: expect.stringMatching(/^[A-Za-z0-9+/=]{16,}$/) });
        secretKeys.add(k);
        values[k] = name === 'kubeconfigs' ? '{}' : 'x';
      } else {
        expect(typeof v === 'object' && v !== null && 'secure' in v, `${k} is not a secret setting`).toBe(false);
        values[k] = typeof v === 'string' ? v : JSON.stringify(v);
      }
    }
    const r = parseStackConfig({ stack: f, values, secretKeys, stackFile: { path: f, text } });
    expect(r.ok ? [] : r.errors).toEqual([]);
  });
});
