// Propagation: what cluster-mgr writes on a member besides the Deployment — the app's namespace and
// its `propagate` objects copied from the source cluster, kept in line with the source (Propagator).
import { createHash } from 'node:crypto';
import { APP_LABEL, APP_NAMESPACE_LABEL, CLUSTER_SCOPED, FIELD_MANAGER, MANAGED_BY, TEMPLATE_HASH } from '../adapters/kube';
import type { App } from '../config/schema';
import type { ClusterApi, KubeObject } from '../contracts/index';
import { appKey } from '../core/plan';
import { memberTemplate } from './canary';
import { deploymentName, type DaemonOptions } from './context';

export function templateHash(app: App): string {
  return createHash('sha256').update(JSON.stringify([memberTemplate(app), app.namespace])).digest('hex').slice(0, 16);
}

/** The Deployment cluster-mgr applies on a member for `app` with `replicas`. */
export function deploymentFor(app: App, replicas: number, hash: string, federation: string): KubeObject {
  const t = memberTemplate(app);
  const meta = t.metadata ?? {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentName(app),
      namespace: app.namespace,
      labels: { ...(meta.labels ?? {}), [MANAGED_BY]: FIELD_MANAGER, [APP_LABEL]: app.name, [APP_NAMESPACE_LABEL]: app.namespace },
      annotations: { ...(meta.annotations ?? {}), [TEMPLATE_HASH]: hash, 'flotilla.dev/federation': federation },
    },
    spec: { ...t.spec, replicas },
  };
}

/** Kinds whose copies are created once and never modified nor deleted by cluster-mgr (data; their specs are immutable once bound). */
export const CREATE_ONLY: ReadonlySet<string> = new Set(['PersistentVolumeClaim', 'PersistentVolume']);

/**
 * The object to write on a member: name, namespace (none for a PersistentVolume), labels, annotations
 * and payload — no status, uid, rv, managedFields, nor what the source cluster allocated or bound:
 *   - PersistentVolumeClaim: no volumeName (the source's PV), dataSource(Ref);
 *   - PersistentVolume: claimRef kept as namespace/name only (pre-bound to the copied claim, not to the
 *     source's uid); reclaim policy Retain — a copy never owns the data behind it;
 *   - Service: no clusterIP/clusterIPs (except a headless Service's "None", which is intent), no
 *     nodePorts nor healthCheckNodePort, no ipFamilies — the member allocates its own.
 */
export function copyForPropagation(obj: KubeObject, kind: string, namespace: string): KubeObject {
  const m = (obj.metadata ?? {}) as { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  const annotations = { ...(m.annotations ?? {}) };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  delete annotations['pv.kubernetes.io/bind-completed'];
  delete annotations['pv.kubernetes.io/bound-by-controller'];
  delete annotations['volume.kubernetes.io/selected-node'];
  const out: KubeObject = {
    apiVersion: 'v1',
    kind,
    metadata: { name: m.name, ...(CLUSTER_SCOPED.has(kind) ? {} : { namespace }), labels: { ...(m.labels ?? {}), 'flotilla.dev/propagated-by': FIELD_MANAGER }, annotations },
  };
  for (const f of ['data', 'binaryData', 'stringData', 'type', 'immutable']) if (obj[f] !== undefined) out[f] = obj[f];
  const spec = { ...((obj.spec ?? {}) as Record<string, unknown>) };
  if (kind === 'PersistentVolumeClaim') {
    delete spec.volumeName; // bound to the source cluster's PV
    delete spec.dataSource;
    delete spec.dataSourceRef;
    out.spec = spec;
  } else if (kind === 'PersistentVolume') {
    const ref = spec.claimRef as { namespace?: string; name?: string } | undefined;
    if (ref?.name) spec.claimRef = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', ...(ref.namespace ? { namespace: ref.namespace } : {}), name: ref.name };
    else delete spec.claimRef;
    spec.persistentVolumeReclaimPolicy = 'Retain';
    out.spec = spec;
  } else if (kind === 'Service') {
    if (spec.clusterIP !== 'None') delete spec.clusterIP;
    delete spec.clusterIPs;
    delete spec.healthCheckNodePort;
    delete spec.ipFamilies;
    if (Array.isArray(spec.ports)) {
      spec.ports = (spec.ports as Record<string, unknown>[]).map((p) => {
        const { nodePort: _, ...rest } = p;
        return rest;
      });
    }
    out.spec = spec;
  }
  return out;
}

/** The copy's key: `kind/namespace/name`, namespace '' for a cluster-scoped kind. */
const objKey = (kind: string, namespace: string, name: string): string => `${kind}/${CLUSTER_SCOPED.has(kind) ? '' : namespace}/${name}`;
const rvOf = (o: KubeObject): string => String((o.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? '');

/**
 * Keeps members' copies of apps' `propagate` objects equal to the source: applied before the
 * Deployment, re-applied when the source's resourceVersion changes (the source is watched when its
 * ClusterApi can: `watchSource`), deleted from members when the source object or the app's
 * `propagate` entry goes away — PVCs and PVs excepted: created when missing, never modified nor
 * deleted (data; a failover never touches them either). Services are applied like ConfigMaps. Namespaces are
 * re-asserted whenever the app's Deployment is missing on a member (a namespace deleted by hand
 * takes its Deployment with it, so it comes back on the next reconcile).
 */
export class Propagator {
  private readonly namespaces = new Set<string>();
  /** member|appKey → object key → the source resourceVersion last written there. */
  private readonly applied = new Map<string, Map<string, string>>();

  constructor(private readonly o: Pick<DaemonOptions, 'federation' | 'members' | 'source' | 'log'>) {}

  get source(): ClusterApi {
    return this.o.source ?? this.o.members.get(this.o.federation.spec.members[0]!.name)!;
  }

  /**
   * Creates the namespace (create only — 409 AlreadyExists is fine — so member RBAC needs no patch on
   * namespaces); cached per member unless `recheck`. When a recheck finds the namespace gone and
   * creates it again, every copy in it is written again. (Only then: clearing on every recheck made
   * each app that starts in a namespace re-write every other app's copies there — at 50 apps per
   * namespace, thousands of PATCHes long after start-up.)
   */
  async ensureNamespace(member: string, api: ClusterApi, namespace: string, signal: AbortSignal, recheck = false): Promise<void> {
    const key = `${member}/${namespace}`;
    if (this.namespaces.has(key) && !recheck) return;
    const created = await api.write({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, signal);
    if (created && this.namespaces.has(key)) {
      for (const [k, m] of this.applied) if (k.startsWith(`${member}|`)) for (const ok of [...m.keys()]) if (ok.split('/')[1] === namespace) m.delete(ok);
    }
    this.namespaces.add(key);
  }

  private async sourceObject(kind: string, namespace: string, name: string, signal: AbortSignal): Promise<KubeObject | undefined> {
    const src = this.source;
    const cached = src.sourceObject?.(kind, namespace, name);
    if (cached !== undefined) return cached ?? undefined;
    return src.get('v1', kind, CLUSTER_SCOPED.has(kind) ? undefined : namespace, name, signal);
  }

  /**
   * Brings `api`'s copies of the app's propagate objects in line with the source (see the class
   * comment). Writes nothing when every copy is at the source's resourceVersion; `verify`: reads the
   * copies first (the app's Deployment is missing on that member).
   */
  async sync(app: App, api: ClusterApi, signal: AbortSignal, o: { verify?: boolean } = {}): Promise<void> {
    if (api === this.source) return;
    const mk = `${api.name}|${appKey(app)}`;
    const done = this.applied.get(mk) ?? new Map<string, string>();
    this.applied.set(mk, done);
    if (o.verify) {
      // The app's Deployment is missing there (deleted, or its namespace was): copies believed written
      // are checked, and written again when gone.
      for (const k of [...done.keys()]) {
        const [kind, ns, name] = k.split('/') as [string, string, string];
        if (!(await api.get('v1', kind, ns || undefined, name, signal))) done.delete(k);
      }
    }
    const wanted = new Set(app.propagate.map((p) => objKey(p.kind, app.namespace, p.name)));
    // Removed from the app: delete the copies (never PVCs).
    for (const k of [...done.keys()]) {
      if (wanted.has(k)) continue;
      const [kind, ns, name] = k.split('/') as [string, string, string];
      if (!CREATE_ONLY.has(kind)) await api.delete('v1', kind, ns, name, signal);
      done.delete(k);
      this.o.log.info({ app: appKey(app), member: api.name, kind, name }, 'propagate: removed from the app; copy deleted');
    }
    if (app.propagate.length === 0) return;
    await this.ensureNamespace(api.name, api, app.namespace, signal);
    for (const p of app.propagate) {
      const k = objKey(p.kind, app.namespace, p.name);
      const obj = await this.sourceObject(p.kind, app.namespace, p.name, signal);
      if (!obj) {
        if (done.has(k)) {
          if (!CREATE_ONLY.has(p.kind)) await api.delete('v1', p.kind, app.namespace, p.name, signal);
          done.delete(k);
          this.o.log.info({ app: appKey(app), member: api.name, kind: p.kind, name: p.name }, 'propagate: deleted at the source; copy deleted');
        } else {
          this.o.log.warn({ app: appKey(app), kind: p.kind, name: p.name }, 'propagate: object not found in the source cluster');
        }
        continue;
      }
      const rv = rvOf(obj);
      if (rv && done.get(k) === rv) continue;
      const copy = copyForPropagation(obj, p.kind, app.namespace);
      if (CREATE_ONLY.has(p.kind)) {
        // PVC and PV specs are immutable once bound: create when missing, never modify or delete.
        const existing = await api.get('v1', p.kind, CLUSTER_SCOPED.has(p.kind) ? undefined : app.namespace, p.name, signal);
        if (!existing) await api.write(copy, signal);
      } else {
        await api.apply(copy, signal);
      }
      this.o.log.info({ app: appKey(app), member: api.name, kind: p.kind, name: p.name, resourceVersion: rv, was: done.get(k) ?? null }, 'propagate: copy written');
      done.set(k, rv);
    }
  }
}
