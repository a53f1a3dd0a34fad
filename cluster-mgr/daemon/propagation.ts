// Propagation: what cluster-mgr writes on a member besides the Deployment — the app's namespace
// (once per member and process) and its `propagate` objects copied from the source cluster
// (ConfigMaps and Secrets applied; PVCs created when missing, never modified or deleted).
import { createHash } from 'node:crypto';
import { APP_LABEL, APP_NAMESPACE_LABEL, FIELD_MANAGER, MANAGED_BY, TEMPLATE_HASH } from '../adapters/kube';
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

/** The object to write on a member: name, namespace, labels, annotations and payload — no status, uid, rv, managedFields. */
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
    metadata: { name: m.name, namespace, labels: { ...(m.labels ?? {}), 'flotilla.dev/propagated-by': FIELD_MANAGER }, annotations },
  };
  for (const f of ['data', 'binaryData', 'stringData', 'type', 'immutable']) if (obj[f] !== undefined) out[f] = obj[f];
  if (kind === 'PersistentVolumeClaim') {
    const spec = { ...((obj.spec ?? {}) as Record<string, unknown>) };
    delete spec.volumeName; // bound to the source cluster's PV
    delete spec.dataSource;
    delete spec.dataSourceRef;
    out.spec = spec;
  }
  return out;
}

export class Propagator {
  private readonly namespaces = new Set<string>();

  constructor(private readonly o: Pick<DaemonOptions, 'federation' | 'members' | 'source' | 'log'>) {}

  /** Creates the namespace once per member and process (create only — 409 AlreadyExists is fine — so RBAC needs no patch on namespaces). */
  async ensureNamespace(member: string, api: ClusterApi, namespace: string, signal: AbortSignal): Promise<void> {
    const key = `${member}/${namespace}`;
    if (this.namespaces.has(key)) return;
    await api.write({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, signal);
    this.namespaces.add(key);
  }

  /** Copies the app's propagate objects from the source cluster to `api` (PVCs: create only; never deleted). */
  async propagate(app: App, api: ClusterApi, signal: AbortSignal): Promise<void> {
    const source = this.o.source ?? this.o.members.get(this.o.federation.spec.members[0]!.name)!;
    if (app.propagate.length === 0 || source === api) return;
    await this.ensureNamespace(api.name, api, app.namespace, signal);
    for (const p of app.propagate) {
      const obj = await source.get('v1', p.kind, app.namespace, p.name, signal);
      if (!obj) {
        this.o.log.warn({ app: appKey(app), kind: p.kind, name: p.name }, 'propagate: object not found in the source cluster');
        continue;
      }
      const copy = copyForPropagation(obj, p.kind, app.namespace);
      if (p.kind === 'PersistentVolumeClaim') {
        // PVC spec is immutable once bound: create when missing, never modify or delete.
        const existing = await api.get('v1', p.kind, app.namespace, p.name, signal);
        if (!existing) await api.write(copy, signal);
        continue;
      }
      await api.apply(copy, signal);
    }
  }
}
