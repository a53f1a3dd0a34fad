// Replica division across member clusters: ONE pure function over ONE documented input type.
//
// Algorithm (docs/cluster-mgr.md, "Spread"):
//   1. fit_m   = replicas of this app that fit on member m, with running_m = min(current_m, bound_m)
//                when the member reports the app's pods bound to nodes (`running`), else
//                current_m − pending_m (the app's replicas the scheduler could not place, or that
//                do not exist yet, do not count as running — their room is still free):
//                - per node, when the member lists the nodes the app's pods may land on (`nodes`):
//                  running_m + Σ_node min over resources of floor(free_node / request);
//                - otherwise over the member's totals: per resource (cpu, memory, pods)
//                  floor((allocatable − allocated + running_m × request) / request), the minimum over
//                  resources (the app's own running replicas count as available, because `allocated`
//                  includes them);
//                0 when the member is unhealthy or not selected.
//   2. cap_m   = min(fit_m, max_m); floor_m = min(min_m, cap_m).
//   3. total   = min(desired, Σ cap); the rest is `unschedulable` with a reason.
//   4. fair_m  = integer water-filling of `total` proportional to the strategy's weight
//                (capacity: fit_m; weighted: the static weight), clamped to [floor_m, cap_m],
//                largest remainder, ties by member name.
//   5. steady: start from the current split clamped to [floor, cap] (infeasible members are fixed);
//      scale-up adds only (proportional to deficits below fair share), scale-down removes only
//      (proportional to surplus above fair share); an unchanged total keeps the split unless a
//      member is further than max(1, 10 % of its fair share) from it — then only those members
//      are moved to their fair share, with the fewest compensating moves from the others.
//   duplicate: every healthy selected member runs min(desired, cap_m).
// Pure: no clock, process, I/O; never mutates its input; deterministic.
// Implementation (for `cluster-mgr plan` over 10,000 apps x 50 members in < 100 ms): one engine
// object (Divider) holds all mutable state — member inputs and scratch in typed arrays reused across
// calls, the last fit's limiting resource, the reason-text tables; spread-reference.ts is the same
// algorithm written plainly (a property test keeps the two equal); remainders go out by
// quickselect instead of a sort; reason texts are shared; the division runs over the members that
// can take replicas only (compacted), its usual case in two passes (fairSharesOneRound); result
// records come from a compiled literal per key set (see Build). planAll drives it through
// memberTable(). Measured with callgrind (instructions, not seconds: docs/cluster-mgr.md).

export type ResourceName = 'cpu' | 'memory' | 'pods';
export const RESOURCES: readonly ResourceName[] = ['cpu', 'memory', 'pods'];

/**
 * cpu in cores, memory in bytes, pods as a count; each a finite number ≥ 0. Observed capacity is
 * checked at the boundary (checkCapacity in ./plan) before it reaches divideReplicas.
 */
export interface Resources {
  readonly cpu: number;
  readonly memory: number;
  readonly pods: number;
}

export type SpreadStrategy = 'capacity' | 'weighted' | 'duplicate';

export interface SpreadMember {
  readonly name: string;
  /** Health verdict; an unhealthy member gets 0 (its replicas move to healthy members). */
  readonly healthy: boolean;
  /** Selected by the app's placement (clusterSelector/clusters). @default true */
  readonly selected?: boolean;
  /** Allocatable on Ready, schedulable nodes. */
  readonly allocatable: Resources;
  /** Requests of non-terminal pods on those nodes — INCLUDING this app's current replicas. */
  readonly allocated: Resources;
  /** This app's current replicas on the member. @default 0 */
  readonly current?: number;
  /** Static weight for `weighted`. @default 1 */
  readonly weight?: number;
  /** Per-cluster floor and ceiling. */
  readonly min?: number;
  readonly max?: number;
  /**
   * Free room (allocatable − allocated) of each node this app's pods may land on (taints and
   * tolerations, nodeSelector, required node affinity, cordoned and NotReady nodes already filtered:
   * core/scheduling). When given, the fit is per node and `allocatable`/`allocated` are not used for it.
   * @default - the member's totals
   */
  readonly nodes?: readonly Resources[];
  /** This app's replicas on the member that the scheduler left Pending (Unschedulable). @default 0 */
  readonly pending?: number;
  /**
   * This app's pods bound to a node on the member (non-terminal): the fit counts min(current, running)
   * as running — pods not created or not placed yet hold no room. @default - current − pending
   */
  readonly running?: number;
}

export interface SpreadInput {
  /** Desired total (per member for `duplicate`). */
  readonly desired: number;
  readonly strategy: SpreadStrategy;
  /** Requests of ONE replica (sum over its containers); pods is normally 1. */
  readonly request: Resources;
  readonly members: readonly SpreadMember[];
  /**
   * Ignore the current split and return the exact fair shares: the goal while a recovered member's
   * replicas return (reached in paced steps), so that failback restores the split. @default false
   */
  readonly exact?: boolean;
}

export interface SpreadResult {
  readonly desired: number;
  /** Replicas per member (every input member, 0 included). */
  readonly assignments: Record<string, number>;
  /** Replicas that fit nowhere. */
  readonly unschedulable: number;
  /** Why a member got what it got, where a constraint applies. */
  readonly reasons: Record<string, string>;
  /** Set when unschedulable > 0. */
  readonly unschedulableReason?: string;
}

/** Upper bound on any count, so that "no request on any resource" stays a finite number. */
export const MAX_REPLICAS = 1_000_000;

const nonNeg = (v: number | undefined): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
const count = (v: number | undefined): number => Math.min(MAX_REPLICAS, Math.floor(nonNeg(v)));

export interface Fit {
  readonly fit: number;
  /** The resource that limits it (undefined when unlimited or the member is excluded). */
  readonly limit?: ResourceName | 'nodes';
}

/** Names of fit limits: RESOURCES, then NO_NODE (a per-node member without any node the pods may land on). */
export const NO_NODE = 3;
export const LIMIT_NAMES: readonly string[] = ['cpu', 'memory', 'pods', 'no eligible node'];

/** Where fitCore reports the resource that limited its result: an index into RESOURCES, -1 when none did. */
interface FitLimit {
  fitLimit: number;
}

/**
 * Replicas that fit given `free[at + k]` = allocatable − allocated of resource k (each non-negative
 * before subtracting) and `q[k]` = one replica's request of resource k (non-negative); the limiting
 * resource goes to `out.fitLimit`.
 */
function fitCore(free: ArrayLike<number>, at: number, current: number, q: ArrayLike<number>, out: FitLimit): number {
  let best = MAX_REPLICAS;
  let limit = -1;
  for (let k = 0; k < 3; k++) {
    const qk = q[k]!;
    if (qk === 0) continue;
    const f = free[at + k]! + current * qk;
    // A tiny epsilon absorbs binary-float noise (0.1 + 0.2) without ever rounding a real shortfall up.
    const n = f > 0 ? Math.floor(f / qk + 1e-9) : 0;
    if (n < best) {
      best = n;
      limit = k;
    }
  }
  out.fitLimit = limit;
  return Math.max(0, Math.min(MAX_REPLICAS, best));
}

/** The app's running replicas on a member: its bound pods (up to current) when known (≥ 0), else current minus those Pending. */
const running = (current: number, pending: number, bound: number): number => (bound >= 0 ? Math.min(current, bound) : Math.max(0, current - pending));

/**
 * Per-node fit: running + Σ over nodes of the replicas that fit on each. The limit reported is the
 * resource that limits the most nodes (ties: cpu, memory, pods); NO_NODE without any node.
 */
function nodesFit(nodes: readonly Resources[], run: number, q: ArrayLike<number>, free: number[], counts: number[], out: FitLimit): number {
  if (nodes.length === 0) {
    out.fitLimit = NO_NODE;
    return Math.min(MAX_REPLICAS, run);
  }
  let total = run;
  counts[0] = counts[1] = counts[2] = 0;
  for (const node of nodes) {
    free[0] = nonNeg(node.cpu);
    free[1] = nonNeg(node.memory);
    free[2] = nonNeg(node.pods);
    total += fitCore(free, 0, 0, q, out);
    if (out.fitLimit >= 0) counts[out.fitLimit]!++;
  }
  let limit = -1;
  for (let k = 0; k < 3; k++) if (counts[k]! > 0 && (limit < 0 || counts[k]! > counts[limit]!)) limit = k;
  out.fitLimit = limit;
  return Math.min(MAX_REPLICAS, total);
}

/** Replicas of an app that fit on a member (counting the app's own running replicas as available). */
export function fitOf(m: SpreadMember, request: Resources): Fit {
  if (!m.healthy || m.selected === false) return { fit: 0 };
  const q = [nonNeg(request.cpu), nonNeg(request.memory), nonNeg(request.pods)];
  const out = { fitLimit: -1 };
  const run = running(count(m.current), count(m.pending), m.running === undefined ? -1 : count(m.running));
  let fit: number;
  if (m.nodes) fit = nodesFit(m.nodes, run, q, [0, 0, 0], [0, 0, 0], out);
  else {
    const free = [0, 0, 0];
    for (let k = 0; k < 3; k++) if (q[k] !== 0) free[k] = nonNeg(m.allocatable[RESOURCES[k]!]) - nonNeg(m.allocated[RESOURCES[k]!]);
    fit = fitCore(free, 0, run, q, out);
  }
  return out.fitLimit < 0 ? { fit } : { fit, limit: out.fitLimit === NO_NODE ? 'nodes' : RESOURCES[out.fitLimit]! };
}

/** Writable numeric scratch: a plain array or a typed array. */
type Nums = { [i: number]: number; readonly length: number };

/**
 * Whether member x comes before member y in the order of Array#sort with the comparator
 * `key[b] - key[a] || a - b` (desc: largest key first, ties by lower index) or
 * `key[a] - key[b] || b - a` (ascending, ties by higher index).
 */
const before = (x: number, y: number, key: ArrayLike<number>, desc: boolean): boolean =>
  (desc ? key[y]! - key[x]! || x - y : key[x]! - key[y]! || y - x) < 0;

/**
 * Reorders idx[0..len) so that idx[0..k) are the first k members in the order of `before` (in any
 * order among themselves): quickselect, O(len) expected, no allocation. Both orders are total for the
 * finite keys used here, so the chosen set is exactly the first k of the sorted list.
 */
function selectFirst(idx: Int32Array, len: number, k: number, key: ArrayLike<number>, desc: boolean): void {
  let lo = 0;
  let hi = len - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    const p = idx[mid]!;
    idx[mid] = idx[hi]!;
    idx[hi] = p;
    let store = lo;
    for (let j = lo; j < hi; j++) {
      const x = idx[j]!;
      if (before(x, p, key, desc)) {
        idx[j] = idx[store]!;
        idx[store] = x;
        store++;
      }
    }
    idx[hi] = idx[store]!;
    idx[store] = p;
    if (store === k) return;
    if (store < k) lo = store + 1;
    else hi = store - 1;
  }
}

/**
 * Hands out `rest` units (+1 each) in passes over the members in the order of `before` (key, desc):
 * each pass gives one unit to every member below its bound, in that order, until none is left. A pass
 * that reaches everyone needs no order; only a partial pass picks its first members. `sign` −1 takes
 * units back instead (from members above their bound). `untilZero`: a pass stops only when exactly
 * nothing is left (so a fractional `rest` reaches everyone), else as soon as nothing positive is.
 */
function distribute(out: Nums, n: number, rest: number, bound: ArrayLike<number>, key: ArrayLike<number>, desc: boolean, sign: 1 | -1, untilZero: boolean, idx: Int32Array): void {
  while (rest > 0) {
    let len = 0;
    for (let i = 0; i < n; i++) if (sign > 0 ? out[i]! < bound[i]! : out[i]! > bound[i]!) idx[len++] = i;
    if (len === 0) return;
    if (rest >= len || (untilZero && !Number.isInteger(rest))) {
      for (let k = 0; k < len; k++) out[idx[k]!]! += sign;
      rest -= len;
    } else {
      const k = Math.ceil(rest);
      selectFirst(idx, len, k, key, desc);
      for (let j = 0; j < k; j++) out[idx[j]!]! += sign;
      return;
    }
  }
}

/** Scratch for apportionInto/fairSharesInto, each of length ≥ the member count. */
interface Scratch {
  readonly apFrac: Nums;
  readonly ind: Nums;
  readonly idx: Int32Array;
  readonly real: Nums;
  readonly fixedV: Nums;
  readonly isFixed: Uint8Array;
  readonly fsFrac: Nums;
}

const newScratch = (n: number): Scratch => ({
  apFrac: new Float64Array(n),
  ind: new Float64Array(n),
  idx: new Int32Array(n),
  real: new Float64Array(n),
  fixedV: new Float64Array(n),
  isFixed: new Uint8Array(n),
  fsFrac: new Float64Array(n),
});

/**
 * Distributes `total` integer units over `weights` into out[0..n), never giving member i more than
 * `limit[i]`. Largest remainder; ties by index (callers order members by name). Requires Σ limit ≥ total.
 */
function apportionInto(out: Nums, n: number, total: number, weights: ArrayLike<number>, limit: ArrayLike<number>, s: Scratch): void {
  if (total <= 0) {
    for (let i = 0; i < n; i++) out[i] = 0;
    return;
  }
  let W = 0;
  for (let i = 0; i < n; i++) if (limit[i]! > 0) W += weights[i]!;
  if (W <= 0) {
    // No weight anywhere: fall back to equal weights among members with room.
    const ind = s.ind;
    for (let i = 0; i < n; i++) ind[i] = limit[i]! > 0 ? 1 : 0;
    apportionInto(out, n, total, ind, limit, s);
    return;
  }
  const frac = s.apFrac;
  let given = 0;
  for (let i = 0; i < n; i++) {
    frac[i] = -1;
    if (limit[i]! <= 0 || weights[i]! <= 0) {
      out[i] = 0;
      continue;
    }
    const share = Math.min((total * weights[i]!) / W, limit[i]!);
    const o = Math.min(Math.floor(share), limit[i]!);
    out[i] = o;
    frac[i] = share - o;
    given += o;
  }
  // Largest remainder first, ties by index; usually one pass (more when limits cut shares — the
  // water-filling in fairSharesInto avoids that case).
  distribute(out, n, total - given, limit, frac, true, 1, false, s.idx);
}

function apportion(total: number, weights: readonly number[], limit: readonly number[]): number[] {
  const n = weights.length;
  const out = new Array<number>(n).fill(0);
  apportionInto(out, n, total, weights, limit, newScratch(n));
  return out;
}

/** After integerizing: `rest` more units to the largest fractions (up to cap), or −rest back from the smallest (down to floor). */
function settleRest(out: Nums, n: number, rest: number, floor: ArrayLike<number>, cap: ArrayLike<number>, frac: Nums, s: Scratch): void {
  if (rest > 0) distribute(out, n, rest, cap, frac, true, 1, true, s.idx);
  else if (rest < 0) distribute(out, n, -rest, floor, frac, false, -1, true, s.idx);
}

/**
 * fairSharesInto's usual case in two passes: the first water-filling round fixes nothing (no share
 * above its cap or below its floor), so the shares are integerized as they are computed. False, with
 * `out` unspecified, when a share is out of bounds (the caller runs the general rounds).
 */
function fairSharesOneRound(out: Nums, n: number, total: number, weight: ArrayLike<number>, floor: ArrayLike<number>, cap: ArrayLike<number>, s: Scratch): boolean {
  let W = 0;
  let freeCount = 0;
  for (let i = 0; i < n; i++) {
    if (cap[i]! > 0) {
      W += weight[i]!;
      freeCount++;
    }
  }
  if (freeCount === 0) return false;
  const Wt = W > 0 ? W : freeCount;
  const frac = s.fsFrac;
  let given = 0;
  for (let i = 0; i < n; i++) {
    const c = cap[i]!;
    if (!(c > 0)) {
      // fixed at 0 in the general rounds: share 0, nothing left over
      out[i] = 0;
      frac[i] = 0;
      continue;
    }
    const r = (total * (W > 0 ? weight[i]! : 1)) / Wt;
    const f = floor[i]!;
    if (r > c || r < f) return false;
    const b = Math.min(c, Math.max(f, Math.floor(r + 1e-9)));
    out[i] = b;
    frac[i] = r - b;
    given += b;
  }
  settleRest(out, n, total - given, floor, cap, frac, s);
  return true;
}

/**
 * Integer fair shares into out[0..n) (out must not be any of the inputs or the scratch): `total`
 * proportional to `weight`, clamped to [floor, cap] by water-filling.
 */
function fairSharesInto(out: Nums, n: number, total: number, weight: ArrayLike<number>, floor: ArrayLike<number>, cap: ArrayLike<number>, s: Scratch): void {
  let sumFloor = 0;
  for (let i = 0; i < n; i++) sumFloor += floor[i]!;
  if (sumFloor >= total) {
    apportionInto(out, n, total, floor, floor, s);
    return;
  }
  if (fairSharesOneRound(out, n, total, weight, floor, cap, s)) return;
  const { isFixed, fixedV, real } = s;
  for (let i = 0; i < n; i++) {
    isFixed[i] = 0;
    real[i] = 0;
  }
  for (let round = 0; round <= n; round++) {
    let remaining = total;
    let W = 0;
    let freeCount = 0;
    for (let i = 0; i < n; i++) {
      if (isFixed[i]) remaining -= fixedV[i]!;
      else if (cap[i]! > 0) {
        W += weight[i]!;
        freeCount++;
      } else {
        isFixed[i] = 1;
        fixedV[i] = 0;
      }
    }
    if (freeCount === 0) break;
    const Wt = W > 0 ? W : freeCount;
    let overCap = false;
    let underFloor = false;
    for (let i = 0; i < n; i++) {
      if (isFixed[i]) continue;
      const r = (remaining * (W > 0 ? weight[i]! : 1)) / Wt;
      real[i] = r;
      if (r > cap[i]!) overCap = true;
      else if (r < floor[i]!) underFloor = true;
    }
    if (!overCap && !underFloor) break;
    for (let i = 0; i < n; i++) {
      if (isFixed[i]) continue;
      if (overCap && real[i]! > cap[i]!) {
        isFixed[i] = 1;
        fixedV[i] = cap[i]!;
      } else if (!overCap && real[i]! < floor[i]!) {
        isFixed[i] = 1;
        fixedV[i] = floor[i]!;
      }
    }
  }
  for (let i = 0; i < n; i++) if (isFixed[i]) real[i] = fixedV[i]!;
  // Integerize: floor of each real share (never below floor, never above cap), remainder by largest fraction.
  const frac = s.fsFrac;
  let given = 0;
  for (let i = 0; i < n; i++) {
    const r = Math.min(cap[i]!, Math.max(floor[i]!, real[i]!));
    const b = Math.min(cap[i]!, Math.max(floor[i]!, Math.floor(r + 1e-9)));
    out[i] = b;
    frac[i] = r - b;
    given += b;
  }
  settleRest(out, n, total - given, floor, cap, frac, s);
}


const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// Reason texts repeat across apps ("capacity: 3 more replicas fit (cpu)"): each engine keeps them in
// bounded tables so that a plan over thousands of apps shares one string per distinct text.
const TEXT_CACHE = 16_384;

class ReasonTexts {
  /** Index 0: no limiting resource; 1 + k: LIMIT_NAMES[k]. */
  private readonly capacityTexts = [new Map<number, string>(), new Map<number, string>(), new Map<number, string>(), new Map<number, string>(), new Map<number, string>()];
  private readonly maxTexts = new Map<number, string>();
  private readonly weightTexts = new Map<number, string>();
  private readonly unhealthyTexts = new Map<number, string>();

  private static remember(table: Map<number, string>, key: number, text: string): string {
    if (table.size < TEXT_CACHE) table.set(key, text);
    return text;
  }
  capacity(more: number, limit: number): string {
    const table = this.capacityTexts[limit + 1]!;
    return table.get(more) ?? ReasonTexts.remember(table, more, `capacity: ${plural(more, 'more replica')} fit (${limit < 0 ? 'unlimited' : LIMIT_NAMES[limit]!})`);
  }
  max(max: number): string {
    return this.maxTexts.get(max) ?? ReasonTexts.remember(this.maxTexts, max, `max: ${max} (placement.perCluster)`);
  }
  weight(w: number): string {
    return this.weightTexts.get(w) ?? ReasonTexts.remember(this.weightTexts, w, `weighted: weight ${w}`);
  }
  unhealthy(current: number): string {
    if (current <= 0) return 'unhealthy';
    return this.unhealthyTexts.get(current) ?? ReasonTexts.remember(this.unhealthyTexts, current, `unhealthy: ${plural(current, 'replica')} moved to healthy members`);
  }
}

/**
 * A compiled record builder per set of keys: `(v) => ({ "m00": v[0] | 0, "m03": v[3] | 0, … })` for
 * assignments, without `| 0` for reasons. An object literal with fixed keys is created from one
 * boilerplate in a single allocation with monomorphic stores, where a copied template plus one
 * keyed (megamorphic) store per member cost about 10 % of `cluster-mgr plan`'s instructions. The
 * source is built only from JSON.stringify'd member names and integer indices, so no input reaches it
 * as code; names with `__proto__` get no builders (fixNames).
 */
type Build<V> = (values: ArrayLike<V>) => Record<string, V>;
const MAX_BUILDERS = 2048;

/** The builder for the flagged members' keys; undefined where code generation is disallowed (`--disallow-code-generation-from-strings`). */
function compileBuilder<V>(names: readonly string[], flag: Uint8Array, n: number, asInt: boolean): Build<V> | undefined {
  const fields: string[] = [];
  for (let i = 0; i < n; i++) if (flag[i]) fields.push(`${JSON.stringify(names[i])}:v[${i}]${asInt ? '|0' : ''}`);
  try {
    return new Function('v', `"use strict";return {${fields.join(',')}};`) as Build<V>;
  } catch {
    return undefined;
  }
}

/**
 * The division engine: member inputs and scratch in typed arrays, reused across calls, so that a
 * division allocates only its result. `load*` fills the member inputs (members in name order); then
 * `divide` runs the algorithm of the file header.
 */
class Divider implements FitLimit {
  n = 0;
  /** The resource that limited the last fit (fitCore's out-parameter). */
  fitLimit = -1;
  private readonly reasonTexts = new ReasonTexts();
  names: readonly string[] = [];
  private size = -1;
  // Member inputs.
  healthy = new Uint8Array(0);
  selected = new Uint8Array(0);
  /** free[3i + k] = allocatable − allocated of RESOURCES[k] on member i (each made non-negative first). */
  free = new Float64Array(0);
  current = new Float64Array(0);
  /** This app's Pending (Unschedulable) replicas per member. */
  pending = new Float64Array(0);
  /** This app's bound pods per member (-1: not reported). */
  bound = new Float64Array(0);
  /** Per-node free room per member (undefined: use `free`). */
  nodes: (readonly Resources[] | undefined)[] = [];
  private readonly nodeFree = [0, 0, 0];
  private readonly nodeCounts = [0, 0, 0];
  staticWeight = new Float64Array(0);
  hasMin = new Uint8Array(0);
  minV = new Float64Array(0);
  hasMax = new Uint8Array(0);
  maxV = new Float64Array(0);
  /** One replica's request, per RESOURCES index (non-negative). */
  readonly q = new Float64Array(3);
  // Scratch.
  private fit = new Float64Array(0);
  private limit = new Int8Array(0);
  private cap = new Float64Array(0);
  private weight = new Float64Array(0);
  private fair = new Float64Array(0);
  private a = new Float64Array(0);
  private d1 = new Float64Array(0);
  private d2 = new Float64Array(0);
  private o1 = new Float64Array(0);
  private o2 = new Float64Array(0);
  private flag = new Uint8Array(0);
  private listed = new Uint8Array(0);
  // The division over the active members (healthy and selected), compacted: act[j] = member index.
  private act = new Int32Array(0);
  private cCap = new Float64Array(0);
  private cFloor = new Float64Array(0);
  private cCur = new Float64Array(0);
  private aC = new Float64Array(0);
  private violator = new Uint8Array(0);
  private texts: string[] = [];
  private s: Scratch = newScratch(0);
  /** Record builders per set of keys (bit mask over members); only with fixed names. */
  private numberBuilders: Map<number, Build<number>> | undefined;
  private textBuilders: Map<number, Build<string>> | undefined;

  resize(n: number): void {
    this.n = n;
    if (n <= this.size) return;
    this.size = n;
    this.healthy = new Uint8Array(n);
    this.selected = new Uint8Array(n);
    this.free = new Float64Array(3 * n);
    this.current = new Float64Array(n);
    this.pending = new Float64Array(n);
    this.bound = new Float64Array(n);
    this.nodes = new Array<readonly Resources[] | undefined>(n).fill(undefined);
    this.staticWeight = new Float64Array(n);
    this.hasMin = new Uint8Array(n);
    this.minV = new Float64Array(n);
    this.hasMax = new Uint8Array(n);
    this.maxV = new Float64Array(n);
    this.fit = new Float64Array(n);
    this.limit = new Int8Array(n);
    this.cap = new Float64Array(n);
    this.weight = new Float64Array(n);
    this.fair = new Float64Array(n);
    this.a = new Float64Array(n);
    this.d1 = new Float64Array(n);
    this.d2 = new Float64Array(n);
    this.o1 = new Float64Array(n);
    this.o2 = new Float64Array(n);
    this.flag = new Uint8Array(n);
    this.listed = new Uint8Array(n);
    this.act = new Int32Array(n);
    this.cCap = new Float64Array(n);
    this.cFloor = new Float64Array(n);
    this.cCur = new Float64Array(n);
    this.aC = new Float64Array(n);
    this.violator = new Uint8Array(n);
    this.texts = new Array<string>(n).fill('');
    this.s = newScratch(n);
  }

  /** Fixes the member names for many divisions (enables compiled record builders for the results). */
  fixNames(names: readonly string[]): void {
    this.resize(names.length);
    this.names = names;
    const templates = names.length <= 52 && !names.includes('__proto__');
    this.numberBuilders = templates ? new Map() : undefined;
    this.textBuilders = templates ? new Map() : undefined;
  }

  /** Loads one SpreadInput (members already in name order). */
  load(members: readonly SpreadMember[], request: Resources): void {
    const n = members.length;
    this.resize(n);
    this.names = members.map((m) => m.name);
    this.numberBuilders = undefined;
    this.textBuilders = undefined;
    const q = this.q;
    q[0] = nonNeg(request.cpu);
    q[1] = nonNeg(request.memory);
    q[2] = nonNeg(request.pods);
    for (let i = 0; i < n; i++) {
      const m = members[i]!;
      const healthy = m.healthy ? 1 : 0;
      const selected = m.selected === false ? 0 : 1;
      this.healthy[i] = healthy;
      this.selected[i] = selected;
      const current = count(m.current);
      this.current[i] = current;
      this.pending[i] = count(m.pending);
      this.bound[i] = m.running === undefined ? -1 : count(m.running);
      this.nodes[i] = m.nodes;
      // Read capacity only where the fit needs it (an excluded member's may be absent).
      for (let k = 0; k < 3; k++) {
        const r = RESOURCES[k]!;
        this.free[3 * i + k] = healthy && selected && q[k] !== 0 ? nonNeg(m.allocatable[r]) - nonNeg(m.allocated[r]) : 0;
      }
      this.staticWeight[i] = nonNeg(m.weight ?? 1);
      this.hasMin[i] = m.min !== undefined ? 1 : 0;
      this.minV[i] = count(m.min);
      this.hasMax[i] = m.max !== undefined ? 1 : 0;
      this.maxV[i] = count(m.max);
    }
  }

  setCapacity(i: number, healthy: boolean, allocatable: Resources, allocated: Resources): void {
    this.healthy[i] = healthy ? 1 : 0;
    for (let k = 0; k < 3; k++) this.free[3 * i + k] = nonNeg(allocatable[RESOURCES[k]!]) - nonNeg(allocated[RESOURCES[k]!]);
  }

  startApp(request: Resources): void {
    const n = this.n;
    this.q[0] = nonNeg(request.cpu);
    this.q[1] = nonNeg(request.memory);
    this.q[2] = nonNeg(request.pods);
    const { selected, current, pending, bound, nodes, staticWeight, hasMin, minV, hasMax, maxV } = this;
    for (let i = 0; i < n; i++) {
      selected[i] = 1;
      current[i] = 0;
      pending[i] = 0;
      bound[i] = -1;
      nodes[i] = undefined;
      staticWeight[i] = 1;
      hasMin[i] = 0;
      minV[i] = 0;
      hasMax[i] = 0;
      maxV[i] = 0;
    }
  }

  setSelected(i: number, selected: boolean): void {
    this.selected[i] = selected ? 1 : 0;
  }

  setCurrent(i: number, current: number | undefined): void {
    this.current[i] = count(current);
  }

  setNodes(i: number, nodes: readonly Resources[] | undefined, pending: number | undefined, running?: number): void {
    this.nodes[i] = nodes;
    this.pending[i] = count(pending);
    this.bound[i] = running === undefined ? -1 : count(running);
  }

  setPerCluster(i: number, pc: { readonly weight?: number; readonly min?: number; readonly max?: number } | undefined): void {
    this.staticWeight[i] = nonNeg(pc?.weight ?? 1);
    this.hasMin[i] = pc?.min !== undefined ? 1 : 0;
    this.minV[i] = count(pc?.min);
    this.hasMax[i] = pc?.max !== undefined ? 1 : 0;
    this.maxV[i] = count(pc?.max);
  }

  /** Why member i got `assigned`. */
  private describe(i: number, assigned: number, strategy: SpreadStrategy): string {
    if (!this.selected[i]) return 'not selected by placement';
    if (!this.healthy[i]) return this.reasonTexts.unhealthy(this.current[i]!);
    const f = this.fit[i]!;
    const max = this.maxV[i]!;
    if (this.hasMax[i] && assigned >= max && max <= f) return this.reasonTexts.max(max);
    const limit = this.limit[i]!;
    if (this.hasMin[i] && this.minV[i]! > f) return `min ${this.minV[i]!} not reachable: only ${plural(f, 'replica')} fit (${limit < 0 ? 'cpu' : LIMIT_NAMES[limit]!})`;
    if (strategy === 'weighted') return this.reasonTexts.weight(this.staticWeight[i]!);
    return this.reasonTexts.capacity(Math.max(0, f - assigned), limit);
  }

  /** The builder for the flagged members' keys (`mask`: their bits in member order), compiled on first use; undefined without fixed names or past MAX_BUILDERS. */
  private builder<V>(flag: Uint8Array, mask: number, builders: Map<number, Build<V>> | undefined, asInt: boolean): Build<V> | undefined {
    if (builders === undefined) return undefined;
    let b = builders.get(mask);
    if (b === undefined && builders.size < MAX_BUILDERS) {
      b = compileBuilder<V>(this.names, flag, this.n, asInt);
      if (b === undefined) {
        // no code generation here: plain records from now on
        this.numberBuilders = undefined;
        this.textBuilders = undefined;
        return undefined;
      }
      builders.set(mask, b);
    }
    return b;
  }

  /** assignments: a[i] for every flagged member (`ints`: all of them integers). */
  private numberRecord(flag: Uint8Array, mask: number, ints: boolean, a: Float64Array): Record<string, number> {
    const b = ints ? this.builder(flag, mask, this.numberBuilders, true) : undefined;
    if (b !== undefined) return b(a);
    const out: Record<string, number> = {};
    const names = this.names;
    for (let i = 0; i < this.n; i++) if (flag[i]) out[names[i]!] = a[i]!;
    return out;
  }

  /** reasons: texts[i] for every flagged member. */
  private textRecord(flag: Uint8Array, mask: number, texts: readonly string[]): Record<string, string> {
    const b = this.builder(flag, mask, this.textBuilders, false);
    if (b !== undefined) return b(texts);
    const out: Record<string, string> = {};
    const names = this.names;
    for (let i = 0; i < this.n; i++) if (flag[i]) out[names[i]!] = texts[i]!;
    return out;
  }

  /**
   * The result records from `a`: assignments for the listed members (selected, or running or given
   * replicas), reasons where a constraint applies — duplicate: fewer than desired, unhealthy or not
   * selected; otherwise: unhealthy, at max, min out of reach, or (capacity) where replicas run, how many
   * more would fit there. One pass: the key masks and the integer check on the way.
   */
  private records(desired: number, strategy: SpreadStrategy): { assignments: Record<string, number>; reasons: Record<string, string> } {
    const { n, a, fit, current, healthy, selected, hasMax, maxV, hasMin, minV, listed, flag, texts } = this;
    const duplicate = strategy === 'duplicate';
    const capacity = strategy === 'capacity';
    let listedMask = 0;
    let flagMask = 0;
    let ints = true;
    for (let i = 0; i < n; i++) {
      const ai = a[i]!;
      // Members outside the placement that run nothing are left out of the result.
      const l = selected[i] || ai > 0 || current[i]! > 0 ? 1 : 0;
      listed[i] = l;
      let f = 0;
      if (l) {
        if ((ai | 0) !== ai) ints = false;
        const constrained = duplicate
          ? ai < desired || !healthy[i] || !selected[i]
          : !healthy[i] || (hasMax[i] && ai >= maxV[i]!) || (hasMin[i] && minV[i]! > fit[i]!) || (capacity && (ai > 0 || current[i]! > 0));
        if (constrained) {
          f = 1;
          texts[i] = this.describe(i, ai, strategy);
        }
      }
      flag[i] = f;
      listedMask = listedMask * 2 + l;
      flagMask = flagMask * 2 + f;
    }
    return { assignments: this.numberRecord(listed, listedMask, ints, a), reasons: this.textRecord(flag, flagMask, texts) };
  }

  divide(desiredIn: number, strategy: SpreadStrategy, exact: boolean): SpreadResult {
    const { n, fit, limit, cap, current, healthy, selected, hasMax, maxV, minV, a } = this;
    const desired = count(desiredIn);
    const capacity = strategy === 'capacity';
    // The division (below, for capacity and weighted) runs over the members that can take replicas
    // (healthy and selected), compacted in member order: every other member has cap 0 and floor 0,
    // so it gets 0 at every step, and ties between the rest still go by member order.
    const { act, cCap: capA, cFloor: floorA, cCur: curA, weight } = this;
    let m = 0;
    let sumCap = 0;
    let sumFloor = 0;
    for (let i = 0; i < n; i++) {
      let f = 0;
      let lim = -1;
      const active = healthy[i] && selected[i];
      if (active) {
        const run = running(current[i]!, this.pending[i]!, this.bound[i]!);
        const nodes = this.nodes[i];
        f = nodes ? nodesFit(nodes, run, this.q, this.nodeFree, this.nodeCounts, this) : fitCore(this.free, 3 * i, run, this.q, this);
        lim = this.fitLimit;
      }
      fit[i] = f;
      limit[i] = lim;
      const c = Math.min(f, hasMax[i] ? maxV[i]! : MAX_REPLICAS);
      const fl = Math.min(minV[i]!, c);
      cap[i] = c;
      if (active) {
        act[m] = i;
        capA[m] = c;
        floorA[m] = fl;
        curA[m] = current[i]!;
        weight[m] = capacity ? f : this.staticWeight[i]!;
        sumCap += c;
        sumFloor += fl;
        m++;
      }
    }

    if (strategy === 'duplicate') {
      let unschedulable = 0;
      let eligible = 0;
      for (let i = 0; i < n; i++) {
        const ai = Math.min(desired, cap[i]!);
        a[i] = ai;
        if (healthy[i] && selected[i]) {
          eligible++;
          unschedulable += desired - ai;
        }
      }
      if (eligible === 0) unschedulable = desired;
      const { assignments, reasons } = this.records(desired, strategy);
      if (!(unschedulable > 0)) return { desired, assignments, unschedulable, reasons };
      const unschedulableReason = eligible === 0 ? 'no healthy selected member' : `${plural(unschedulable, 'replica')} do not fit on every member`;
      return { desired, assignments, unschedulable, reasons, unschedulableReason };
    }

    const { fair, d1, d2, o1, o2, aC, s } = this;
    const total = Math.min(desired, sumCap);
    fairSharesInto(fair, m, total, weight, floorA, capA, s);

    // Steady state: start from the current split, fix what is infeasible.
    const withFloors = sumFloor <= total;
    let sum = 0;
    for (let j = 0; j < m; j++) {
      const v = withFloors ? Math.max(Math.min(curA[j]!, capA[j]!), floorA[j]!) : Math.min(curA[j]!, capA[j]!);
      aC[j] = v;
      sum += v;
    }

    if (exact || sum === 0) {
      // Nothing placed yet (or exact): the additions below would be the fair shares themselves.
      for (let j = 0; j < m; j++) aC[j] = fair[j]!;
    } else if (sum < total) {
      for (let j = 0; j < m; j++) d1[j] = Math.max(0, fair[j]! - aC[j]!);
      apportionInto(o1, m, total - sum, d1, d1, s);
      for (let j = 0; j < m; j++) aC[j]! += o1[j]!;
    } else if (sum > total) {
      for (let j = 0; j < m; j++) d1[j] = Math.max(0, aC[j]! - fair[j]!);
      apportionInto(o1, m, sum - total, d1, d1, s);
      for (let j = 0; j < m; j++) aC[j]! -= o1[j]!;
    } else {
      const violator = this.violator;
      let eOver = 0;
      let eUnder = 0;
      for (let j = 0; j < m; j++) {
        const tol = Math.max(1, 0.1 * fair[j]!);
        const d = aC[j]! - fair[j]!;
        violator[j] = 0;
        if (d > tol) {
          eOver += d;
          violator[j] = 1;
        } else if (-d > tol) {
          eUnder += -d;
          violator[j] = 1;
        }
      }
      if (eOver + eUnder > 0) {
        const moves = Math.max(eOver, eUnder);
        // Non-violators compensate, proportional to their own surplus/deficit.
        for (let j = 0; j < m; j++) {
          d1[j] = violator[j] ? 0 : Math.max(0, aC[j]! - fair[j]!);
          d2[j] = violator[j] ? 0 : Math.max(0, fair[j]! - aC[j]!);
        }
        apportionInto(o1, m, moves - eOver, d1, d1, s);
        apportionInto(o2, m, moves - eUnder, d2, d2, s);
        for (let j = 0; j < m; j++) aC[j] = violator[j] ? fair[j]! : aC[j]! - o1[j]! + o2[j]!;
      }
    }
    // the compacted result back in member order (0 for the members outside the division)
    for (let i = 0, j = 0; i < n; i++) a[i] = j < m && act[j] === i ? aC[j++]! : 0;
    const { assignments, reasons } = this.records(desired, strategy);
    const unschedulable = desired - total;
    if (!(unschedulable > 0)) return { desired, assignments, unschedulable, reasons };
    let healthyCount = 0;
    for (let i = 0; i < n; i++) if (healthy[i] && selected[i]) healthyCount++;
    const unschedulableReason =
      healthyCount === 0
        ? 'no healthy selected member'
        : `only ${plural(total, 'replica')} fit across ${plural(healthyCount, 'healthy member')} (capacity and per-cluster max)`;
    return { desired, assignments, unschedulable, reasons, unschedulableReason };
  }
}

const byName = (a: SpreadMember, b: SpreadMember) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
// The default engine behind divideReplicas (its scratch reused across calls); memberTable makes its own.
const shared = new Divider();
let depth = 0;

/** Divides an app's replicas over member clusters. See the file header for the algorithm. */
export function divideReplicas(input: SpreadInput): SpreadResult {
  let sorted = true;
  for (let i = 1; i < input.members.length && sorted; i++) if (byName(input.members[i - 1]!, input.members[i]!) > 0) sorted = false;
  const members = sorted ? input.members : [...input.members].sort(byName);
  // One engine reused across calls; a fresh one should a call ever nest (its input getters re-entering).
  const d = depth === 0 ? shared : new Divider();
  depth++;
  try {
    d.load(members, input.request);
    return d.divide(input.desired, input.strategy, !!input.exact);
  } finally {
    depth--;
  }
}

/**
 * Many divisions over one fixed, name-ordered member list (`cluster-mgr plan`): the caller sets the
 * members' capacity once, then per app the request and per-member inputs, and calls `divide`. Each
 * result equals divideReplicas on the same SpreadInput.
 */
export interface MemberTable {
  readonly n: number;
  /** Member i's health and capacity (fixed for the table's life). */
  setCapacity(i: number, healthy: boolean, allocatable: Resources, allocated: Resources): void;
  /** Starts an app: its per-replica request; every member selected, current 0, no weight/min/max. */
  startApp(request: Resources): void;
  /** Member i's per-app inputs (SpreadMember.selected / current / weight / min / max). */
  setSelected(i: number, selected: boolean): void;
  setCurrent(i: number, current: number | undefined): void;
  /** Member i's per-node free room for this app, its Pending replicas and bound pods (SpreadMember.nodes / pending / running). */
  setNodes(i: number, nodes: readonly Resources[] | undefined, pending: number | undefined, running?: number): void;
  setPerCluster(i: number, pc: { readonly weight?: number; readonly min?: number; readonly max?: number } | undefined): void;
  divide(desired: number, strategy: SpreadStrategy, exact: boolean): SpreadResult;
}

/** A MemberTable over `names` (in the order divideReplicas sorts members: by name, stable). */
export function memberTable(names: readonly string[]): MemberTable {
  const d = new Divider();
  d.fixNames(names);
  return d;
}
/**
 * Failback pacing: limits how many replicas each `returning` member gains in one step (the rest stay
 * where they are now), keeping the total. Pure; used by the daemon once per reconcile.
 */
export function paceReturn(
  current: Readonly<Record<string, number>>,
  target: Readonly<Record<string, number>>,
  returning: ReadonlySet<string>,
  limit: number,
): Record<string, number> {
  const names = Object.keys(target).sort();
  const out: Record<string, number> = { ...target };
  let held = 0;
  for (const name of names) {
    if (!returning.has(name)) continue;
    const cur = count(current[name]);
    const allowed = cur + Math.max(0, Math.floor(limit));
    if (target[name]! > allowed) {
      held += target[name]! - allowed;
      out[name] = allowed;
    }
  }
  if (held === 0) return out;
  // Give the held-back replicas to the members that were losing them, up to what they had.
  const losers = names.filter((n) => !returning.has(n) && count(current[n]) > target[n]!);
  const loss = losers.map((n) => count(current[n]) - target[n]!);
  let sumLoss = 0;
  for (const l of loss) sumLoss += l;
  const back = apportion(Math.min(held, sumLoss), loss, loss);
  losers.forEach((n, i) => (out[n] = target[n]! + back[i]!));
  // A scale-up while returning: what nobody lost cannot be held back anywhere, so it goes ahead.
  let extra = held - Math.min(held, sumLoss);
  for (const name of names) {
    if (extra === 0) break;
    if (!returning.has(name)) continue;
    const more = Math.min(extra, target[name]! - out[name]!);
    out[name]! += more;
    extra -= more;
  }
  return out;
}
