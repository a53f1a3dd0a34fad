// FederatedApp custom resources in the host cluster as a third app source (`spec.appSources.crs`).
//
//   Informer (list+watch, relist on 410, capped backoff) on flotilla.dev/v1alpha1 federatedapps
//     ─► appFromCr (same zod schema + cross-field checks as file apps) ─► valid CR apps
//     ─► mergeApps(configured, crApps): the Federation file / --apps DIR win name clashes
//     ─► daemon.setApps(...)
//   A CR that disappears (deleted, or shadowed by a configured app with another Deployment name)
//   → its member Deployments are deleted by the leader (PVCs and propagated objects are never deleted).
import type { Logger } from 'pino';
import { parseDuration } from '../../infra/lib/units';
import { inClusterAvailable } from '../adapters/in-cluster';
import { Informer, KubeClient, sleep, type KubeClientOptions } from '../adapters/kube';
import { checkApp, resolveFrom } from '../config/index';
import { appFromDocument, FederatedAppSchema, type App, type Federation } from '../config/schema';
import { appKey } from '../core/plan';
import type { ClusterApi, KubeObject } from '../contracts/index';
import { canaryName } from '../../infra/lib/canary';
import { deleteCanary } from './canary';

export const FEDERATED_APPS_PATH = '/apis/flotilla.dev/v1alpha1';

export type CrVerdict = { readonly ok: true; readonly app: App } | { readonly ok: false; readonly errors: readonly string[] };

/** Validates one FederatedApp object (as read from the API) exactly like a FederatedApp document. */
export function appFromCr(obj: KubeObject, members: readonly string[]): CrVerdict {
  const m = (obj.metadata ?? {}) as { name?: unknown; namespace?: unknown };
  const doc = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: m.name, namespace: m.namespace }, spec: obj.spec };
  const r = FederatedAppSchema.safeParse(doc);
  if (!r.success) return { ok: false, errors: r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`) };
  const app = appFromDocument(r.data);
  const issues = checkApp(app, members);
  if (issues.length > 0) return { ok: false, errors: issues.map((i) => `spec.${i.path.map(String).join('.')}: ${i.message}`) };
  return { ok: true, app };
}

/** Configured apps (Federation file + --apps DIR) first; a CR app with the same namespace/name is dropped. */
export function mergeApps(configured: readonly App[], crApps: readonly App[]): { apps: App[]; shadowed: string[] } {
  const keys = new Set(configured.map(appKey));
  const apps = [...configured];
  const shadowed: string[] = [];
  for (const a of crApps) {
    if (keys.has(appKey(a))) shadowed.push(appKey(a));
    else apps.push(a);
  }
  return { apps, shadowed };
}

const deploymentName = (app: App): string => app.template.metadata?.name ?? app.name;

interface Seen {
  /** uid/generation the verdict is for (status writes do not bump generation). */
  readonly gen: string;
  readonly verdict: CrVerdict;
  /** Last valid app of this CR: an invalid edit keeps it (a typo must not delete a running app). */
  readonly lastGood?: App;
}

export interface CrAppsOptions {
  /** Client of the host cluster holding the CRs. */
  readonly client: KubeClient;
  /** Only this namespace. @default - every namespace */
  readonly namespace?: string;
  /** Member names (for perCluster / clusters checks). */
  readonly members: readonly string[];
  /** Member APIs: removed apps' Deployments are deleted there. */
  readonly memberApis: ReadonlyMap<string, ClusterApi>;
  /** Apps from the Federation file and --apps DIR (they win name clashes). */
  readonly configured: readonly App[];
  /** Receives the merged app set whenever it changes. */
  readonly setApps: (apps: readonly App[]) => void;
  /** Only the leader writes (status conditions, Deployment deletion). */
  readonly isLeader: () => boolean;
  readonly log: Logger;
  /** Garbage-collection pass period (ms). @default 1000 */
  readonly intervalMs?: number;
}

/** Watches FederatedApp CRs and keeps the daemon's app set in step with them. */
export class CrApps {
  private readonly informer: Informer;
  private readonly seen = new Map<string, Seen>();
  private configured: readonly App[];
  private crApps = new Map<string, App>();
  /** Apps whose Deployments must go: key → app (its namespace and Deployment name), clean passes so far. */
  private readonly removing = new Map<string, { app: App; clean: number }>();
  private lastShadowed = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly statusInFlight = new Set<string>();
  private stopped: AbortSignal | undefined;

  constructor(private readonly o: CrAppsOptions) {
    this.configured = o.configured;
    const path = `${FEDERATED_APPS_PATH}${o.namespace ? `/namespaces/${encodeURIComponent(o.namespace)}` : ''}/federatedapps`;
    this.informer = new Informer(o.client, path, '', () => this.onChange(), 'federatedapps');
  }

  get synced(): boolean {
    return this.informer.synced;
  }

  start(signal: AbortSignal): Promise<void> {
    this.stopped = signal;
    signal.addEventListener('abort', () => clearTimeout(this.timer), { once: true });
    const gc = (async () => {
      while (!signal.aborted) {
        await sleep(this.o.intervalMs ?? 1000, signal);
        if (!signal.aborted) await this.collect(signal);
      }
    })();
    return Promise.all([this.informer.run(signal), gc]).then(() => undefined);
  }

  /** New Federation-file + --apps DIR apps (the folder was reloaded). */
  setConfigured(apps: readonly App[]): void {
    this.configured = apps;
    this.publish();
  }

  /** Informer change: coalesce bursts (a relist fires once per item). */
  private onChange(): void {
    if (this.timer || this.stopped?.aborted) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.recompute();
    }, 50);
  }

  private recompute(): void {
    const next = new Map<string, App>();
    const present = new Set<string>();
    for (const obj of this.informer.list()) {
      const meta = obj.metadata as { name: string; namespace: string; uid?: string; generation?: number };
      const key = `${meta.namespace}/${meta.name}`;
      present.add(key);
      const gen = `${meta.uid ?? ''}/${meta.generation ?? JSON.stringify(obj.spec)}`;
      let seen = this.seen.get(key);
      if (!seen || seen.gen !== gen) {
        const verdict = appFromCr(obj, this.o.members);
        const sameObject = seen && seen.gen.split('/')[0] === (meta.uid ?? '');
        const lastGood = verdict.ok ? verdict.app : sameObject ? seen!.lastGood : undefined;
        seen = { gen, verdict, ...(lastGood ? { lastGood } : {}) };
        this.seen.set(key, seen);
        if (!verdict.ok) {
          this.o.log.warn(
            { federatedApp: key, generation: meta.generation, errors: verdict.errors, keeping: lastGood ? 'the last valid spec' : 'nothing (skipped)' },
            `FederatedApp ${key} is invalid; ${lastGood ? 'keeping its last valid spec' : 'skipped'}`,
          );
        }
        void this.writeStatus(obj, verdict);
      }
      const app = seen.verdict.ok ? seen.verdict.app : seen.lastGood;
      if (app) next.set(key, app);
    }
    for (const key of [...this.seen.keys()]) if (!present.has(key)) this.seen.delete(key);
    const before = this.crApps;
    this.crApps = next;
    for (const [key, app] of before) {
      const now = next.get(key);
      if (!now || deploymentName(now) !== deploymentName(app)) {
        this.o.log.info({ federatedApp: key }, now ? 'FederatedApp renamed its Deployment; removing the old one' : 'FederatedApp CR deleted; removing its Deployments');
        this.removing.set(`${app.namespace}/${deploymentName(app)}`, { app, clean: 0 });
      }
    }
    this.publish();
  }

  private publish(): void {
    const { apps, shadowed } = mergeApps(this.configured, [...this.crApps.values()]);
    const text = shadowed.sort().join(',');
    if (text !== this.lastShadowed && shadowed.length > 0) {
      this.o.log.warn({ apps: shadowed }, 'FederatedApp CRs shadowed by apps of the same namespace/name in the Federation file or --apps folder (the file wins)');
    }
    this.lastShadowed = text;
    // A Deployment an app still owns is never removed (e.g. a CR deleted while a file app of the same name remains).
    for (const a of apps) this.removing.delete(`${a.namespace}/${deploymentName(a)}`);
    this.o.setApps(apps);
  }

  /** Deletes the Deployments of removed CR apps on every member (leader only), until none is left. */
  private async collect(signal: AbortSignal): Promise<void> {
    if (this.removing.size === 0 || !this.o.isLeader()) return;
    for (const [depKey, entry] of [...this.removing]) {
      const { app } = entry;
      let left = false;
      for (const api of this.o.memberApis.values()) {
        if (!api.synced()) {
          left = true;
          continue;
        }
        const d = api.findOwned(app.namespace, deploymentName(app));
        if (!d || d.app !== appKey(app)) continue;
        left = true;
        try {
          await api.delete('apps/v1', 'Deployment', app.namespace, deploymentName(app), AbortSignal.any([signal, AbortSignal.timeout(10_000)]));
          if (api.findOwned(app.namespace, canaryName(deploymentName(app)))) await deleteCanary(api, app, AbortSignal.any([signal, AbortSignal.timeout(10_000)]));
          this.o.log.info({ app: appKey(app), member: api.name, deployment: deploymentName(app) }, 'deleted the Deployment of a removed FederatedApp');
        } catch (err) {
          this.o.log.warn({ app: appKey(app), member: api.name, err: (err as Error).message }, 'deleting the Deployment of a removed FederatedApp failed; retrying');
        }
      }
      // Two clean passes in a row: an in-flight reconcile that re-applied it would have shown up by then.
      if (this.removing.get(depKey) !== entry) continue;
      entry.clean = left ? 0 : entry.clean + 1;
      if (entry.clean >= 2) this.removing.delete(depKey);
    }
  }

  /** A `Valid` condition in the CR's status (leader only; best effort, skipped when unchanged). */
  private async writeStatus(obj: KubeObject, verdict: CrVerdict): Promise<void> {
    if (!this.o.isLeader()) return;
    const meta = obj.metadata as { name: string; namespace: string; generation?: number };
    const status = verdict.ok ? 'True' : 'False';
    const message = verdict.ok ? 'spec is valid; cluster-mgr manages this app' : verdict.errors.join('; ').slice(0, 1000);
    const conds = ((obj.status as { conditions?: { type: string; status: string; message?: string; observedGeneration?: number }[] } | undefined)?.conditions ?? []);
    const cur = conds.find((c) => c.type === 'Valid');
    if (cur && cur.status === status && cur.message === message && cur.observedGeneration === meta.generation) return;
    const key = `${meta.namespace}/${meta.name}`;
    if (this.statusInFlight.has(key)) return;
    this.statusInFlight.add(key);
    const condition = {
      type: 'Valid',
      status,
      reason: verdict.ok ? 'Valid' : 'InvalidSpec',
      message,
      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      ...(meta.generation !== undefined ? { observedGeneration: meta.generation } : {}),
    };
    try {
      const path = `${FEDERATED_APPS_PATH}/namespaces/${encodeURIComponent(meta.namespace)}/federatedapps/${encodeURIComponent(meta.name)}/status`;
      await this.o.client.json('PATCH', path, { body: { status: { conditions: [...conds.filter((c) => c.type !== 'Valid'), condition] } }, contentType: 'application/merge-patch+json' });
    } catch (err) {
      this.o.log.debug({ federatedApp: key, err: (err as Error).message }, 'FederatedApp status update failed (ignored)');
    } finally {
      this.statusInFlight.delete(key);
    }
  }
}

export interface CreateCrAppsOptions {
  readonly federation: Federation;
  readonly configFile: string;
  /** Apps from the Federation file and --apps DIR. */
  readonly configured: readonly App[];
  readonly memberApis: ReadonlyMap<string, ClusterApi>;
  readonly log: Logger;
  readonly timeoutMs: number;
  /** 401/403 reporting (daemon/rbac-errors.ts). */
  readonly onAuthError?: KubeClientOptions['onAuthError'];
}

/** What the CR source drives: the daemon. */
export interface CrAppsTarget {
  setApps(apps: readonly App[]): void;
  isLeader(): boolean;
  readonly signal: AbortSignal;
}

/**
 * The host cluster of `spec.appSources.crs`: its own kubeconfig, else its member, else the
 * leaderElection host (kubeconfig or member), else the first member.
 */
export function crHost(fed: Federation, configFile: string, inCluster = inClusterAvailable()): { name: string; kubeconfig: string; context?: string; inCluster?: true } {
  const crs = fed.spec.appSources?.crs;
  const le = fed.spec.leaderElection;
  if (crs?.kubeconfig) return { name: 'cr-host', kubeconfig: resolveFrom(configFile, crs.kubeconfig) };
  if (!crs?.member && le?.inCluster && inCluster) return { name: 'cr-host', kubeconfig: '(in-cluster)', inCluster: true };
  if (!crs?.member && le?.kubeconfig) return { name: 'cr-host', kubeconfig: resolveFrom(configFile, le.kubeconfig) };
  const name = crs?.member ?? le?.member ?? fed.spec.members[0]!.name;
  const m = fed.spec.members.find((x) => x.name === name) ?? fed.spec.members[0]!;
  return { name: m.name, kubeconfig: resolveFrom(configFile, m.kubeconfig), ...(m.context ? { context: m.context } : {}) };
}

/**
 * The CR app source when `spec.appSources.crs` is set (else undefined). Loads the host kubeconfig
 * now, so a bad one fails startup before anything runs; `start(daemon)` begins watching.
 */
export function createCrApps(o: CreateCrAppsOptions): { start(target: CrAppsTarget): CrApps } | undefined {
  const crs = o.federation.spec.appSources?.crs;
  if (!crs) return undefined;
  const host = crHost(o.federation, o.configFile);
  const kubeLog = (level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => o.log[level](fields ?? {}, msg);
  let client: KubeClient;
  try {
    client = new KubeClient({ ...host, timeoutMs: o.timeoutMs, log: kubeLog, ...(o.onAuthError ? { onAuthError: o.onAuthError } : {}) });
  } catch (err) {
    throw new Error(`spec.appSources.crs: cannot use the host cluster's kubeconfig ${host.kubeconfig}: ${(err as Error).message}`);
  }
  return {
    start(target) {
      const source = new CrApps({
        client,
        ...(crs.namespace ? { namespace: crs.namespace } : {}),
        members: o.federation.spec.members.map((m) => m.name),
        memberApis: o.memberApis,
        configured: o.configured,
        setApps: (apps) => target.setApps(apps),
        isLeader: () => target.isLeader(),
        log: o.log,
        intervalMs: parseDuration(o.federation.spec.health.interval)!,
      });
      o.log.info({ host: host.name, namespace: crs.namespace ?? '(all)' }, 'watching FederatedApp CRs');
      void source.start(target.signal);
      return source;
    },
  };
}
