// The stack program: settings → inventory → synthesis → plans (prepareStack, no Pulumi calls), then
// the Site component (deployStack). `runStack` is the adapter the entry point (infra/index.ts) calls.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { RenderedFile } from '../render/index';
import { formatError, resolveSite, type Cluster, type PositionedError, type Site as SiteModel, type SiteSource } from '../site/index';
import type { ClusterSynth, SynthOptions } from '../synth/types';
import { tsigKeyProblems, tsigSecretOf } from '../lib/acme';
import { htpasswdLine } from '../lib/bcrypt';
import { parseDuration } from '../lib/units';
import { foreignImageRefs, missingBundleCharts } from './airgap';
import { Site, type SecretValues } from './components';
import { applyEnvironment, loadStackSite, parseStackConfig, type RawStackConfig, type SiteFiles, type StackConfig } from './config';
import { bootstrapRegistry, withBootstrapMirrors } from '../render/bootstrap-registry';
import { hostKeyFor, parseKnownHosts, planHosts, unknownHosts, type HostPlan } from './hosts';
import { clusterEndpoints, planCluster, planSecrets, requiredSecrets, type ClusterEndpoints, type ClusterPlan } from './plan';

/** The synthesis functions the program uses (the real ones in infra/index.ts; fixtures in tests). */
export interface ProgramDeps {
  synthesizeCluster(site: SiteSource, cluster: Cluster, opts?: SynthOptions): ClusterSynth;
  renderHostFiles(site: SiteSource): RenderedFile[];
}

export interface PreparedCluster {
  readonly synth: ClusterSynth;
  readonly plan: ClusterPlan;
  readonly endpoints: ClusterEndpoints;
  readonly hosts: readonly HostPlan[];
}

export interface PreparedStack {
  readonly config: StackConfig;
  readonly site: SiteModel;
  readonly files: SiteFiles;
  /** Absolute bundle directory when air-gapped. */
  readonly bundleDir?: string;
  readonly clusters: readonly PreparedCluster[];
  /** Site-level hosts (front hosts), installed by the site's own host layer. */
  readonly siteHosts?: readonly HostPlan[];
  /** cluster-mgr's ops host (spec.federation.opsHost), installed after cluster-mgr's credentials exist. */
  readonly opsHost?: HostPlan;
  /** Pinned key of the bastion (spec.ssh.bastion) when known_hosts lists it. */
  readonly bastionHostKey?: string;
}

export type Prepared = { ok: true; value: PreparedStack } | { ok: false; errors: PositionedError[] };

export interface StackInput extends RawStackConfig {
  /** Project directory: relative settings paths (inventory, bundle) resolve from here. */
  readonly root: string;
}

/** Everything short of creating resources: validated settings and inventory, synthesis, plans. */
export async function prepareStack(input: StackInput, deps: ProgramDeps, exists: (p: string) => boolean = existsSync): Promise<Prepared> {
  const cfgRes = parseStackConfig(input);
  if (!cfgRes.ok) return cfgRes;
  const cfg = cfgRes.value;
  const at = (p: string) => (isAbsolute(p) ? p : resolve(input.root, p));
  const loaded = await loadStackSite(cfg, at, exists);
  if (!loaded.ok) return loaded;
  const envSite = applyEnvironment(loaded.value.site, cfg.environment, cfg.overrides);
  const settingsFile = input.stackFile?.path ?? `pulumi config of stack ${input.stack}`;
  const settingError = (key: string, message: string): PositionedError => ({
    file: settingsFile,
    ...locateSetting(input.stackFile?.text, `flotilla:${key}`),
    path: `config.flotilla:${key}`,
    message,
  });

  // The site CA: spec.certificates.caCert, or flotilla:caCert for a private-CA site whose inventory
  // has none (then the host layer writes it to the nodes all the same). Both set must agree.
  const invCa = envSite.spec.certificates.caCert;
  if (cfg.caCert !== undefined && invCa !== undefined && cfg.caCert.trim() !== invCa.trim()) {
    return { ok: false, errors: [settingError('caCert', 'differs from spec.certificates.caCert of the inventory: keep one (the inventory\'s), or make them the same certificate')] };
  }
  const site: SiteModel =
    cfg.caCert !== undefined && invCa === undefined && envSite.spec.certificates.issuer === 'ca'
      ? { ...envSite, spec: { ...envSite.spec, certificates: { ...envSite.spec.certificates, caCert: cfg.caCert } } }
      : envSite;
  const missing = requiredSecrets(site, cfg).filter((r) => cfg[r.key] === undefined);
  if (missing.length > 0) {
    return {
      ok: false,
      errors: missing.map((m) =>
        settingError(m.key, `required because ${m.why}: run \`pulumi config set ${m.key === 'caCert' ? '' : '--secret '}flotilla:${m.key} < FILE\``),
      ),
    };
  }

  const rfc2136 = site.spec.certificates.issuer === 'acme' ? site.spec.certificates.dns01?.rfc2136 : undefined;
  if (rfc2136 && cfg.tsigKey !== undefined) {
    const problems = tsigKeyProblems(cfg.tsigKey, rfc2136.tsigKeyName, rfc2136.tsigAlgorithm);
    if (problems.length > 0) return { ok: false, errors: problems.map((m) => settingError('tsigKey', `the TSIG key ${m}`)) };
  }

  const bundleDir = cfg.bundle === undefined ? undefined : at(cfg.bundle);
  if (bundleDir !== undefined && !exists(bundleDir)) return { ok: false, errors: [settingError('bundle', `bundle directory ${JSON.stringify(cfg.bundle)} not found (${bundleDir}): unpack the bundle there first`)] };
  const registry = bundleDir === undefined ? undefined : site.spec.registry.host;

  const resolved = resolveSite(site); // once: synthesis of every cluster and the host files read it
  const rendered = deps.renderHostFiles(resolved);
  // Air-gapped: keep containerd pulling from `flotilla install`'s bootstrap registry first.
  const hostFiles = bundleDir === undefined ? rendered : withBootstrapMirrors(rendered, bootstrapRegistry(resolved));
  const strays = unknownHosts(site, hostFiles);
  if (strays.length > 0) return { ok: false, errors: [settingError('inventory', `rendered host files for hosts not in the inventory: ${strays.join(', ')}`)] };
  const known = loaded.value.files.knownHosts ? parseKnownHosts(readFileSync(loaded.value.files.knownHosts, 'utf8')) : [];
  const hostPlans = planHosts(site, hostFiles, known, { registryUser: cfg.registryUser });

  const clusters: PreparedCluster[] = [];
  const errors: PositionedError[] = [];
  for (const cluster of site.spec.clusters) {
    // Synthesis does the air-gap rewriting of objects and chart values; below we only verify it.
    const synth: ClusterSynth = deps.synthesizeCluster(resolved, cluster, { airGapped: registry !== undefined });
    if (registry !== undefined && bundleDir !== undefined) {
      const absent = missingBundleCharts(synth.charts, bundleDir, exists);
      if (absent.length > 0) errors.push(settingError('bundle', `cluster ${cluster.name}: the bundle lacks ${absent.map((p) => relative(bundleDir, p)).join(', ')}: rebuild it with \`flotilla bundle\``));
      const foreign = [...synth.charts.flatMap((r) => foreignImageRefs(r.values, registry).map((f) => `chart ${r.id}: ${f}`)), ...synth.components.flatMap((c) => foreignImageRefs(c.objects, registry).map((f) => `${c.component}: ${f}`))];
      if (foreign.length > 0) errors.push(settingError('bundle', `cluster ${cluster.name}: images outside ${registry} remain: ${foreign.slice(0, 5).join('; ')}`));
    }
    const secrets = planSecrets(site, synth, { ...cfg, caCert: site.spec.certificates.issuer === 'ca' ? site.spec.certificates.caCert : cfg.caCert });
    clusters.push({
      synth,
      plan: planCluster(synth, secrets),
      endpoints: clusterEndpoints(site, cluster),
      hosts: hostPlans.filter((h) => h.cluster === cluster.name),
    });
  }
  if (errors.length > 0) return { ok: false, errors };
  const b = site.spec.ssh.bastion;
  const bastionHostKey = b ? hostKeyFor(known, [b.host], b.port) : undefined;
  const isOps = (h: HostPlan) => h.roles.includes('ops');
  const siteHosts = hostPlans.filter((h) => h.cluster === '' && !isOps(h));
  const opsHost = hostPlans.find(isOps);
  return {
    ok: true,
    value: {
      config: cfg,
      site,
      files: loaded.value.files,
      bundleDir,
      clusters,
      ...(siteHosts.length > 0 ? { siteHosts } : {}),
      ...(opsHost ? { opsHost } : {}),
      ...(bastionHostKey ? { bastionHostKey } : {}),
    },
  };
}

/** Line/column of a setting in the stack file (of `config:` when the setting is absent; 0:0 without a file). */
export function locateSetting(text: string | undefined, key: string): { line: number; col: number } {
  if (text === undefined) return { line: 0, col: 0 };
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (!isMap(doc.contents)) return { line: 0, col: 0 };
  const cfg = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'config');
  if (!cfg) return { line: 0, col: 0 };
  const at = (n: { range?: [number, number, number] | null } | null | undefined) => (n?.range ? lc.linePos(n.range[0]) : { line: 0, col: 0 });
  if (isMap(cfg.value)) {
    const pair = cfg.value.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair) return at((pair.value ?? pair.key) as { range?: [number, number, number] | null });
  }
  return at(cfg.key as { range?: [number, number, number] | null });
}

export interface StackOutputs {
  readonly site: string;
  readonly environment: string;
  readonly airGapped: boolean;
  readonly registryUrl: string;
  readonly clusters: Readonly<Record<string, ClusterEndpoints>>;
  readonly component: Site;
}

/** Creates the Site component from a prepared stack; secret material comes in as Pulumi secrets. */
export function deployStack(p: PreparedStack, secrets: {
  readonly kubeconfig: (cluster: string) => pulumi.Input<string>;
  readonly sshPrivateKey: pulumi.Input<string>;
  readonly values: SecretValues;
}): StackOutputs {
  const { site } = p;
  const b = site.spec.ssh.bastion;
  const component = new Site(site.metadata.name, {
    clusters: p.clusters.map((c) => ({ plan: c.plan, kubeconfig: secrets.kubeconfig(c.synth.cluster), endpoints: c.endpoints, hosts: c.hosts })),
    ...(p.siteHosts ? { hosts: p.siteHosts } : {}),
    ...(p.opsHost ? { opsHost: p.opsHost } : {}),
    bundleDir: p.bundleDir,
    secretValues: secrets.values,
    ssh: {
      user: site.spec.ssh.user,
      port: site.spec.ssh.port,
      privateKey: secrets.sshPrivateKey,
      timeoutSeconds: Math.max(1, Math.ceil((parseDuration(site.spec.ssh.timeout) ?? 15_000) / 1000)),
      ...(b ? { bastion: { host: b.host, port: b.port, user: b.user ?? site.spec.ssh.user, ...(p.bastionHostKey ? { hostKey: p.bastionHostKey } : {}) } } : {}),
    },
  });
  return {
    site: site.metadata.name,
    environment: site.spec.environment,
    airGapped: p.bundleDir !== undefined,
    registryUrl: `https://${site.spec.registry.host}`,
    clusters: component.endpoints,
    component,
  };
}

/** Reads the running stack's settings from the Pulumi runtime (project dir = cwd). */
export function stackInputFromRuntime(root = process.cwd()): StackInput {
  const stack = pulumi.getStack();
  const values = pulumi.runtime.allConfig();
  // isConfigSecret is exported at run time but marked @internal in the SDK's typings.
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret ?? (() => true);
  const secretKeys = new Set(Object.keys(values).filter((k) => isSecret(k)));
  const rel = `stacks/Pulumi.${stack}.yaml`;
  const abs = resolve(root, rel);
  const stackFile = existsSync(abs) ? { path: rel, text: readFileSync(abs, 'utf8') } : undefined;
  return { root, stack, values, secretKeys, stackFile };
}

/** A clean Pulumi error: every message on its own line, no stack trace. */
export function stackError(errors: readonly PositionedError[]): pulumi.RunError {
  return new pulumi.RunError(`${errors.map(formatError).join('\n')}\n${errors.length} error${errors.length === 1 ? '' : 's'} in the stack settings or inventory`);
}

/** The whole program: used by infra/index.ts. Throws a RunError on bad settings or inventory. */
export async function runStack(deps: ProgramDeps, input: StackInput = stackInputFromRuntime()): Promise<StackOutputs> {
  const prepared = await prepareStack(input, deps);
  if (!prepared.ok) throw stackError(prepared.errors);
  const p = prepared.value;
  const config = new pulumi.Config('flotilla');
  const kubeconfigs = p.config.kubeconfigs ? config.requireSecretObject<Record<string, string>>('kubeconfigs') : undefined;
  const secret = (key: string) => config.getSecret(key);
  const values: SecretValues = {
    caCert: p.site.spec.certificates.issuer === 'ca' ? p.site.spec.certificates.caCert : config.get('caCert'),
    caKey: secret('caKey'),
    cephKey: secret('cephKey'),
    tsigKey: secret('tsigKey'),
    registryPassword: secret('registryPassword'),
    smtpPassword: secret('smtpPassword'),
  };
  const tsig = secret('tsigKey');
  // cert-manager's TSIG Secret holds the base64 secret alone (flotilla:tsigKey may be a tsig-keygen file).
  if (tsig !== undefined) values.tsigSecret = pulumi.secret(tsig.apply((k) => tsigSecretOf(k) ?? ''));
  const pw = values.registryPassword;
  if (pw !== undefined) {
    const host = p.site.spec.registry.host;
    const user = p.config.registryUser;
    values.dockerconfigjson = pulumi.secret(
      pulumi.output(pw).apply((password) => JSON.stringify({ auths: { [host]: { username: user, password, auth: Buffer.from(`${user}:${password}`).toString('base64') } } })),
    );
    values.htpasswd = pulumi.secret(pulumi.output(pw).apply((password) => htpasswdLine(user, password, host)));
  }
  return deployStack(p, {
    kubeconfig: (cluster) => {
      const file = p.files.kubeconfigs[cluster];
      if (file !== undefined) return pulumi.secret(readFileSync(file, 'utf8'));
      return kubeconfigs!.apply((m) => m[cluster]!);
    },
    sshPrivateKey: p.files.privateKey !== undefined ? pulumi.secret(readFileSync(p.files.privateKey, 'utf8')) : config.requireSecret('sshPrivateKey'),
    values,
  });
}
