// Where an app's pods may land on a member, by the scheduler's filter rules — pure, over a snapshot
// of the member's nodes (from informers in the daemon, from the capacity file in `cluster-mgr plan`):
//   - NotReady nodes are out; a cordoned node (spec.unschedulable) is out unless the pod tolerates
//     `node.kubernetes.io/unschedulable:NoSchedule` (as the NodeUnschedulable plugin does);
//   - taints with effect NoSchedule or NoExecute must be tolerated (PreferNoSchedule is a preference);
//   - spec.nodeSelector must match the node's labels;
//   - affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution: one nodeSelectorTerm
//     (matchExpressions In/NotIn/Exists/DoesNotExist/Gt/Lt, matchFields metadata.name) must match.
// Plus: which Pending pods belong to an app (label selector), for the spread's `pending` input.
import type { Resources } from './spread';

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
}

/** One node as the spread needs it (a capacity-file entry, or built from a Node and its pods). */
export interface NodeSnapshot {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  /** Cordoned. */
  readonly unschedulable: boolean;
  /** The Ready condition is True. */
  readonly ready: boolean;
  readonly allocatable: Resources;
  /** Requests of the non-terminal pods bound to the node (pods = their count). */
  readonly allocated: Resources;
}

/** A pod the scheduler could not place (Pending, condition PodScheduled=False reason Unschedulable). */
export interface UnschedulablePod {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The PodScheduled condition's message, e.g. `0/5 nodes are available: 3 Insufficient cpu…`. */
  readonly message: string;
}

interface Requirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

interface SelectorTerm {
  readonly matchExpressions?: readonly Requirement[];
  readonly matchFields?: readonly Requirement[];
}

/** The parts of a pod spec the node filter reads. */
export interface PodPlacement {
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly Toleration[];
  readonly affinity?: { readonly nodeAffinity?: { readonly requiredDuringSchedulingIgnoredDuringExecution?: { readonly nodeSelectorTerms?: readonly SelectorTerm[] } } };
}

const FILTERING = new Set(['NoSchedule', 'NoExecute']);
export const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/** Whether one toleration tolerates one taint (v1 semantics: empty key + Exists tolerates everything). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  const op = t.operator ?? 'Equal';
  if (!t.key) return op === 'Exists';
  if (t.key !== taint.key) return false;
  return op === 'Exists' || (t.value ?? '') === (taint.value ?? '');
}

function requirementMatches(r: Requirement, value: string | undefined): boolean {
  const vals = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && vals.includes(value);
    case 'NotIn':
      return value === undefined || !vals.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || vals.length !== 1) return false;
      const a = Number.parseInt(value, 10);
      const b = Number.parseInt(vals[0]!, 10);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

function termMatches(t: SelectorTerm, node: NodeSnapshot): boolean {
  const ex = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  // An empty term matches nothing (the API's rule).
  if (ex.length === 0 && fields.length === 0) return false;
  for (const r of ex) if (!requirementMatches(r, Object.hasOwn(node.labels, r.key) ? node.labels[r.key] : undefined)) return false;
  for (const r of fields) if (!requirementMatches(r, r.key === 'metadata.name' ? node.name : undefined)) return false;
  return true;
}

/** Whether a pod with this placement may be scheduled on the node (the filter rules of the file header). */
export function nodeAdmits(node: NodeSnapshot, pod: PodPlacement): boolean {
  if (!node.ready) return false;
  const tolerations = pod.tolerations ?? [];
  const tolerated = (taint: Taint) => tolerations.some((t) => tolerates(t, taint));
  if (node.unschedulable && !tolerated(UNSCHEDULABLE_TAINT)) return false;
  for (const taint of node.taints) if (FILTERING.has(taint.effect) && !tolerated(taint)) return false;
  for (const [k, v] of Object.entries(pod.nodeSelector ?? {})) if (node.labels[k] !== v) return false;
  const terms = pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && !terms.some((t) => termMatches(t, node))) return false;
  return true;
}

/** The placement fields of a pod spec (anything else is ignored). */
export function placementOf(spec: Record<string, unknown> | undefined): PodPlacement {
  const s = (spec ?? {}) as PodPlacement;
  return {
    ...(s.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
    ...(s.tolerations ? { tolerations: s.tolerations } : {}),
    ...(s.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: s.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution } } } : {}),
  };
}

/** A key equal for placements that admit the same nodes (for memoizing the filter across apps). */
export function placementKey(p: PodPlacement): string {
  return p.nodeSelector || p.tolerations || p.affinity ? JSON.stringify([p.nodeSelector ?? null, p.tolerations ?? null, p.affinity ?? null]) : '';
}

/** Free room (allocatable − allocated, per resource) of every node a pod with this placement may land on, in node order. */
export function eligibleRoom(nodes: readonly NodeSnapshot[], pod: PodPlacement): Resources[] {
  const out: Resources[] = [];
  for (const n of nodes) {
    if (!nodeAdmits(n, pod)) continue;
    out.push({ cpu: n.allocatable.cpu - n.allocated.cpu, memory: n.allocatable.memory - n.allocated.memory, pods: n.allocatable.pods - n.allocated.pods });
  }
  return out;
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly Requirement[];
}

/** metav1.LabelSelector semantics (In/NotIn/Exists/DoesNotExist); an empty selector matches everything. */
export function selectorMatches(sel: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of sel?.matchExpressions ?? []) if (!requirementMatches(r, Object.hasOwn(labels, r.key) ? labels[r.key] : undefined)) return false;
  return true;
}

/** A pod bound to a node (non-terminal): the app's running replicas for the fit. */
export interface BoundPod {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** How many of `pods` belong to the app (namespace + selector). */
export function countOf(namespace: string, selector: LabelSelector | undefined, pods: readonly BoundPod[]): number {
  let n = 0;
  for (const p of pods) if (p.namespace === namespace && selectorMatches(selector, p.labels)) n++;
  return n;
}

/** The app's pods the scheduler left Pending on a member: how many, and the scheduler's message of the first. */
export function pendingOf(namespace: string, selector: LabelSelector | undefined, pods: readonly UnschedulablePod[]): { count: number; message?: string } {
  let count = 0;
  let message: string | undefined;
  for (const p of pods) {
    if (p.namespace !== namespace || !selectorMatches(selector, p.labels)) continue;
    count++;
    message ??= p.message;
  }
  return message === undefined ? { count } : { count, message };
}
