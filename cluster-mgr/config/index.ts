// Loading the Federation file, FederatedApp documents and capacity files, with the same
// `FILE:LINE:COL PATH: message` errors (exit 2) as `flotilla validate`.
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Issue } from '../../infra/site/checks';
import { loadYamlFile, loadYamlText, type LoadResult, type PositionedError } from '../../infra/site/document';
import { parseDuration } from '../../infra/lib/units';
import { stableVersionOf, type PodTemplateLike } from '../../infra/lib/canary';
import {
  appFromDocument,
  CapacitySchema,
  FederatedAppSchema,
  FederationSchema,
  type App,
  type Capacity,
  type Day2Check,
  type Federation,
} from './schema';

export * from './schema';
export { formatError, type LoadResult, type PositionedError } from '../../infra/site/document';

const show = (v: unknown): string => JSON.stringify(v);

export interface LoadFederationOptions {
  /** Check that every kubeconfig file is readable (run/plan do; pure validation may not). @default true */
  readonly checkFiles?: boolean;
  /**
   * `run`: a member kubeconfig that does not exist (a key missing from the mounted Secret) is not an
   * error as long as another member's does — the daemon runs, reports it, and loads it when it
   * appears (daemon/pending-member.ts). @default false
   */
  readonly deferMissingKubeconfigs?: boolean;
}

/** Resolves a path from the Federation file relative to the file's folder. */
export function resolveFrom(configFile: string, p: string): string {
  if (p.startsWith('~/')) return resolve(process.env.HOME ?? '/root', p.slice(2));
  return isAbsolute(p) ? p : resolve(dirname(configFile), p);
}

function readable(file: string): string | undefined {
  try {
    if (statSync(file).isDirectory()) return 'is a directory, expected a kubeconfig file';
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
  }
}

/** Cross-field checks over a schema-valid Federation. `file` resolves kubeconfig paths when checking files. */
export function checkFederation(fed: Federation, file?: string, deferMissing = false): Issue[] {
  const issues: Issue[] = [];
  const add = (path: (string | number)[], message: string) => issues.push({ path, message });
  const spec = fed.spec;
  const names = new Map<string, number>();
  const servers = new Map<string, number>();
  spec.members.forEach((m, i) => {
    if (names.has(m.name)) add(['spec', 'members', i, 'name'], `duplicate member name ${show(m.name)} (also spec.members[${names.get(m.name)}]): names must be unique`);
    else names.set(m.name, i);
    const server = m.traffic?.server ?? m.name;
    if (servers.has(server)) {
      add(['spec', 'members', i, 'traffic', 'server'], `traffic server ${show(server)} is already used by spec.members[${servers.get(server)}]: each member needs its own server name`);
    } else servers.set(server, i);
    if (file) {
      const why = readable(resolveFrom(file, m.kubeconfig));
      const deferred = deferMissing && why !== undefined && /no such file/.test(why) && spec.members.some((o) => o !== m && readable(resolveFrom(file, o.kubeconfig)) === undefined);
      if (why && !deferred) add(['spec', 'members', i, 'kubeconfig'], `cannot read kubeconfig ${show(m.kubeconfig)} (${resolveFrom(file, m.kubeconfig)}): ${why} — the path is relative to the Federation file`);
    }
  });
  const known = [...names.keys()];
  const knownText = `known members: ${known.join(', ')}`;
  const checkMember = (path: (string | number)[], name: string | undefined) => {
    if (name !== undefined && !names.has(name)) add(path, `unknown member ${show(name)}: ${knownText}`);
  };
  const h = spec.health;
  const interval = parseDuration(h.interval)!;
  if (interval <= 0) add(['spec', 'health', 'interval'], `interval ${show(h.interval)} must be longer than 0`);
  if (parseDuration(h.timeout)! <= 0) add(['spec', 'health', 'timeout'], `timeout ${show(h.timeout)} must be longer than 0`);
  if (spec.traffic?.haproxy && !spec.traffic.haproxy.socket && !spec.traffic.haproxy.address && !spec.traffic.haproxy.addresses) {
    add(['spec', 'traffic', 'haproxy'], 'haproxy needs "socket" (unix socket path), "address" (host:port) or "addresses" (the front hosts\' host:port) of the runtime API');
  }
  for (const name of Object.keys(spec.traffic?.nginx?.servers ?? {})) checkMember(['spec', 'traffic', 'nginx', 'servers', name], name);
  for (const name of Object.keys(spec.traffic?.dns?.members ?? {})) checkMember(['spec', 'traffic', 'dns', 'members', name], name);
  const so = spec.traffic?.secondOpinion;
  if (so === 'witness' && !spec.traffic?.witness) add(['spec', 'traffic', 'secondOpinion'], 'secondOpinion "witness" needs traffic.witness.url: set it, or use "front" (the front HAProxy\'s checks) or "none"');
  if (so === 'front' && !spec.traffic?.haproxy) add(['spec', 'traffic', 'secondOpinion'], 'secondOpinion "front" needs traffic.haproxy (its health checks are the second vantage point): configure it, or use "witness" or "none"');
  const le = spec.leaderElection;
  if (le) {
    checkMember(['spec', 'leaderElection', 'member'], le.member);
    if (parseDuration(le.renewDeadline)! >= parseDuration(le.leaseDuration)!) {
      add(['spec', 'leaderElection', 'renewDeadline'], `renewDeadline ${show(le.renewDeadline)} must be shorter than leaseDuration ${show(le.leaseDuration)}`);
    }
    if (file && le.kubeconfig) {
      const why = readable(resolveFrom(file, le.kubeconfig));
      if (why) add(['spec', 'leaderElection', 'kubeconfig'], `cannot read kubeconfig ${show(le.kubeconfig)}: ${why}`);
    }
  }
  if (spec.source) {
    checkMember(['spec', 'source', 'member'], spec.source.member);
    if (file && spec.source.kubeconfig) {
      const why = readable(resolveFrom(file, spec.source.kubeconfig));
      if (why) add(['spec', 'source', 'kubeconfig'], `cannot read kubeconfig ${show(spec.source.kubeconfig)}: ${why}`);
    }
  }
  for (const issue of checkDay2(spec.day2?.checks ?? [])) add(['spec', 'day2', 'checks', ...issue.path], issue.message);
  checkMetricsSource(spec, known, add);
  const apps = new Map<string, number>();
  spec.apps.forEach((app, i) => {
    const key = `${app.namespace}/${app.name}`;
    if (apps.has(key)) add(['spec', 'apps', i, 'name'], `duplicate app ${show(key)} (also spec.apps[${apps.get(key)}]): namespace/name must be unique`);
    else apps.set(key, i);
    for (const issue of checkApp(app, known)) add(['spec', 'apps', i, ...issue.path], issue.message);
  });
  return issues;
}

/** spec.autoscaling.metrics against the members (and the older spec.prometheus). */
function checkMetricsSource(spec: Federation['spec'], known: readonly string[], add: (path: (string | number)[], message: string) => void): void {
  const m = spec.autoscaling?.metrics;
  if (!m) return;
  const at = ['spec', 'autoscaling', 'metrics'];
  if (spec.prometheus) add(['spec', 'prometheus'], 'give either spec.prometheus.url (the older form) or spec.autoscaling.metrics, not both: move the URL to autoscaling.metrics { source: url, url }');
  if (parseDuration(m.timeout)! <= 0) add([...at, 'timeout'], `timeout ${show(m.timeout)} must be longer than 0`);
  if (m.source !== 'members') return;
  for (const name of Object.keys(m.urls)) if (!known.includes(name)) add([...at, 'urls', name], `unknown member ${show(name)}: known members: ${known.join(', ')}`);
  const missing = known.filter((n) => m.urls[n] === undefined);
  if (missing.length > 0) {
    add([...at, 'urls'], `member${missing.length > 1 ? 's' : ''} ${missing.map(show).join(', ')} ha${missing.length > 1 ? 've' : 's'} no Prometheus URL: source "members" sums every member's Prometheus — add urls.${missing[0]}: <its Prometheus URL>, or use source "url" with one Prometheus or Thanos query URL`);
  }
}

/** Cross-field checks of `spec.day2.checks`; paths are relative to the list. */
export function checkDay2(checks: readonly Day2Check[]): Issue[] {
  const issues: Issue[] = [];
  const seen = new Map<string, number>();
  checks.forEach((c, i) => {
    if (seen.has(c.name)) issues.push({ path: [i, 'name'], message: `duplicate check name ${show(c.name)} (also spec.day2.checks[${seen.get(c.name)}]): names must be unique` });
    else seen.set(c.name, i);
    if (parseDuration(c.timeout)! <= 0) issues.push({ path: [i, 'timeout'], message: `timeout ${show(c.timeout)} must be longer than 0` });
    if (c.kind === 'certExpiry' || c.kind === 'domainExpiry') {
      if (parseDuration(c.warnBefore)! <= parseDuration(c.failBefore)!) {
        issues.push({ path: [i, 'warnBefore'], message: `warnBefore ${show(c.warnBefore)} must be longer than failBefore ${show(c.failBefore)} (the warning comes first): e.g. warnBefore: 720h, failBefore: 168h` });
      }
    }
    if (c.kind === 'backupFreshness' || c.kind === 'etcdSnapshot') {
      if (parseDuration(c.maxAge)! <= 0) issues.push({ path: [i, 'maxAge'], message: `maxAge ${show(c.maxAge)} must be longer than 0` });
      if (c.warnAfter !== undefined && parseDuration(c.warnAfter)! >= parseDuration(c.maxAge)!) {
        issues.push({ path: [i, 'warnAfter'], message: `warnAfter ${show(c.warnAfter)} must be shorter than maxAge ${show(c.maxAge)}: e.g. warnAfter: 25h, maxAge: 26h` });
      }
    }
  });
  return issues;
}

/** Checks one app against the member list; paths are relative to the app. */
export function checkApp(app: App, members: readonly string[]): Issue[] {
  const issues: Issue[] = [];
  const add = (path: (string | number)[], message: string) => issues.push({ path, message });
  const knownText = `known members: ${members.join(', ')}`;
  for (const [name, pc] of Object.entries(app.placement.perCluster)) {
    if (!members.includes(name)) add(['placement', 'perCluster', name], `unknown member ${show(name)} in perCluster: ${knownText}`);
    if (pc.min !== undefined && pc.max !== undefined && pc.min > pc.max) {
      add(['placement', 'perCluster', name, 'min'], `min ${pc.min} is greater than max ${pc.max} for member ${show(name)}: set min ≤ max`);
    }
  }
  (app.placement.clusters ?? []).forEach((name, j) => {
    if (!members.includes(name)) add(['placement', 'clusters', j], `unknown member ${show(name)}: ${knownText}`);
  });
  if (app.autoscale && app.autoscale.min > app.autoscale.max) {
    add(['autoscale', 'min'], `autoscale min ${app.autoscale.min} is greater than max ${app.autoscale.max}: set min ≤ max`);
  }
  const sel = app.template.spec.selector.matchLabels ?? {};
  const podLabels = app.template.spec.template.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(sel)) {
    if (podLabels[k] !== v) add(['template', 'spec', 'selector', 'matchLabels', k], `selector ${k}=${v} does not match the pod template's labels: add it to template.spec.template.metadata.labels`);
  }
  issues.push(...checkCanary(app));
  return issues;
}

/** Cross-field checks of `spec.canary`: it must change something, and name a real container. */
function checkCanary(app: App): Issue[] {
  const c = app.canary;
  if (!c) return [];
  const issues: Issue[] = [];
  const stable = stableVersionOf(app.template.spec.template as PodTemplateLike);
  if (c.version === stable) issues.push({ path: ['canary', 'version'], message: `canary version ${show(c.version)} is the stable pods' version label too: give the canary another one, e.g. "v2"` });
  if (!c.image && !c.template) issues.push({ path: ['canary'], message: 'a canary needs image (a new image for the first container) or template (a whole pod template)' });
  if (c.image && c.template) issues.push({ path: ['canary', 'template'], message: 'give either canary.image or canary.template, not both' });
  const names = (c.template ?? app.template.spec.template).spec.containers.map((x) => x.name);
  if (c.container && !names.includes(c.container)) issues.push({ path: ['canary', 'container'], message: `no container ${show(c.container)} in the template: expected one of ${names.join(', ')}` });
  return issues;
}

/** Reads and validates a Federation file. */
export function loadFederation(file: string, opts: LoadFederationOptions = {}): Promise<LoadResult<Federation>> {
  const checkFiles = opts.checkFiles ?? true;
  return loadYamlFile(FederationSchema, file, { checks: (f) => checkFederation(f, checkFiles ? file : undefined, opts.deferMissingKubeconfigs), what: 'Federation' });
}

export function parseFederation(text: string, file = '<federation>'): LoadResult<Federation> {
  return loadYamlText(FederationSchema, text, file, { checks: (f) => checkFederation(f), what: 'Federation' });
}

/** Loads every `*.yaml|*.yml` FederatedApp document in `dir` (sorted by file name). */
export async function loadAppsDir(dir: string, members: readonly string[]): Promise<LoadResult<App[]>> {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch (err) {
    return { ok: false, errors: [{ file: dir, line: 0, col: 0, path: '(dir)', message: `cannot read apps folder: ${(err as Error).message}` }] };
  }
  const apps: App[] = [];
  const errors: PositionedError[] = [];
  const seen = new Map<string, string>();
  for (const f of files) {
    const path = join(dir, f);
    const r = await loadYamlFile(FederatedAppSchema, path, {
      what: 'FederatedApp',
      checks: (doc) => checkApp(appFromDocument(doc), members).map((i) => ({ path: ['spec', ...i.path], message: i.message })),
    });
    if (!r.ok) {
      errors.push(...r.errors);
      continue;
    }
    const app = appFromDocument(r.value);
    const key = `${app.namespace}/${app.name}`;
    if (seen.has(key)) {
      errors.push({ file: path, line: 1, col: 1, path: 'metadata.name', message: `duplicate app ${show(key)} (also in ${seen.get(key)})` });
      continue;
    }
    seen.set(key, path);
    apps.push(app);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: apps };
}

/** Reads a capacity file (JSON, or YAML) for `plan`. */
export function loadCapacity(file: string, members: readonly string[]): Promise<LoadResult<Capacity>> {
  return loadYamlFile(CapacitySchema, file, {
    what: 'capacity',
    checks: (cap) => {
      const issues: Issue[] = [];
      for (const name of Object.keys(cap.clusters)) {
        if (!members.includes(name)) issues.push({ path: ['clusters', name], message: `unknown member ${show(name)}: known members: ${members.join(', ')}` });
      }
      for (const [app, split] of Object.entries(cap.current)) {
        if (!/^[a-z0-9-]+\/[a-z0-9-]+$/.test(app)) issues.push({ path: ['current', app], message: `${show(app)} is not "namespace/app"` });
        for (const name of Object.keys(split)) {
          if (!members.includes(name)) issues.push({ path: ['current', app, name], message: `unknown member ${show(name)}: known members: ${members.join(', ')}` });
        }
      }
      return issues;
    },
  });
}
