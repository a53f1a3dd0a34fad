// API-server defaulting and the few validations that matter for the simulated kinds, so objects read
// back look like a real cluster's (kubectl describe shows StrategyType, pods have imagePullPolicy …).
import { invalid } from './errors';
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
  }
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
  if (res.kind === 'Pod' && (!Array.isArray(obj.spec?.containers) || obj.spec.containers.length === 0))
    throw invalid(res, name, 'spec.containers', 'Required value');
}
