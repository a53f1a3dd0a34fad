// Pure glue between the config model and divideReplicas: per-replica requests of an app, member
// selection, and the whole what-if plan over a capacity snapshot.
import { podRequests, type PodSpecResources } from '../../infra/lib/pod-requests';
import { parseQuantity } from '../../infra/lib/units';
import type { App, Capacity, Member } from '../config/schema';
import { countOf, eligibleRoom, pendingOf, type BoundPod, placementKey, placementOf, type LabelSelector, type NodeSnapshot, type UnschedulablePod } from './scheduling';
import { memberTable, type MemberTable, type Resources, type SpreadInput, type SpreadMember, type SpreadResult } from './spread';

/**
 * Requests of one replica: the pod template through the one pod-request function the daemon's
 * capacity accounting uses too (init containers by the max rule, overhead, limits standing in for
 * missing requests), pods = 1.
 */
export function requestOf(app: App, quantity: (text: string | number) => number | undefined = parseQuantity): Resources {
  const r = podRequests(app.template.spec.template.spec as PodSpecResources, quantity);
  return { cpu: r.cpu, memory: r.memory, pods: 1 };
}

/** parseQuantity remembering its answers (quantities repeat across apps); for one plan. */
function quantityMemo(): (text: string | number) => number | undefined {
  const seen = new Map<string | number, number | null>();
  return (text) => {
    const known = seen.get(text);
    if (known !== undefined) return known ?? undefined;
    const v = parseQuantity(text);
    if (seen.size < 65_536) seen.set(text, v ?? null);
    return v;
  };
}

/** Whether the app's placement selects a member (labels ⊇ clusterSelector, and in `clusters` if given). */
export function selects(app: App, member: Pick<Member, 'name' | 'labels'>): boolean {
  const sel = app.placement.clusterSelector ?? {};
  for (const [k, v] of Object.entries(sel)) if (member.labels[k] !== v) return false;
  if (app.placement.clusters && !app.placement.clusters.includes(member.name)) return false;
  return true;
}

export const appKey = (app: Pick<App, 'namespace' | 'name'>): string => `${app.namespace}/${app.name}`;

/**
 * One member's observed capacity — the ONE snapshot type behind both the daemon (built from its
 * informers: adapters/kube capacityOf) and `cluster-mgr plan` (read from the capacity file): every
 * app's spread input is derived from it by memberInputFor.
 */
export interface MemberCapacity {
  readonly allocatable: Resources;
  readonly allocated: Resources;
  /** Per node (scheduling-aware fit); without it the fit uses the totals above. */
  readonly nodes?: readonly NodeSnapshot[];
  /** Pods the scheduler left Pending as Unschedulable. */
  readonly unschedulablePods?: readonly UnschedulablePod[];
  /** Non-terminal pods bound to a node (an app's running replicas: up to its current count). */
  readonly boundPods?: readonly BoundPod[];
  readonly healthy: boolean;
}

/** What one app sees of one member beyond its totals: the room of the nodes its pods may land on, its Pending replicas. */
export interface AppMemberInput {
  readonly nodes?: readonly Resources[];
  readonly pending: number;
  /** The app's pods bound to a node there (when the snapshot lists bound pods). */
  readonly running?: number;
  /** The scheduler's message for one of the Pending replicas. */
  readonly schedulerMessage?: string;
}

/** Memoizes the node filter per member snapshot and placement (apps share a few placements), and bound pods by namespace. */
export interface RoomMemo {
  readonly rooms: WeakMap<readonly NodeSnapshot[], Map<string, Resources[]>>;
  readonly pods: WeakMap<readonly BoundPod[], Map<string, BoundPod[]>>;
}
export const roomMemo = (): RoomMemo => ({ rooms: new WeakMap(), pods: new WeakMap() });

function podsIn(namespace: string, pods: readonly BoundPod[], memo?: RoomMemo): readonly BoundPod[] {
  if (!memo) return pods;
  let byNs = memo.pods.get(pods);
  if (!byNs) {
    byNs = new Map();
    for (const p of pods) {
      const list = byNs.get(p.namespace);
      if (list) list.push(p);
      else byNs.set(p.namespace, [p]);
    }
    memo.pods.set(pods, byNs);
  }
  return byNs.get(namespace) ?? [];
}

/** The per-app part of a member's spread input; the one function both the daemon and `plan` use. */
export function memberInputFor(app: App, cap: MemberCapacity | undefined, memo?: RoomMemo): AppMemberInput {
  const spec = app.template.spec.template.spec as Record<string, unknown>;
  let nodes: Resources[] | undefined;
  if (cap?.nodes) {
    const placement = placementOf(spec);
    const key = placementKey(placement);
    let byKey = memo?.rooms.get(cap.nodes);
    if (memo && !byKey) memo.rooms.set(cap.nodes, (byKey = new Map()));
    nodes = byKey?.get(key);
    if (!nodes) {
      nodes = eligibleRoom(cap.nodes, placement);
      byKey?.set(key, nodes);
    }
  }
  const pods = cap?.unschedulablePods;
  const p = pods && pods.length > 0 ? pendingOf(app.namespace, app.template.spec.selector as LabelSelector, pods) : { count: 0 };
  const running = cap?.boundPods ? countOf(app.namespace, app.template.spec.selector as LabelSelector, podsIn(app.namespace, cap.boundPods, memo)) : undefined;
  return { ...(nodes ? { nodes } : {}), pending: p.count, ...(running !== undefined ? { running } : {}), ...(p.message !== undefined ? { schedulerMessage: p.message } : {}) };
}

/**
 * The unschedulable reason with the scheduler's own words where a member left replicas Pending:
 * `only 5 replicas fit …; scheduler on m1: 0/5 nodes are available: 2 Insufficient cpu, …`.
 */
export function withSchedulerReason<R extends Pick<SpreadResult, 'unschedulable' | 'unschedulableReason'>>(result: R, messages: Readonly<Record<string, string | undefined>>): R {
  if (!(result.unschedulable > 0)) return result;
  const said = Object.keys(messages)
    .sort()
    .filter((m) => messages[m])
    .map((m) => `scheduler on ${m}: ${messages[m]!}`);
  if (said.length === 0) return result;
  return { ...result, unschedulableReason: [result.unschedulableReason, ...said].filter(Boolean).join('; ') };
}

export interface CheckedCapacity {
  /** Every amount a finite number ≥ 0; `healthy: false` when any given amount was not. */
  readonly capacity: MemberCapacity;
  /** Each amount that was not, e.g. `allocated.memory is NaN`; empty when the input was sound. */
  readonly problems: readonly string[];
}

const RESOURCE_NAMES = ['cpu', 'memory', 'pods'] as const;
const sound = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const soundSigned = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const showAmount = (v: unknown): string => (typeof v === 'number' ? String(v) : v === undefined ? 'missing' : JSON.stringify(v));
const NO_CAPACITY: Resources = { cpu: 0, memory: 0, pods: 0 };

/**
 * The boundary between observed capacity (informer sums, a capacity file) and divideReplicas: every
 * amount must be a finite number ≥ 0. A member with any amount that is not (NaN, ±Infinity from a
 * quantity like "1e400", negative, missing) is rejected: it counts as unhealthy with no capacity, so
 * its replicas go where room is known, and `problems` names each bad amount for the caller to report.
 * (Reading an unknown `allocated` as 0 counted the app's own replicas as free room again on every
 * reconcile, and the split never settled; keeping "what runs, nothing new" still made a capacity
 * member's weight follow its current replicas.) Pure; never mutates its input.
 */
export function checkCapacity(c: MemberCapacity): CheckedCapacity {
  const problems: string[] = [];
  for (const r of RESOURCE_NAMES) {
    const a = c.allocatable?.[r];
    const u = c.allocated?.[r];
    if (!sound(a)) problems.push(`allocatable.${r} is ${showAmount(a)}`);
    if (!sound(u)) problems.push(`allocated.${r} is ${showAmount(u)}`);
    for (const n of c.nodes ?? []) {
      // A node's allocated may exceed its allocatable (pods bound before a shrink): that node has no room.
      if (!sound(n.allocatable?.[r])) problems.push(`nodes[${n.name}].allocatable.${r} is ${showAmount(n.allocatable?.[r])}`);
      if (!soundSigned(n.allocated?.[r]) || n.allocated[r] < 0) problems.push(`nodes[${n.name}].allocated.${r} is ${showAmount(n.allocated?.[r])}`);
    }
  }
  if (problems.length === 0) return { capacity: c, problems };
  return { capacity: { healthy: false, allocatable: NO_CAPACITY, allocated: NO_CAPACITY }, problems };
}

/** The SpreadInput for one app (capacity passes checkCapacity on the way in), and the scheduler's messages per member. */
export function spreadInputFor(
  app: App,
  desired: number,
  members: readonly Pick<Member, 'name' | 'labels'>[],
  capacity: Readonly<Record<string, MemberCapacity | undefined>>,
  current: Readonly<Record<string, number>>,
  memo?: RoomMemo,
): SpreadInput & { readonly schedulerMessages: Record<string, string | undefined> } {
  const zero: Resources = { cpu: 0, memory: 0, pods: 0 };
  const schedulerMessages: Record<string, string | undefined> = {};
  const spreadMembers: SpreadMember[] = members.map((m) => {
    const given = capacity[m.name];
    const cap = given && checkCapacity(given).capacity;
    const pc = app.placement.perCluster[m.name];
    const per = memberInputFor(app, cap, memo);
    schedulerMessages[m.name] = per.schedulerMessage;
    return {
      name: m.name,
      healthy: cap?.healthy ?? false,
      selected: selects(app, m),
      allocatable: cap?.allocatable ?? zero,
      allocated: cap?.allocated ?? zero,
      current: current[m.name] ?? 0,
      ...(per.nodes ? { nodes: per.nodes } : {}),
      ...(per.pending > 0 ? { pending: per.pending } : {}),
      ...(per.running !== undefined ? { running: per.running } : {}),
      ...(pc?.weight !== undefined ? { weight: pc.weight } : {}),
      ...(pc?.min !== undefined ? { min: pc.min } : {}),
      ...(pc?.max !== undefined ? { max: pc.max } : {}),
    };
  });
  return { desired, strategy: app.placement.spread, request: requestOf(app), members: spreadMembers, schedulerMessages };
}

/**
 * One member of a capacity file (`cluster-mgr plan --capacity`) from an observed snapshot: what the
 * daemon sees, written so that `plan` reads back exactly the same capacity (amounts as plain numbers).
 */
export function capacityFileEntry(c: MemberCapacity): Capacity['clusters'][string] {
  return {
    healthy: c.healthy,
    allocatable: { ...c.allocatable },
    allocated: { ...c.allocated },
    ...(c.nodes
      ? {
          nodes: c.nodes.map((n) => ({
            name: n.name,
            labels: { ...n.labels },
            taints: n.taints.map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: t.effect as 'NoSchedule' })),
            unschedulable: n.unschedulable,
            ready: n.ready,
            allocatable: { ...n.allocatable },
            allocated: { ...n.allocated },
          })),
        }
      : {}),
    ...(c.unschedulablePods ? { unschedulablePods: c.unschedulablePods.map((p) => ({ namespace: p.namespace, labels: { ...p.labels }, message: p.message })) } : {}),
    ...(c.boundPods ? { boundPods: c.boundPods.map((p) => ({ namespace: p.namespace, labels: { ...p.labels } })) } : {}),
  };
}

/** The parsed form of one capacity-file member (quantities as numbers; NaN where one does not parse). */
export function capacityFromFile(c: Capacity['clusters'][string]): MemberCapacity {
  return {
    healthy: c.healthy,
    allocatable: res(c.allocatable),
    allocated: res(c.allocated),
    ...(c.nodes
      ? {
          nodes: c.nodes.map((n) => ({
            name: n.name,
            labels: n.labels,
            taints: n.taints,
            unschedulable: n.unschedulable,
            ready: n.ready,
            allocatable: res(n.allocatable),
            allocated: res(n.allocated),
          })),
        }
      : {}),
    ...(c.unschedulablePods ? { unschedulablePods: c.unschedulablePods } : {}),
    ...(c.boundPods ? { boundPods: c.boundPods } : {}),
  };
}

const res = (r: Capacity['clusters'][string]['allocatable']): Resources => ({
  cpu: parseQuantity(r.cpu) ?? NaN,
  memory: parseQuantity(r.memory) ?? NaN,
  pods: parseQuantity(r.pods) ?? NaN,
});

export type PlanEntry = Pick<SpreadResult, 'desired' | 'assignments' | 'unschedulable' | 'reasons' | 'unschedulableReason'>;

/**
 * What planAll sets up once per plan and planApp reads per app. One object of one shape: planApp is
 * a small hot function the optimizing compiler takes early and keeps (the per-app loop written
 * inside planAll was compiled on-stack-replacement and dropped again on the next call, leaving
 * whole plans in the interpreter).
 */
interface PlanState {
  readonly sorted: readonly Pick<Member, 'name' | 'labels'>[];
  readonly n: number;
  readonly table: MemberTable;
  readonly index: ReadonlyMap<string, number>;
  readonly uniqueNames: boolean;
  /** Members with nodes or Pending pods: their per-app input comes from memberInputFor. */
  readonly detailed: readonly { i: number; name: string; capacity: MemberCapacity }[];
  readonly quantity: (text: string | number) => number | undefined;
  readonly memo: RoomMemo;
  /**
   * The current split by app key, read through a Map: an app key is a fresh string, which a lookup
   * in a large object would first have to internalize.
   */
  readonly currentOf: ReadonlyMap<string, Record<string, number>>;
  /**
   * The members carrying each label value (1 = carries it): a clusterSelector is the AND of a few of
   * these, looked up once per app instead of one label read per member.
   */
  readonly carrying: Map<string, Map<string, Uint8Array>>;
  /** Scratch selection for selectors of several labels or a `clusters` list. */
  readonly chosen: Uint8Array;
}

function membersWith(s: PlanState, key: string, value: string): Uint8Array {
  let byValue = s.carrying.get(key);
  if (!byValue) s.carrying.set(key, (byValue = new Map()));
  let mask = byValue.get(value);
  if (!mask) {
    mask = new Uint8Array(s.n);
    for (let i = 0; i < s.n; i++) mask[i] = s.sorted[i]!.labels[key] === value ? 1 : 0;
    byValue.set(value, mask);
  }
  return mask;
}

/** One app's entry of planAll: its inputs into the member table, then one division. */
function planApp(s: PlanState, app: App, key: string): PlanEntry {
  const { table, n, chosen, index } = s;
  const current = s.currentOf.get(key);
  const sel = app.placement.clusterSelector;
  const only = app.placement.clusters;
  const perCluster = app.placement.perCluster;
  table.startApp(requestOf(app, s.quantity));
  if (sel || only) {
    // One label (the usual selector): its mask as it is (never written); else the AND of the masks
    // and `clusters` in `chosen`. No mask: every member.
    let mask: Uint8Array | undefined;
    let keys = 0;
    for (const k in sel) {
      const carriers = membersWith(s, k, sel[k]!);
      if (keys === 0) mask = carriers;
      else {
        if (keys === 1) {
          chosen.set(mask!);
          mask = chosen;
        }
        for (let i = 0; i < n; i++) chosen[i]! &= carriers[i]!;
      }
      keys++;
    }
    if (only) {
      if (mask !== chosen) {
        if (mask) chosen.set(mask);
        else chosen.fill(1);
        mask = chosen;
      }
      for (let i = 0; i < n; i++) if (chosen[i] && !only.includes(s.sorted[i]!.name)) chosen[i] = 0;
    }
    if (mask) table.selectWhere(mask);
  }
  if (s.uniqueNames) {
    // Only the members named in the (usually short) current split and perCluster differ from the defaults.
    if (current) {
      for (const name in current) {
        const i = index.get(name);
        if (i !== undefined) table.setCurrent(i, current[name]);
      }
    }
    for (const name in perCluster) {
      const i = index.get(name);
      if (i !== undefined) table.setPerCluster(i, perCluster[name]);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const name = s.sorted[i]!.name;
      table.setCurrent(i, current?.[name]);
      table.setPerCluster(i, perCluster[name]);
    }
  }
  let messages: Record<string, string | undefined> | undefined;
  for (const d of s.detailed) {
    const per = memberInputFor(app, d.capacity, s.memo);
    table.setNodes(d.i, per.nodes, per.pending, per.running);
    if (per.schedulerMessage !== undefined) (messages ??= {})[d.name] = per.schedulerMessage;
  }
  const result = table.divide(app.replicas, app.placement.spread, false);
  return messages ? withSchedulerReason(result, messages) : result;
}

/**
 * `cluster-mgr plan`: the split for every app over a capacity snapshot (members missing from it are
 * unhealthy), by app key (`namespace/name`) in the order of `apps`. A Map: an object with 10,000
 * fresh string keys would internalize each one (the largest single cost after the division itself).
 */
export function planAll(apps: readonly App[], members: readonly Pick<Member, 'name' | 'labels'>[], cap: Capacity): Map<string, PlanEntry> {
  const zero: Resources = { cpu: 0, memory: 0, pods: 0 };
  const sorted = [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const n = sorted.length;
  // Member capacity is parsed once; per app only selection, current split and perCluster change.
  const table = memberTable(sorted.map((m) => m.name));
  const index = new Map<string, number>();
  let uniqueNames = true;
  const detailed: { i: number; name: string; capacity: MemberCapacity }[] = [];
  for (let i = 0; i < n; i++) {
    const m = sorted[i]!;
    const c = cap.clusters[m.name];
    if (c) {
      const { capacity } = checkCapacity(capacityFromFile(c));
      table.setCapacity(i, capacity.healthy, capacity.allocatable, capacity.allocated);
      if (capacity.nodes || capacity.unschedulablePods?.length || capacity.boundPods) detailed.push({ i, name: m.name, capacity });
    } else table.setCapacity(i, false, zero, zero);
    if (index.has(m.name)) uniqueNames = false;
    else index.set(m.name, i);
  }
  const currentOf = new Map<string, Record<string, number>>();
  for (const k of Object.keys(cap.current)) currentOf.set(k, cap.current[k]!);
  const state: PlanState = { sorted, n, table, index, uniqueNames, detailed, quantity: quantityMemo(), memo: roomMemo(), currentOf, carrying: new Map(), chosen: new Uint8Array(n) };
  const out = new Map<string, PlanEntry>();
  for (const app of apps) {
    const key = appKey(app);
    out.set(key, planApp(state, app, key));
  }
  return out;
}
