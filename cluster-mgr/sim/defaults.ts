// API-server defaulting and the few validations that matter for the simulated kinds, so objects read
// back look like a real cluster's (kubectl describe shows StrategyType, pods have imagePullPolicy …).
import { invalid } from './errors';
import { deepEqual } from './patch';
import { pruneFederatedApp } from './crd-schema';
import type { ResourceType } from './resources';
import { selectorMatches, type KObject } from './selectors';

function podSpecDefaults(spec: KObject | undefined): void {
  if (!spec || typeof spec !== 'object') return;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const c of (Array.isArray(spec.containers) ? spec.containers : []) as KObject[]) {
    if (!c || typeof c !== 'object') continue;
    const image = String(c.image ?? '');
    const tag = image.includes('@') ? 'digest' : (/:([^/:]+)$/.exec(image)?.[1] ?? 'latest');
    c.imagePullPolicy ??= tag === 'latest' ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
  }
}

/** Fills server-side defaults in place. */
export function applyDefaults(res: ResourceType, obj: KObject): void {
  // Go's omitempty: empty label/annotation maps are not stored.
  for (const k of ['labels', 'annotations'])
    if (obj.metadata?.[k] && typeof obj.metadata[k] === 'object' && Object.keys(obj.metadata[k]).length === 0) delete obj.metadata[k];
  switch (res.kind) {
    case 'Secret':
      obj.type ??= 'Opaque';
      break;
    case 'Pod':
      podSpecDefaults(obj.spec);
      break;
    case 'PersistentVolumeClaim':
      if (obj.spec && typeof obj.spec === 'object') obj.spec.volumeMode ??= 'Filesystem';
      break;
    case 'Deployment':
    case 'ReplicaSet': {
      if (!obj.spec || typeof obj.spec !== 'object') return;
      const s = obj.spec;
      s.replicas ??= 1;
      s.revisionHistoryLimit ??= 10;
      if (res.kind === 'Deployment') {
        s.progressDeadlineSeconds ??= 600;
        s.strategy ??= { type: 'RollingUpdate' };
        if (s.strategy.type === 'RollingUpdate') s.strategy.rollingUpdate ??= { maxUnavailable: '25%', maxSurge: '25%' };
      }
      podSpecDefaults(s.template?.spec);
      break;
    }
    case 'FederatedApp':
      // Unknown fields are pruned (the CRD's structural schema), then its defaults are filled.
      pruneFederatedApp(obj);
      if (!obj.spec || typeof obj.spec !== 'object') return;
      if (obj.spec.placement && typeof obj.spec.placement === 'object') obj.spec.placement.spread ??= 'capacity';
      if (obj.spec.autoscale && typeof obj.spec.autoscale === 'object') obj.spec.autoscale.interval ??= '30s';
      break;
  }
}

/** 422 Invalid for updates the real server refuses: apps/v1 Deployment and ReplicaSet selectors are immutable. */
export function validateUpdate(res: ResourceType, old: KObject, next: KObject): void {
  if ((res.kind === 'Deployment' || res.kind === 'ReplicaSet') && !deepEqual(old.spec?.selector, next.spec?.selector))
    throw invalid(res, String(next.metadata?.name ?? ''), 'spec.selector', `Invalid value: ${JSON.stringify(next.spec?.selector ?? null)}: field is immutable`);
}

/** 422 Invalid for the mistakes a real server rejects and the simulator can check cheaply. */
export function validate(res: ResourceType, obj: KObject): void {
  const name = String(obj.metadata?.name ?? '');
  if (res.kind === 'Deployment' || res.kind === 'ReplicaSet') {
    const s = obj.spec;
    if (!s || typeof s !== 'object') throw invalid(res, name, 'spec', 'Required value');
    if (!s.selector || typeof s.selector !== 'object') throw invalid(res, name, 'spec.selector', 'Required value');
    if (!Object.keys(s.selector.matchLabels ?? {}).length && !(s.selector.matchExpressions ?? []).length)
      throw invalid(res, name, 'spec.selector', 'Invalid value: "null": empty selector is invalid for deployment');
    if (!selectorMatches(s.selector, s.template?.metadata?.labels))
      throw invalid(res, name, 'spec.template.metadata.labels', `Invalid value: ${JSON.stringify(s.template?.metadata?.labels ?? {})}: \`selector\` does not match template \`labels\``);
    if (!Array.isArray(s.template?.spec?.containers) || s.template.spec.containers.length === 0)
      throw invalid(res, name, 'spec.template.spec.containers', 'Required value');
    if (s.replicas !== undefined && (!Number.isInteger(s.replicas) || s.replicas < 0))
      throw invalid(res, name, 'spec.replicas', `Invalid value: ${JSON.stringify(s.replicas)}: must be greater than or equal to 0`);
  }
  if (res.kind === 'FederatedApp') validateFederatedApp(res, name, obj);
  if (res.kind === 'Pod' && (!Array.isArray(obj.spec?.containers) || obj.spec.containers.length === 0))
    throw invalid(res, name, 'spec.containers', 'Required value');
}

const isObj = (v: unknown): v is KObject => !!v && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * The FederatedApp CRD's openAPIV3Schema, as the real server enforces it (types, required, enums,
 * minimums). Unknown fields were pruned before (applyDefaults).
 */
function validateFederatedApp(res: ResourceType, name: string, obj: KObject): void {
  const bad = (path: string, msg: string) => invalid(res, name, path, msg);
  const s = obj.spec;
  if (!isObj(s)) throw bad('spec', 'Required value');
  if (s.replicas === undefined) throw bad('spec.replicas', 'Required value');
  if (!isCount(s.replicas)) throw bad('spec.replicas', `Invalid value: ${JSON.stringify(s.replicas)}: spec.replicas in body must be a whole number greater than or equal to 0`);
  const t = s.template;
  if (!isObj(t)) throw bad('spec.template', 'Required value');
  for (const f of ['apiVersion', 'kind', 'metadata', 'spec']) if (t[f] === undefined) throw bad(`spec.template.${f}`, 'Required value');
  if (t.apiVersion !== 'apps/v1') throw bad('spec.template.apiVersion', `Unsupported value: ${JSON.stringify(t.apiVersion)}: supported values: "apps/v1"`);
  if (t.kind !== 'Deployment') throw bad('spec.template.kind', `Unsupported value: ${JSON.stringify(t.kind)}: supported values: "Deployment"`);
  if (!isObj(t.metadata)) throw bad('spec.template.metadata', `Invalid value: ${JSON.stringify(typeof t.metadata)}: must be of type object`);
  if (!isObj(t.spec)) throw bad('spec.template.spec', `Invalid value: ${JSON.stringify(typeof t.spec)}: must be of type object`);
  const p = s.placement;
  if (p !== undefined) {
    if (!isObj(p)) throw bad('spec.placement', 'must be of type object');
    if (!['capacity', 'weighted', 'duplicate'].includes(p.spread)) throw bad('spec.placement.spread', `Unsupported value: ${JSON.stringify(p.spread)}: supported values: "capacity", "weighted", "duplicate"`);
    if (p.clusterSelector !== undefined && (!isObj(p.clusterSelector) || Object.values(p.clusterSelector).some((v) => typeof v !== 'string')))
      throw bad('spec.placement.clusterSelector', 'must be a map of strings');
    if (p.perCluster !== undefined) {
      if (!isObj(p.perCluster)) throw bad('spec.placement.perCluster', 'must be of type object');
      for (const [m, b] of Object.entries(p.perCluster)) {
        if (!isObj(b)) throw bad(`spec.placement.perCluster.${m}`, 'must be of type object');
        for (const f of ['min', 'max', 'weight']) if (b[f] !== undefined && !isCount(b[f])) throw bad(`spec.placement.perCluster.${m}.${f}`, `Invalid value: ${JSON.stringify(b[f])}: must be a whole number greater than or equal to 0`);
      }
    }
  }
  const a = s.autoscale;
  if (a !== undefined) {
    if (!isObj(a)) throw bad('spec.autoscale', 'must be of type object');
    for (const f of ['query', 'targetPerReplica', 'min', 'max']) if (a[f] === undefined) throw bad(`spec.autoscale.${f}`, 'Required value');
    if (typeof a.query !== 'string' || a.query === '') throw bad('spec.autoscale.query', 'must be a non-empty string');
    if (typeof a.targetPerReplica !== 'number' || !(a.targetPerReplica > 0)) throw bad('spec.autoscale.targetPerReplica', `Invalid value: ${JSON.stringify(a.targetPerReplica)}: must be greater than 0`);
    if (!isCount(a.min)) throw bad('spec.autoscale.min', `Invalid value: ${JSON.stringify(a.min)}: must be a whole number greater than or equal to 0`);
    if (!isCount(a.max) || a.max < 1) throw bad('spec.autoscale.max', `Invalid value: ${JSON.stringify(a.max)}: must be a whole number greater than or equal to 1`);
    if (typeof a.interval !== 'string' || !/^[0-9]+(ms|s|m|h)$/.test(a.interval)) throw bad('spec.autoscale.interval', `Invalid value: ${JSON.stringify(a.interval)}: must match '^[0-9]+(ms|s|m|h)$'`);
  }
  if (s.propagate !== undefined) {
    if (!Array.isArray(s.propagate)) throw bad('spec.propagate', 'must be of type array');
    s.propagate.forEach((it: unknown, i: number) => {
      if (!isObj(it)) throw bad(`spec.propagate[${i}]`, 'must be of type object');
      if (!['ConfigMap', 'Secret', 'PersistentVolumeClaim'].includes(it.kind)) throw bad(`spec.propagate[${i}].kind`, `Unsupported value: ${JSON.stringify(it.kind)}: supported values: "ConfigMap", "Secret", "PersistentVolumeClaim"`);
      if (typeof it.name !== 'string' || it.name === '') throw bad(`spec.propagate[${i}].name`, 'Required value');
    });
  }
}
