// Which apps an informer event concerns (issue 11, queue discipline): the daemon requeues only those
// keys. Pure, over small descriptions of apps, pods and nodes.
//
//   pod event   → the app that owns the pod: its ReplicaSet's Deployment (owner reference, name minus
//                 the pod-template-hash), else the apps in its namespace whose selector matches its
//                 labels; a pod of no app requeues nothing.
//   node event  → nothing unless something the scheduler filters on changed (Ready, cordon, taints,
//                 labels, allocatable) — status heartbeats are not capacity; then the apps whose
//                 placement admits the node before or after the change.
//
// What is NOT requeued by an event, and why that is enough: a pod of app A also changes the free room
// that app B's capacity split reads. B's split is recomputed by the periodic resync (every
// health.interval, which never cuts a failure backoff short), so B follows within one interval; only
// the app whose own pods moved (Pending → the share moves within one pass) needs it at once.
import { nodeAdmits, placementKey, selectorMatches, type LabelSelector, type NodeSnapshot, type PodPlacement } from './scheduling';

/** What the mapping needs of one app. */
export interface AppRoute {
  /** Work-queue key `namespace/name`. */
  readonly key: string;
  readonly namespace: string;
  /** Names of the Deployments cluster-mgr writes for it on a member (stable, canary). */
  readonly deployments: readonly string[];
  /** The pod selector of its Deployment template. */
  readonly selector: LabelSelector;
  /** The pod spec's placement fields (core/scheduling placementOf). */
  readonly placement: PodPlacement;
}

export interface OwnerRef {
  readonly kind?: string;
  readonly name?: string;
  readonly controller?: boolean;
}

/** The parts of a pod the mapping reads. */
export interface PodRef {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerRef[];
}

/**
 * The Deployment a pod belongs to, from its controlling ReplicaSet: the ReplicaSet is named
 * `<deployment>-<pod-template-hash>` and the pod carries that hash as a label. Undefined otherwise.
 */
export function podDeployment(pod: PodRef): string | undefined {
  const hash = pod.labels['pod-template-hash'];
  if (!hash) return undefined;
  const rs = (pod.ownerReferences ?? []).find((o) => o.kind === 'ReplicaSet' && o.controller !== false);
  const name = rs?.name;
  if (!name || !name.endsWith(`-${hash}`) || name.length <= hash.length + 1) return undefined;
  return name.slice(0, -(hash.length + 1));
}

const sameRecord = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || a[k] !== b[k]) return false;
  return true;
};

/** Whether anything the scheduler filters on (or the fit reads) differs between two snapshots of a node. */
export function nodeSchedulingChanged(before: NodeSnapshot | undefined, after: NodeSnapshot | undefined): boolean {
  if (!before || !after) return before !== after;
  if (before.ready !== after.ready || before.unschedulable !== after.unschedulable) return true;
  const a = before.allocatable;
  const b = after.allocatable;
  if (a.cpu !== b.cpu || a.memory !== b.memory || a.pods !== b.pods) return true;
  if (!sameRecord(before.labels, after.labels)) return true;
  if (before.taints.length !== after.taints.length) return true;
  return before.taints.some((t, i) => {
    const u = after.taints[i]!;
    return t.key !== u.key || (t.value ?? '') !== (u.value ?? '') || t.effect !== u.effect;
  });
}

/** Maps events to the keys of the apps they concern; build once per app set. */
export class EventRoutes {
  private readonly byDeployment = new Map<string, string>();
  private readonly byNamespace = new Map<string, AppRoute[]>();
  /** Apps grouped by placement (apps share few placements): the node filter runs once per group. */
  private readonly byPlacement = new Map<string, { placement: PodPlacement; keys: string[] }>();

  constructor(apps: Iterable<AppRoute>) {
    for (const a of apps) {
      for (const d of a.deployments) this.byDeployment.set(`${a.namespace}/${d}`, a.key);
      const list = this.byNamespace.get(a.namespace);
      if (list) list.push(a);
      else this.byNamespace.set(a.namespace, [a]);
      const pk = placementKey(a.placement);
      const group = this.byPlacement.get(pk);
      if (group) group.keys.push(a.key);
      else this.byPlacement.set(pk, { placement: a.placement, keys: [a.key] });
    }
  }

  /** The app owning the pod (by owner, else by selector): usually one key, none for a pod of no app. */
  forPod(pod: PodRef): string[] {
    const dep = podDeployment(pod);
    const owner = dep === undefined ? undefined : this.byDeployment.get(`${pod.namespace}/${dep}`);
    if (owner !== undefined) return [owner];
    const out: string[] = [];
    for (const a of this.byNamespace.get(pod.namespace) ?? []) if (selectorMatches(a.selector, pod.labels)) out.push(a.key);
    return out;
  }

  /** The apps a node change concerns (see the file header); none when nothing scheduling-relevant changed. */
  forNode(before: NodeSnapshot | undefined, after: NodeSnapshot | undefined): string[] {
    if (!nodeSchedulingChanged(before, after)) return [];
    const out: string[] = [];
    for (const { placement, keys } of this.byPlacement.values()) {
      if ((before && nodeAdmits(before, placement)) || (after && nodeAdmits(after, placement))) out.push(...keys);
    }
    return out;
  }
}
