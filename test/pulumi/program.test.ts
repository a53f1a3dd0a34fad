// The Pulumi program under pulumi.runtime.setMocks, for every stack in stacks/: what it registers
// (types, names, providers, dependsOn, inputs) is recorded at the resource monitor.
import { describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatError } from '../../infra/site/index';
import { planHosts } from '../../infra/pulumi/hosts';
import { CLUSTER_MGR_FRONT_CLIENT_CERT } from '../../infra/lib/cluster-mgr-rbac';
import { isRemoteSource } from '../../infra/pulumi/airgap';
import { renderContainerdAuths, renderHostFiles } from '../../infra/render/index';
import { bootstrapRegistry, withBootstrapMirrors } from '../../infra/render/bootstrap-registry';
import { drain, fixtureMemberToken, installMocks, isSecret, unwrap, type Recorder, type Registered } from './harness';
import { catalog, testDeps } from './deps';
import { kubeconfigFor, runtimeConfig, SECRET_VALUES, STACKS, stackSite } from './stacks';

interface Run {
  rec: Recorder;
  outputs: Awaited<ReturnType<typeof import('../../infra/pulumi/program').runStack>>;
}

/** Runs one stack: mocks and config first, then the program module is imported and run. */
async function runStackMocked(stack: string, extra: Record<string, string> = {}): Promise<Run> {
  const { config, secretKeys, bundle } = runtimeConfig(stack, testDeps, extra);
  try {
    const rec = await installMocks(stack, config, secretKeys);
    const { runStack, stackInputFromRuntime } = await import('../../infra/pulumi/program');
    const outputs = await runStack(testDeps, stackInputFromRuntime(process.cwd()));
    await drain();
    return { rec, outputs };
  } finally {
    if (bundle) rmSync(bundle, { recursive: true, force: true });
  }
}

const GROUP_NEEDS: Record<string, string[]> = {
  // API group of an object → charts (by upstream chart name) it must be applied after (issue 4).
  'operator.tigera.io': ['tigera-operator'],
  'crd.projectcalico.org': ['tigera-operator'],
  'cert-manager.io': ['cert-manager'],
  'networking.istio.io': ['istiod'],
  'elasticsearch.k8s.elastic.co': ['eck-operator'],
  'kibana.k8s.elastic.co': ['eck-operator'],
  'beat.k8s.elastic.co': ['eck-operator'],
  'monitoring.coreos.com': ['kube-prometheus-stack'],
};

const chartName = (r: Registered) => {
  const c = String(r.inputs.chart);
  return c.endsWith('.tgz') ? c.split('/').pop()!.replace(/-v?\d[^-]*\.tgz$/, '') : c;
};

describe.each(STACKS)('stack %s', (stack) => {
  const site = stackSite(stack);
  const name = site.metadata.name;
  let run: Run;
  const get = async () => (run ??= await runStackMocked(stack));

  it('each cluster gets each enabled component and chart exactly once, at the catalog version', async () => {
    const { rec } = await get();
    for (const cluster of site.spec.clusters) {
      const prefix = `${name}-${cluster.name}`;
      const synth = testDeps.synthesizeCluster(site, cluster);
      const groups = rec.byType('kubernetes:yaml/v2:ConfigGroup').filter((r) => r.name.startsWith(`${prefix}-`));
      for (const c of synth.components) expect(groups.filter((g) => g.name === `${prefix}-${c.component}`), c.component).toHaveLength(1);
      const charts = rec.byType('kubernetes:helm.sh/v4:Chart').filter((r) => r.name.startsWith(`${prefix}-`));
      const expected = catalog(site, cluster);
      expect(charts.map((c) => c.name).sort()).toEqual(expected.map((r) => `${prefix}-${r.id}`).sort());
      for (const r of expected) {
        const ch = rec.named(`${prefix}-${r.id}`);
        if (site.spec.clusters && ch.inputs.version !== undefined) expect(ch.inputs.version).toBe(r.version);
        else expect(String(ch.inputs.chart)).toContain(`${r.chart}-${r.version}.tgz`);
      }
    }
  });

  it('every Kubernetes resource names its cluster’s provider explicitly', async () => {
    const { rec } = await get();
    const k8s = rec.resources.filter((r) => r.type.startsWith('kubernetes:'));
    expect(k8s.length).toBeGreaterThan(0);
    for (const r of k8s) {
      // cluster-mgr's credentials: a member's token Secret on that member, the rest in the host cluster (the first).
      const member = new RegExp(`^${name}-cluster-mgr-(.+)-member-token$`).exec(r.name)?.[1];
      const cluster = member ?? (r.name.startsWith(`${name}-cluster-mgr-`) ? site.spec.clusters[0]!.name : site.spec.clusters.find((c) => r.name.startsWith(`${name}-${c.name}-`))!.name);
      expect(r.provider, r.name).toMatch(new RegExp(`pulumi:providers:kubernetes::${name}-${cluster}-provider::`));
    }
    expect(rec.byType('pulumi:providers:kubernetes').map((p) => p.name).sort()).toEqual(site.spec.clusters.map((c) => `${name}-${c.name}-provider`).sort());
  });

  it('dependency edges: operator CRs after their charts, istiod after base, gateway after istiod', async () => {
    const { rec } = await get();
    for (const cluster of site.spec.clusters) {
      const prefix = `${name}-${cluster.name}-`;
      const charts = rec.byType('kubernetes:helm.sh/v4:Chart').filter((r) => r.name.startsWith(prefix));
      const urnOf = (chart: string) => charts.find((c) => chartName(c) === chart)?.urn;
      let checked = 0;
      for (const g of rec.byType('kubernetes:yaml/v2:ConfigGroup').filter((r) => r.name.startsWith(prefix))) {
        for (const o of (g.inputs.objs as { apiVersion: string }[]) ?? []) {
          const group = o.apiVersion.split('/')[0]!;
          for (const need of GROUP_NEEDS[group] ?? []) {
            expect(urnOf(need), `${need} chart`).toBeDefined();
            expect(g.dependencies, `${g.name} (${o.apiVersion}) after ${need}`).toContain(urnOf(need));
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(4);
      const istiod = charts.find((c) => chartName(c) === 'istiod')!;
      expect(istiod.dependencies).toContain(urnOf('base'));
      expect(charts.find((c) => chartName(c) === 'gateway')!.dependencies).toContain(istiod.urn);
      // kube-prometheus-stack's admission webhooks use cert-manager certificates.
      expect(charts.find((c) => chartName(c) === 'kube-prometheus-stack')!.dependencies).toContain(urnOf('cert-manager'));
      // The provider waits for the cluster's host layer (API VIP, registry mirrors).
      const provider = rec.named(`${name}-${cluster.name}-provider`);
      expect(provider.dependencies.length).toBeGreaterThan(0);
      expect(provider.dependencies.every((d) => d.includes('command:remote:Command'))).toBe(true);
    }
  });

  it('secrets stay secret: kubeconfig, Ceph/registry/CA/TSIG material and the SSH key', async () => {
    const { rec } = await get();
    for (const p of rec.byType('pulumi:providers:kubernetes')) expect(isSecret(p.inputs.kubeconfig), p.name).toBe(true);
    for (const p of rec.byType('pulumi:providers:kubernetes')) expect(unwrap(p.inputs.kubeconfig)).toBe(kubeconfigFor(p.name.slice(name.length + 1, -'-provider'.length)));
    const secrets = rec.byType('kubernetes:core/v1:Secret');
    for (const s of secrets) {
      if (isSecret(s.inputs.stringData) || isSecret(s.inputs.data)) continue; // the whole map is secret
      if (s.inputs.type === 'kubernetes.io/service-account-token') continue; // filled by the token controller: no data from the stack
      const data = (s.inputs.stringData ?? s.inputs.data) as Record<string, unknown>;
      const fromStack = Object.entries(data).filter(([k]) => !['userID', 'adminID'].includes(k));
      expect(fromStack.length).toBeGreaterThan(0);
      for (const [k, v] of fromStack) expect(isSecret(v), `${s.name} ${k}`).toBe(true);
    }
    // No fixture secret value appears anywhere outside a secret wrapper.
    const strip = (v: unknown): unknown => (isSecret(v) ? '(secret)' : Array.isArray(v) ? v.map(strip) : typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)])) : v);
    const visible = JSON.stringify(rec.resources.map((r) => strip(r.inputs)));
    for (const v of [...Object.values(SECRET_VALUES), 'fixture-kubeconfig']) expect(visible).not.toContain(v.split('\n')[1] ?? v);
    for (const c of rec.byType('command:remote:Command')) expect(isSecret(c.inputs.connection), c.name).toBe(true);
    const names = secrets.map((s) => (unwrap(s.inputs.metadata) as { name: string }).name);
    if (site.spec.storage.ceph) expect(names, names.join()).toContain('csi-rbd-secret');
    const cfg = runtimeConfig(stack, testDeps, {}, { bundle: false }).config;
    if (cfg['flotilla:caKey'] !== undefined) {
      // The stack's CA replaces the in-cluster self-signed root CA certificate.
      const ca = secrets.find((s) => s.inputs.type === 'kubernetes.io/tls')!;
      expect(ca, 'CA secret').toBeDefined();
      expect(isSecret(ca.inputs.stringData) || isSecret((ca.inputs.stringData as Record<string, unknown>)['tls.key'])).toBe(true);
      expect((unwrap(ca.inputs.stringData) as Record<string, string>)['tls.key']).toBe(SECRET_VALUES.caKey);
      const cmObjs = rec.byType('kubernetes:yaml/v2:ConfigGroup').flatMap((g) => (g.inputs.objs as { kind: string; spec?: { isCA?: boolean } }[]) ?? []);
      expect(cmObjs.filter((o) => o.kind === 'Certificate' && o.spec?.isCA)).toEqual([]);
    }
    if (site.spec.front) {
      // cluster-mgr's runtime API client certificate: its CA Issuer's Secret holds the stack's CA (the CA the front hosts trust)
      const frontCa = secrets.find((s) => (unwrap(s.inputs.metadata) as { name: string }).name === CLUSTER_MGR_FRONT_CLIENT_CERT.caSecret);
      expect(frontCa, 'front CA Issuer secret').toBeDefined();
      const data = unwrap(frontCa!.inputs.stringData) as Record<string, string>;
      expect(data['tls.key']).toBe(SECRET_VALUES.caKey);
      expect(data['tls.crt']).toBe(site.spec.certificates.issuer === 'ca' && site.spec.certificates.caCert ? site.spec.certificates.caCert : cfg['flotilla:caCert']);
      expect(isSecret(frontCa!.inputs.stringData) || isSecret((frontCa!.inputs.stringData as Record<string, unknown>)['tls.key'])).toBe(true);
    }
    if (cfg['flotilla:registryPassword'] !== undefined) {
      const pull = secrets.find((s) => s.inputs.type === 'kubernetes.io/dockerconfigjson')!;
      const json = JSON.parse((unwrap(pull.inputs.stringData) as Record<string, string>)['.dockerconfigjson']!) as { auths: Record<string, { password: string }> };
      expect(json.auths[site.spec.registry.host]!.password).toBe(SECRET_VALUES.registryPassword);
    }
  });

  it('host layer: one command per node with its rendered files, triggered by their hash', async () => {
    const { rec } = await get();
    const cmds = rec.byType('command:remote:Command');
    const nodes = site.spec.clusters.flatMap((c) => c.nodes.map((n) => ({ cluster: c.name, node: n })));
    const ops = site.spec.federation.opsHost ? [`${name}-ops-hosts-${site.spec.federation.opsHost.name}`] : [];
    // front hosts (spec.front) belong to the site-level host layer
    const fronts = (site.spec.front?.hosts ?? []).map((h) => `${name}-site-hosts-${h.name}`);
    expect(cmds.map((c) => c.name).sort()).toEqual([...nodes.map((n) => `${name}-${n.cluster}-hosts-${n.node.name}`), ...fronts, ...ops].sort());
    // air-gapped stacks keep flotilla install's bootstrap registry first in hosts.toml (checked on its own below)
    const airGapped = runtimeConfig(stack, testDeps, {}, { bundle: false }).config['flotilla:bundle'] !== undefined;
    // A private-CA site without spec.certificates.caCert takes the CA from flotilla:caCert (acme-cust).
    const stackCa = runtimeConfig(stack, testDeps, {}, { bundle: false }).config['flotilla:caCert'];
    const hostSite = site.spec.certificates.issuer === 'ca' && site.spec.certificates.caCert === undefined && stackCa !== undefined
      ? { ...site, spec: { ...site.spec, certificates: { ...site.spec.certificates, caCert: stackCa } } }
      : site;
    const files = airGapped ? withBootstrapMirrors(renderHostFiles(hostSite), bootstrapRegistry(site)) : renderHostFiles(hostSite);
    if (hostSite.spec.certificates.caCert !== undefined) expect(files.some((f) => f.path.endsWith(`/certs.d/${site.spec.registry.host}/ca.crt`))).toBe(true);
    const auth = renderContainerdAuths([{ registry: site.spec.registry.host, username: 'flotilla', password: SECRET_VALUES.registryPassword }]);
    for (const { cluster, node } of nodes) {
      const c = rec.named(`${name}-${cluster}-hosts-${node.name}`);
      const mine = files.filter((f) => f.path.startsWith(`hosts/${node.name}/`));
      // The script carries the registry password (containerd's CRI drop-in): a secret as a whole.
      expect(isSecret(c.inputs.create), c.name).toBe(true);
      const create = String(unwrap(c.inputs.create));
      for (const f of mine) {
        const content = f.path.endsWith('/containerd/conf.d/10-flotilla-cri.toml') ? f.content + auth : f.content;
        expect(create, f.path).toContain(Buffer.from(content).toString('base64'));
      }
      expect(mine.map((f) => f.path)).toEqual(expect.arrayContaining([`hosts/${node.name}/containerd/config.toml`, `hosts/${node.name}/containerd/conf.d/10-flotilla-cri.toml`]));
      expect(create).toContain('systemctl restart containerd');
      if (node.roles.includes('master')) expect(mine.map((f) => f.path)).toEqual(expect.arrayContaining([`hosts/${node.name}/manifests/keepalived.yaml`, `hosts/${node.name}/manifests/haproxy.yaml`]));
      expect(mine.some((f) => f.path.endsWith('/hosts.toml'))).toBe(true);
      // The second trigger follows the password (a new password re-writes the drop-in): a secret.
      expect(isSecret(c.inputs.triggers)).toBe(true);
      const triggers = unwrap(c.inputs.triggers) as string[];
      expect(triggers).toHaveLength(2);
      for (const t of triggers) expect(t).toMatch(/^[0-9a-f]{64}$/);
      const conn = unwrap(c.inputs.connection) as Record<string, unknown>;
      expect(conn).toMatchObject({ host: node.address, port: site.spec.ssh.port, user: site.spec.ssh.user, privateKey: SECRET_VALUES.sshPrivateKey, perDialTimeout: 10 });
    }
    for (const p of planHosts(hostSite, files, [], { registryUser: 'flotilla' })) expect((unwrap(rec.named(`${name}-${p.cluster || 'site'}-hosts-${p.host}`).inputs.triggers) as string[])[0]).toBe(p.trigger);
  });

  it('cluster-mgr credentials: token Secret per member after FederationMember, both Secrets in the host cluster, the ops host filled from them', async () => {
    const { rec, outputs } = await get();
    const host = site.spec.clusters[0]!.name;
    const secret = (n: string) => rec.named(`${name}-cluster-mgr-${n}`);
    const meta = (r: Registered) => unwrap(r.inputs.metadata) as { name: string; namespace: string; annotations?: Record<string, string> };
    const api = secret('api-token');
    expect(meta(api)).toMatchObject({ name: 'cluster-mgr-api-token', namespace: 'flotilla-system' });
    // `data` (base64), not `stringData`: the provider stores stringData as data, so ignoreChanges on
    // stringData would still replace the Secret with a new token on every up (seen on the real engine)
    expect(api.inputs.stringData).toBeUndefined();
    expect(isSecret(api.inputs.data) || isSecret((api.inputs.data as Record<string, unknown>).token)).toBe(true);
    const token = Buffer.from((unwrap(api.inputs.data) as { token: string }).token, 'base64').toString('utf8');
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    const kc = secret('kubeconfigs');
    expect(meta(kc)).toMatchObject({ name: 'cluster-mgr-kubeconfigs', namespace: 'flotilla-system' });
    expect(isSecret(kc.inputs.stringData)).toBe(true);
    const kubeconfigs = unwrap(kc.inputs.stringData) as Record<string, string>;
    expect(Object.keys(kubeconfigs).sort()).toEqual(site.spec.clusters.map((c) => `${c.name}.yaml`).sort());
    for (const c of site.spec.clusters) {
      const t = secret(`${c.name}-member-token`);
      expect(t.provider).toContain(`${name}-${c.name}-provider::`);
      expect(meta(t)).toMatchObject({ name: 'cluster-mgr-member-token', namespace: 'flotilla-system', annotations: { 'pulumi.com/waitFor': 'jsonpath={.data.token}' } });
      // after the member's FederationMember objects (its ServiceAccount), which no longer carry the token Secret
      const group = rec.named(`${name}-${c.name}-federation-member`);
      expect(t.dependencies).toContain(group.urn);
      expect((group.inputs.objs as { kind: string }[]).map((o) => o.kind)).not.toContain('Secret');
      const cfg = kubeconfigs[`${c.name}.yaml`]!;
      expect(cfg).toContain(`server: ${outputs.clusters[c.name]!.apiServer}`);
      expect(cfg).toContain(`token: ${fixtureMemberToken(`${name}-cluster-mgr-${c.name}-member-token`)}`);
    }
    expect(api.provider).toContain(`${name}-${host}-provider::`);
    const ops = site.spec.federation.opsHost;
    if (!ops) return;
    const cmd = rec.named(`${name}-ops-hosts-${ops.name}`);
    expect(isSecret(cmd.inputs.create)).toBe(true);
    expect(isSecret(cmd.inputs.triggers)).toBe(true);
    const create = String(unwrap(cmd.inputs.create));
    expect(create).toContain(`put 0640 '/etc/cluster-mgr/api-token.env' ${Buffer.from(`CLUSTER_MGR_TOKEN=${token}\n`).toString('base64')}`);
    for (const c of site.spec.clusters) expect(create).toContain(`put 0640 '/etc/cluster-mgr/kubeconfigs/${c.name}.yaml' ${Buffer.from(kubeconfigs[`${c.name}.yaml`]!).toString('base64')}`);
    expect(create).toContain('systemctl restart cluster-mgr.service');
    expect(create).not.toContain(token);
  });

  it('outputs: VIPs, registry, Kibana, Grafana and cluster-mgr per cluster', async () => {
    const { outputs } = await get();
    expect(Object.keys(outputs.clusters).sort()).toEqual(site.spec.clusters.map((c) => c.name).sort());
    for (const c of site.spec.clusters) {
      const e = outputs.clusters[c.name]!;
      expect(e.ingressVIPs.map((v) => v.address)).toEqual(c.edge.vips.map((v) => v.address.split('/')[0]));
      expect(e.registryUrl).toBe(`https://${site.spec.registry.host}`);
      for (const u of [e.kibanaUrl, e.grafanaUrl, e.clusterMgrEndpoint]) expect(u).toMatch(/^https:\/\/[a-z0-9-]+\./);
    }
    expect(await new Promise((res) => outputs.component.urn.apply(res))).toMatch(/flotilla:site:Site/);
  });
});

describe('air-gapped stack', () => {
  const stack = STACKS.find((s) => runtimeConfig(s, testDeps, {}, { bundle: false }).config['flotilla:bundle'] !== undefined)!;
  it('exists among the stacks', () => expect(stack).toBeDefined());
  it('no chart source is remote; no image in chart values or objects leaves the site registry', async () => {
    const site = stackSite(stack);
    const reg = site.spec.registry.host;
    const { rec } = await runStackMocked(stack);
    const charts = rec.byType('kubernetes:helm.sh/v4:Chart');
    expect(charts.length).toBeGreaterThan(5);
    for (const c of charts) {
      expect(isRemoteSource({ chart: String(c.inputs.chart), repositoryOpts: c.inputs.repositoryOpts as { repo: string } | undefined }), c.name).toBe(false);
      expect(String(c.inputs.chart)).toMatch(/\/charts\/[^/]+\.tgz$/);
    }
    // Independent scan: registry-like keys name the site registry; image strings are in it, except
    // an image/repository path next to such a registry key.
    const bad: string[] = [];
    const walk = (v: unknown, where: string): void => {
      if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${where}[${i}]`));
      if (typeof v !== 'object' || v === null) return;
      const o = v as Record<string, unknown>;
      const joined = typeof o.registry === 'string';
      for (const [k, x] of Object.entries(o)) {
        if (typeof x === 'string' && ['registry', 'hub', 'imageRegistry'].includes(k) && x !== '' && x.split('/')[0] !== reg) bad.push(`${where}.${k}=${x}`);
        else if (typeof x === 'string' && (k === 'image' || (k === 'repository' && 'tag' in o)) && !joined && !x.startsWith(`${reg}/`)) bad.push(`${where}.${k}=${x}`);
        else if (typeof x === 'string' && joined && (k === 'image' || k === 'repository') && /^[^/]+\.[^/]+\//.test(x)) bad.push(`${where}.${k}=${x}`);
        else if (typeof x === 'string' && /^(?:[a-z0-9-]+\.)+[a-z]+(?::\d+)?\/\S+:[\w.-]+$/.test(x) && !x.startsWith(`${reg}/`)) bad.push(`${where}.${k}=${x}`);
        else walk(x, `${where}.${k}`);
      }
    };
    const groups = rec.byType('kubernetes:yaml/v2:ConfigGroup');
    for (const c of charts) walk(c.inputs.values, c.name);
    for (const g of groups) walk(g.inputs.objs, g.name);
    expect(bad).toEqual([]);
    const images = JSON.stringify(groups.map((g) => g.inputs.objs)).match(/"image":"[^"]+"/g) ?? [];
    expect(images.length).toBeGreaterThan(2);
  });
  it('host layer: every hosts.toml tries the bootstrap registry of flotilla install first, then the site registry', async () => {
    const site = stackSite(stack);
    const reg = site.spec.registry.host;
    const { rec } = await runStackMocked(stack);
    let seen = 0;
    for (const c of rec.byType('command:remote:Command')) {
      for (const m of String(unwrap(c.inputs.create)).matchAll(/^put \S+ '(\/etc\/containerd\/certs\.d\/[^']+\/hosts\.toml)' (\S+)$/gm)) {
        const toml = Buffer.from(m[2]!, 'base64').toString('utf8');
        const hosts = [...toml.matchAll(/^\[host\."([^"]+)"\]/gm)].map((h) => h[1]);
        expect(hosts.slice(0, 2), `${c.name} ${m[1]}`).toEqual([`https://bootstrap.${reg}:${site.spec.registry.bootstrapPort}`, `https://${reg}`]);
        expect(toml).toContain('ca = "/etc/flotilla/bootstrap-registry/ca.crt"');
        seen++;
      }
    }
    expect(seen).toBeGreaterThan(site.spec.clusters.flatMap((c) => c.nodes).length);
  });
});

describe('bad stack settings fail like `flotilla validate`', () => {
  const expectRunError = async (stack: string, extra: Record<string, string>, pattern: RegExp) => {
    const { config, secretKeys } = runtimeConfig(stack, testDeps, extra, { bundle: false });
    await installMocks(stack, config, secretKeys);
    const { runStack, stackInputFromRuntime } = await import('../../infra/pulumi/program');
    const input = stackInputFromRuntime(process.cwd());
    const err = await runStack(testDeps, input).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(pulumi.RunError.isInstance(err)).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toMatch(pattern);
    expect(msg).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
    await drain();
    return msg;
  };
  it('missing inventory', async () => {
    await expectRunError('bj1', { 'flotilla:inventory': 'examples/nope.yaml' }, /^examples\/nope\.yaml:0:0 \(file\): cannot read: no such file$/m);
  });
  it('invalid inventory: the same lines as flotilla validate', async () => {
    const file = 'test/fixtures/invalid/vip-outside-subnet.yaml';
    const { loadSite, formatError } = await import('../../infra/site/index');
    const v = await loadSite(file);
    expect(v.ok).toBe(false);
    const lines = v.ok ? [] : v.errors.map(formatError);
    const msg = await expectRunError('bj1', { 'flotilla:inventory': file }, /outside the subnet/);
    expect(msg.split('\n').slice(0, lines.length)).toEqual(lines);
  });
  it('flotilla:caCert that differs from the inventory\'s site CA', async () => {
    await expectRunError('bj1', { 'flotilla:caCert': '-----BEGIN CERTIFICATE-----\nanother CA\n-----END CERTIFICATE-----' }, /config\.flotilla:caCert: differs from spec\.certificates\.caCert of the inventory/);
  });
  it('unknown environment', async () => {
    await expectRunError('bj1', { 'flotilla:environment': 'staging' }, /^pulumi config of stack bj1:1:\d+ config\.flotilla:environment: "staging" is not allowed: expected one of "prod", "pre", "test"$/m);
  });
  it('a required secret is missing', async () => {
    const { config, secretKeys } = runtimeConfig('sh1', testDeps);
    delete config['flotilla:cephKey'];
    await installMocks('sh1', config, secretKeys.filter((k) => k !== 'flotilla:cephKey'));
    const { runStack, stackInputFromRuntime } = await import('../../infra/pulumi/program');
    const err = await runStack(testDeps, stackInputFromRuntime(process.cwd())).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^stacks\/Pulumi\.sh1\.yaml:5:5 config\.flotilla:cephKey: required because spec\.storage\.ceph is set/m);
  });
});

describe('environments share one inventory', () => {
  it('pre and test apply their overrides; prod keeps the inventory values', async () => {
    const es = async (stack: string) => {
      const { rec, outputs } = await runStackMocked(stack);
      const logging = rec.named(`bj1-bj1-a-logging`).inputs.objs as { kind: string; spec?: { nodeSets?: { count: number }[] } }[];
      return { count: logging.find((o) => o.kind === 'Elasticsearch')!.spec!.nodeSets![0]!.count, kibana: outputs.clusters['bj1-a']!.kibanaUrl, env: outputs.environment };
    };
    expect(await es('bj1')).toEqual({ count: 3, kibana: 'https://kibana.bj1.example.com', env: 'prod' });
    expect(await es('bj1-pre')).toEqual({ count: 1, kibana: 'https://kibana.pre.bj1.example.com', env: 'pre' });
    expect(await es('bj1-test')).toEqual({ count: 1, kibana: 'https://kibana.test.bj1.example.com', env: 'test' });
  });
});

const TSIG_SECRET = 'c2gxLWFjbWUtZml4dHVyZS10c2lnLXNlY3JldA==';
/** A TSIG key as tsig-keygen writes it (the form `pulumi config set --secret flotilla:tsigKey < tsig.key` stores). */
const TSIG_FILE = `key "acme-sh1" {\n\talgorithm hmac-sha256;\n\tsecret "${TSIG_SECRET}";\n};\n`;
const SH1_CA_CERT = '-----BEGIN CERTIFICATE-----\nsh1 site CA fixture\n-----END CERTIFICATE-----\n';

describe('inventory files and changes', () => {
  const copyInventory = (edit: (text: string) => string = (t) => t) => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-inv-'));
    writeFileSync(join(dir, 'sh1.yaml'), edit(readFileSync('examples/sh1.yaml', 'utf8')).replace('~/.ssh/flotilla_ed25519', './id_ed25519'));
    mkdirSync(join(dir, 'kubeconfigs'));
    for (const c of ['sh1-a', 'sh1-b']) writeFileSync(join(dir, 'kubeconfigs', `${c}.yaml`), kubeconfigFor(c));
    writeFileSync(join(dir, 'id_ed25519'), SECRET_VALUES.sshPrivateKey);
    writeFileSync(join(dir, 'known_hosts'), '10.20.1.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedM1\n');
    return dir;
  };
  /** sh1's settings: spec.front makes the site CA (certificate and key) required. */
  const SH1_VALUES = { 'flotilla:cephKey': 'k', 'flotilla:tsigKey': TSIG_FILE, 'flotilla:registryPassword': 'p', 'flotilla:caCert': SH1_CA_CERT, 'flotilla:caKey': SECRET_VALUES.caKey };
  const SH1_SECRET_KEYS = ['flotilla:cephKey', 'flotilla:tsigKey', 'flotilla:registryPassword', 'flotilla:caKey'];
  const input = (inventory: string) => ({
    root: process.cwd(),
    stack: 'sh1',
    values: { 'flotilla:inventory': inventory, ...SH1_VALUES },
    secretKeys: new Set(SH1_SECRET_KEYS),
  });

  it('reads kubeconfigs and the SSH key next to the inventory (as secrets) and pins known host keys', async () => {
    const dir = copyInventory();
    try {
      const { config, secretKeys } = { config: { 'flotilla:inventory': join(dir, 'sh1.yaml'), ...SH1_VALUES }, secretKeys: SH1_SECRET_KEYS };
      const rec = await installMocks('sh1', config, secretKeys);
      const { runStack } = await import('../../infra/pulumi/program');
      await runStack(testDeps, { ...input(join(dir, 'sh1.yaml')) });
      await drain();
      const p = rec.named('sh1-sh1-b-provider');
      expect(isSecret(p.inputs.kubeconfig)).toBe(true);
      expect(unwrap(p.inputs.kubeconfig)).toBe(kubeconfigFor('sh1-b'));
      const m1 = unwrap(rec.named('sh1-sh1-a-hosts-sh1-a-m1').inputs.connection) as Record<string, unknown>;
      expect(m1.hostKey).toBe('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedM1');
      expect(m1.privateKey).toBe(SECRET_VALUES.sshPrivateKey);
      expect((unwrap(rec.named('sh1-sh1-a-hosts-sh1-a-m2').inputs.connection) as Record<string, unknown>).hostKey).toBeUndefined();
      // cert-manager's TSIG Secret: the base64 secret of the tsig-keygen file, as a Pulumi secret.
      const tsig = rec.byType('kubernetes:core/v1:Secret').filter((x) => (unwrap(x.inputs.metadata) as { name: string }).name === 'site-issuer-tsig');
      expect(tsig.map((x) => (unwrap(x.inputs.metadata) as { namespace: string }).namespace)).toEqual(['cert-manager', 'cert-manager']);
      for (const x of tsig) {
        expect(isSecret((x.inputs.stringData as Record<string, unknown>)['tsig-secret']) || isSecret(x.inputs.stringData)).toBe(true);
        expect((unwrap(x.inputs.stringData) as Record<string, string>)['tsig-secret']).toBe(TSIG_SECRET);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing kubeconfig is a positioned inventory error', async () => {
    const dir = copyInventory();
    try {
      rmSync(join(dir, 'kubeconfigs', 'sh1-b.yaml'));
      const { prepareStack } = await import('../../infra/pulumi/program');
      const r = await prepareStack(input(join(dir, 'sh1.yaml')), testDeps);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors.map(formatError)).toEqual([expect.stringMatching(/sh1\.yaml:\d+:\d+ spec\.clusters\[1\]\.kubeconfig: kubeconfig "\.\/kubeconfigs\/sh1-b\.yaml" not found/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['no TSIG key', undefined, /config\.flotilla:tsigKey: required because spec\.certificates\.dns01\.rfc2136 is set/],
    ['a key of another name', TSIG_FILE.replace('acme-sh1', 'other'), /the TSIG key names key "other" but spec\.certificates\.dns01\.rfc2136\.tsigKeyName is "acme-sh1"/],
    ['a key of another algorithm', TSIG_FILE.replace('hmac-sha256', 'hmac-sha512'), /uses hmac-sha512 but spec\.certificates\.dns01\.rfc2136\.tsigAlgorithm is HMACSHA256/],
    ['not a key', 'not a key!', /neither a tsig-keygen key file nor a base64 TSIG secret/],
  ])('RFC 2136 DNS-01 with %s is a stack setting error that never shows the secret', async (_n, key, message) => {
    const dir = copyInventory();
    try {
      const { prepareStack } = await import('../../infra/pulumi/program');
      const base = input(join(dir, 'sh1.yaml'));
      const values: Record<string, string> = { ...base.values };
      if (key === undefined) delete values['flotilla:tsigKey'];
      else values['flotilla:tsigKey'] = key;
      const r = await prepareStack({ ...base, values }, testDeps);
      expect(r.ok).toBe(false);
      const text = r.ok ? '' : r.errors.map(formatError).join('\n');
      expect(text).toMatch(message);
      expect(text).not.toContain(TSIG_SECRET);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('changing one cluster’s API VIP changes only that cluster’s master commands', async () => {
    const a = copyInventory();
    const b = copyInventory((t) => t.replace('apiVIP: { address: 10.20.2.10/24', 'apiVIP: { address: 10.20.2.9/24'));
    try {
      const triggers = async (dir: string) => {
        const { prepareStack } = await import('../../infra/pulumi/program');
        const r = await prepareStack(input(join(dir, 'sh1.yaml')), testDeps);
        if (!r.ok) throw new Error(r.errors.map(formatError).join('\n'));
        return new Map(r.value.clusters.flatMap((c) => c.hosts.map((h) => [h.host, h.trigger] as const)));
      };
      const before = await triggers(a);
      const after = await triggers(b);
      const changed = [...before.keys()].filter((h) => before.get(h) !== after.get(h)).sort();
      expect(changed).toEqual(['sh1-b-m1', 'sh1-b-m2', 'sh1-b-m3']);
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });
});

describe('entry point infra/index.ts', () => {
  it('imported after the mocks, it runs the stack and exports the outputs', async () => {
    const { config, secretKeys } = runtimeConfig('sh1', testDeps);
    const rec = await installMocks('sh1', config, secretKeys);
    const entry = await import('../../infra/index');
    await drain();
    expect(entry.site).toBe('sh1');
    expect(entry.airGapped).toBe(false);
    expect(Object.keys(entry.clusters).sort()).toEqual(['sh1-a', 'sh1-b']);
    expect(entry.registryUrl).toBe('https://registry.sh1.example.com');
    expect(rec.byType('flotilla:site:Site')).toHaveLength(1);
    expect(rec.byType('flotilla:platform:ClusterPlatform')).toHaveLength(2);
    // one per cluster, the site-level one (sh1's front hosts), plus cluster-mgr's ops host (spec.federation.opsHost) after its credentials
    expect(rec.byType('flotilla:hosts:HostLayer').map((h) => h.name).sort()).toEqual(['sh1-ops-hosts', 'sh1-sh1-a-hosts', 'sh1-sh1-b-hosts', 'sh1-site-hosts']);
    expect(rec.byType('flotilla:federation:ClusterMgrAccess').map((h) => h.name)).toEqual(['sh1-cluster-mgr']);
    // dependsOn the component: the SDK waits for its children (the three kinds of Secret)
    const opsDeps = rec.named('sh1-ops-hosts').dependencies.map((u) => rec.nameOfUrn(u)).sort();
    expect(opsDeps).toEqual(['sh1-cluster-mgr-api-token', 'sh1-cluster-mgr-kubeconfigs', 'sh1-cluster-mgr-sh1-a-member-token', 'sh1-cluster-mgr-sh1-b-member-token']);
    // Children are named after their parent and parented to it.
    for (const r of rec.resources.filter((x) => x.type !== 'flotilla:site:Site')) {
      expect(r.parent, r.name).not.toBe('');
      expect(r.name.startsWith('sh1-'), r.name).toBe(true);
    }
  });
});
