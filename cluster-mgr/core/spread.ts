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
// object (Divider) holds all mutable state — member rows and division rows, each in ONE strided
// Float64Array (enums M and C) reused across calls, the last fit's limiting resource, the
// reason-text tables; a plan resets only the members the previous app set; spread-reference.ts is the same
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
const enum Limit {
  // A const enum member is inlined as a literal; a module constant is a context load and type check in every loop iteration.
  Replicas = 1_000_000,
}
export const MAX_REPLICAS: number = Limit.Replicas;

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
    const n = fitting(free[at + k]!, current, qk);
    if (n < best) {
      best = n;
      limit = k;
    }
  }
  out.fitLimit = limit;
  return Math.max(0, Math.min(MAX_REPLICAS, best));
}

/**
 * Replicas that fit by one resource: floor((free + running × request) / request), 0 when nothing is
 * free; request > 0. A tiny epsilon absorbs binary-float noise (0.1 + 0.2) without ever rounding a
 * real shortfall up.
 */
function fitting(free: number, running: number, request: number): number {
  const f = free + running * request;
  return f > 0 ? Math.floor(f / request + 1e-9) : 0;
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

/**
 * Fields of one row of the division scratch (`Divider.c`): one row per member taking part in the
 * division (row j at j × C.Stride). All of a row's numbers live in ONE Float64Array: the optimizing
 * compiler re-checks every typed array at each loop iteration (its map, length and data pointer), so a
 * loop over one strided array costs one such check per iteration where ten arrays cost ten — this
 * halved the division's instructions (callgrind; docs/cluster-mgr.md).
 */
const enum C {
  Cap,
  Floor,
  Cur,
  Weight,
  Fair,
  /** The steady-state split being built. */
  Split,
  D1,
  D2,
  O1,
  O2,
  ApFrac,
  FsFrac,
  Real,
  FixedV,
  IsFixed,
  Violator,
  Ind,
  Stride,
}

/**
 * Reorders idx[0..len) so that idx[0..k) are the first k rows in the order of `desc`
 * (desc: largest key b[row × C.Stride + keyF] first, ties by lower row; else smallest key first, ties
 * by higher row), in any order among themselves: quickselect, O(len) expected, no allocation. Both
 * orders are total for the finite keys used here, so the chosen set is exactly the first k of the
 * sorted list (the order of Array#sort with `key[b] - key[a] || a - b`, or `key[a] - key[b] || b - a`).
 */
function selectFirst(idx: Int32Array, len: number, k: number, b: Float64Array, keyF: number, desc: boolean): void {
  let lo = 0;
  let hi = len - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    const p = idx[mid]!;
    const kp = b[p * C.Stride + keyF]!;
    idx[mid] = idx[hi]!;
    idx[hi] = p;
    let store = lo;
    // x before p: desc — a larger key, or the same key and a lower row; else a smaller key, or the same and a higher row
    if (desc) {
      for (let j = lo; j < hi; j++) {
        const x = idx[j]!;
        const kx = b[x * C.Stride + keyF]!;
        if (kx > kp || (kx === kp && x < p)) {
          idx[j] = idx[store]!;
          idx[store] = x;
          store++;
        }
      }
    } else {
      for (let j = lo; j < hi; j++) {
        const x = idx[j]!;
        const kx = b[x * C.Stride + keyF]!;
        if (kx < kp || (kx === kp && x > p)) {
          idx[j] = idx[store]!;
          idx[store] = x;
          store++;
        }
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
 * Hands out `rest` units (+1 each to field outF) in passes over the rows in the order of keyF (desc):
 * each pass gives one unit to every row below its bound (field boundF), in that order, until none is
 * left. A pass that reaches everyone needs no order; only a partial pass picks its first rows. `sign`
 * −1 takes units back instead (from rows above their bound). `untilZero`: a pass stops only when
 * exactly nothing is left (so a fractional `rest` reaches everyone), else as soon as nothing positive is.
 */
function distribute(b: Float64Array, n: number, rest: number, outF: number, boundF: number, keyF: number, desc: boolean, sign: 1 | -1, untilZero: boolean, idx: Int32Array): void {
  while (rest > 0) {
    let len = 0;
    for (let i = 0; i < n; i++) {
      const o = b[i * C.Stride + outF]!;
      const bound = b[i * C.Stride + boundF]!;
      if (sign > 0 ? o < bound : o > bound) idx[len++] = i;
    }
    if (len === 0) return;
    if (rest >= len || (untilZero && !Number.isInteger(rest))) {
      for (let k = 0; k < len; k++) b[idx[k]! * C.Stride + outF]! += sign;
      rest -= len;
    } else {
      const k = Math.ceil(rest);
      selectFirst(idx, len, k, b, keyF, desc);
      for (let j = 0; j < k; j++) b[idx[j]! * C.Stride + outF]! += sign;
      return;
    }
  }
}

/**
 * Distributes `total` integer units over the weights (field wF) into field outF of rows [0, n),
 * never giving row i more than its limit (field limF). Largest remainder; ties by row (callers order
 * members by name). Requires Σ limit ≥ total. Uses fields ApFrac and Ind. `knownW`: Σ weight over the
 * rows with limit > 0, summed in row order, when the caller has it.
 */
function apportionInto(b: Float64Array, n: number, total: number, outF: number, wF: number, limF: number, idx: Int32Array, knownW?: number): void {
  if (total <= 0) {
    for (let i = 0; i < n; i++) b[i * C.Stride + outF] = 0;
    return;
  }
  // Σ weight over the rows with room: `knownW` when the caller summed it on the way (weights = limits ≥ 0)
  let W = 0;
  if (knownW !== undefined) W = knownW;
  else for (let i = 0; i < n; i++) if (b[i * C.Stride + limF]! > 0) W += b[i * C.Stride + wF]!;
  if (W <= 0) {
    // No weight anywhere: fall back to equal weights among members with room.
    for (let i = 0; i < n; i++) b[i * C.Stride + C.Ind] = b[i * C.Stride + limF]! > 0 ? 1 : 0;
    apportionInto(b, n, total, outF, C.Ind, limF, idx);
    return;
  }
  let given = 0;
  for (let i = 0; i < n; i++) {
    const r = i * C.Stride;
    const limit = b[r + limF]!;
    const w = b[r + wF]!;
    b[r + C.ApFrac] = -1;
    if (limit <= 0 || w <= 0) {
      b[r + outF] = 0;
      continue;
    }
    const share = Math.min((total * w) / W, limit);
    const o = Math.min(Math.floor(share), limit);
    b[r + outF] = o;
    b[r + C.ApFrac] = share - o;
    given += o;
  }
  // Largest remainder first, ties by index; usually one pass (more when limits cut shares — the
  // water-filling in fairSharesInto avoids that case).
  distribute(b, n, total - given, outF, limF, C.ApFrac, true, 1, false, idx);
}

function apportion(total: number, weights: readonly number[], limit: readonly number[]): number[] {
  const n = weights.length;
  const b = new Float64Array(n * C.Stride);
  for (let i = 0; i < n; i++) {
    b[i * C.Stride + C.D1] = weights[i]!;
    b[i * C.Stride + C.D2] = limit[i]!;
  }
  apportionInto(b, n, total, C.O1, C.D1, C.D2, new Int32Array(n));
  return Array.from({ length: n }, (_, i) => b[i * C.Stride + C.O1]!);
}

/** After integerizing the fair shares: `rest` more units to the largest fractions (up to cap), or −rest back from the smallest (down to floor). */
function settleRest(b: Float64Array, n: number, rest: number, idx: Int32Array): void {
  if (rest > 0) distribute(b, n, rest, C.Fair, C.Cap, C.FsFrac, true, 1, true, idx);
  else if (rest < 0) distribute(b, n, -rest, C.Fair, C.Floor, C.FsFrac, false, -1, true, idx);
}

/**
 * fairSharesInto's usual case in two passes: the first water-filling round fixes nothing (no share
 * above its cap or below its floor), so the shares are integerized as they are computed. False, with
 * the Fair field unspecified, when a share is out of bounds (the caller runs the general rounds).
 */
function fairSharesOneRound(b: Float64Array, n: number, total: number, W: number, freeCount: number, idx: Int32Array): boolean {
  if (freeCount === 0) return false;
  const Wt = W > 0 ? W : freeCount;
  let given = 0;
  // the rows below their cap, in row order: settleRest's first candidates, listed on the way
  let below = 0;
  for (let i = 0; i < n; i++) {
    const r = i * C.Stride;
    const c = b[r + C.Cap]!;
    if (!(c > 0)) {
      // fixed at 0 in the general rounds: share 0, nothing left over
      b[r + C.Fair] = 0;
      b[r + C.FsFrac] = 0;
      continue;
    }
    const share = (total * (W > 0 ? b[r + C.Weight]! : 1)) / Wt;
    const f = b[r + C.Floor]!;
    if (share > c || share < f) return false;
    const o = Math.min(c, Math.max(f, Math.floor(share + 1e-9)));
    b[r + C.Fair] = o;
    b[r + C.FsFrac] = share - o;
    given += o;
    if (o < c) idx[below++] = i;
  }
  const rest = total - given;
  if (rest > 0 && rest < below && Number.isInteger(rest)) {
    // settleRest's usual case: one partial pass — the `rest` largest fractions get one more
    selectFirst(idx, below, rest, b, C.FsFrac, true);
    for (let j = 0; j < rest; j++) b[idx[j]! * C.Stride + C.Fair]! += 1;
  } else settleRest(b, n, rest, idx);
  return true;
}

/**
 * Integer fair shares into field Fair of rows [0, n): `total` proportional to field Weight, clamped
 * to [Floor, Cap] by water-filling. The caller passes the rows' sums (it builds them anyway): Σ Floor,
 * and over the rows with Cap > 0, Σ Weight and their count.
 */
function fairSharesInto(b: Float64Array, n: number, total: number, sumFloor: number, W: number, freeCount: number, idx: Int32Array): void {
  if (sumFloor >= total) {
    apportionInto(b, n, total, C.Fair, C.Floor, C.Floor, idx);
    return;
  }
  if (fairSharesOneRound(b, n, total, W, freeCount, idx)) return;
  for (let i = 0; i < n; i++) {
    b[i * C.Stride + C.IsFixed] = 0;
    b[i * C.Stride + C.Real] = 0;
  }
  for (let round = 0; round <= n; round++) {
    let remaining = total;
    let W = 0;
    let freeCount = 0;
    for (let i = 0; i < n; i++) {
      const r = i * C.Stride;
      if (b[r + C.IsFixed]) remaining -= b[r + C.FixedV]!;
      else if (b[r + C.Cap]! > 0) {
        W += b[r + C.Weight]!;
        freeCount++;
      } else {
        b[r + C.IsFixed] = 1;
        b[r + C.FixedV] = 0;
      }
    }
    if (freeCount === 0) break;
    const Wt = W > 0 ? W : freeCount;
    let overCap = false;
    let underFloor = false;
    for (let i = 0; i < n; i++) {
      const r = i * C.Stride;
      if (b[r + C.IsFixed]) continue;
      const share = (remaining * (W > 0 ? b[r + C.Weight]! : 1)) / Wt;
      b[r + C.Real] = share;
      if (share > b[r + C.Cap]!) overCap = true;
      else if (share < b[r + C.Floor]!) underFloor = true;
    }
    if (!overCap && !underFloor) break;
    for (let i = 0; i < n; i++) {
      const r = i * C.Stride;
      if (b[r + C.IsFixed]) continue;
      if (overCap && b[r + C.Real]! > b[r + C.Cap]!) {
        b[r + C.IsFixed] = 1;
        b[r + C.FixedV] = b[r + C.Cap]!;
      } else if (!overCap && b[r + C.Real]! < b[r + C.Floor]!) {
        b[r + C.IsFixed] = 1;
        b[r + C.FixedV] = b[r + C.Floor]!;
      }
    }
  }
  for (let i = 0; i < n; i++) if (b[i * C.Stride + C.IsFixed]) b[i * C.Stride + C.Real] = b[i * C.Stride + C.FixedV]!;
  // Integerize: floor of each real share (never below floor, never above cap), remainder by largest fraction.
  let given = 0;
  for (let i = 0; i < n; i++) {
    const r = i * C.Stride;
    const cap = b[r + C.Cap]!;
    const floor = b[r + C.Floor]!;
    const share = Math.min(cap, Math.max(floor, b[r + C.Real]!));
    const o = Math.min(cap, Math.max(floor, Math.floor(share + 1e-9)));
    b[r + C.Fair] = o;
    b[r + C.FsFrac] = share - o;
    given += o;
  }
  settleRest(b, n, total - given, idx);
}


const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// Reason texts repeat across apps ("capacity: 3 more replicas fit (cpu)"): each engine keeps them in
// bounded tables so that a plan over thousands of apps shares one string per distinct text. Keys are
// mostly small whole numbers (replica counts): those index an array (a Map lookup per flagged member
// was the largest single cost of a plan's reasons); any other key goes to a bounded Map.
const TEXT_CACHE = 16_384;

class TextTable {
  private small: (string | undefined)[] | undefined;
  private readonly other = new Map<number, string>();
  constructor(private readonly make: (key: number) => string) {}

  get(key: number): string {
    if (key >= 0 && key < TEXT_CACHE && (key | 0) === key) {
      const small = (this.small ??= new Array<string | undefined>(TEXT_CACHE));
      return small[key] ?? (small[key] = this.make(key));
    }
    const known = this.other.get(key);
    if (known !== undefined) return known;
    const text = this.make(key);
    if (this.other.size < TEXT_CACHE) this.other.set(key, text);
    return text;
  }
}

class ReasonTexts {
  /** Index 0: no limiting resource; 1 + k: LIMIT_NAMES[k]. */
  private readonly capacityTexts = [-1, 0, 1, 2, 3].map((limit) => new TextTable((more) => `capacity: ${plural(more, 'more replica')} fit (${limit < 0 ? 'unlimited' : LIMIT_NAMES[limit]!})`));
  private readonly maxTexts = new TextTable((max) => `max: ${max} (placement.perCluster)`);
  private readonly weightTexts = new TextTable((w) => `weighted: weight ${w}`);
  private readonly unhealthyTexts = new TextTable((current) => `unhealthy: ${plural(current, 'replica')} moved to healthy members`);

  capacity(more: number, limit: number): string {
    return this.capacityTexts[limit + 1]!.get(more);
  }
  max(max: number): string {
    return this.maxTexts.get(max);
  }
  weight(w: number): string {
    return this.weightTexts.get(w);
  }
  unhealthy(current: number): string {
    return current <= 0 ? 'unhealthy' : this.unhealthyTexts.get(current);
  }
}

/**
 * A compiled record builder per set of keys: `(v) => ({ "m00": v[16] | 0, "m03": v[67] | 0, … })`
 * for assignments (read from the member rows), `(v) => ({ "m00": v[0], … })` for reasons. An object
 * literal with fixed keys is created from one boilerplate in a single allocation with monomorphic
 * stores, where a copied template plus one keyed (megamorphic) store per member cost about 10 % of
 * `cluster-mgr plan`'s instructions. The source is built only from JSON.stringify'd member names and
 * integer indices, so no input reaches it as code; names with `__proto__` get no builders (fixNames).
 */
type Build<V> = (values: ArrayLike<V>) => Record<string, V>;
const MAX_BUILDERS = 2048;
/** Members a key mask (a double) holds exactly; builders are made only for member lists up to this size (fixNames). */
const MASK_BITS = 52;

/**
 * The builder for the flagged members' keys, reading member
 * i's value at v[i × stride + at]; undefined where code generation is disallowed
 * (`--disallow-code-generation-from-strings`).
 */
function compileBuilder<V>(names: readonly string[], flags: readonly boolean[], stride: number, at: number, asInt: boolean): Build<V> | undefined {
  const fields: string[] = [];
  for (let i = 0; i < flags.length; i++) if (flags[i]) fields.push(`${JSON.stringify(names[i])}:v[${i * stride + at}]${asInt ? '|0' : ''}`);
  try {
    return new Function('v', `"use strict";return {${fields.join(',')}};`) as Build<V>;
  } catch {
    return undefined;
  }
}

/**
 * The builders compiled for the last few member lists, kept across tables: a builder is code, the
 * same for every table over the same names, and one compiled by an earlier plan is already warm
 * (a fresh one starts in the interpreter, and most never run often enough within one plan to be
 * optimized). Keyed by the JSON of the names; the oldest list goes past KEPT_LISTS.
 */
const kept = new Map<string, { numbers: Map<number, Build<number>>; texts: Map<number, Build<string>> }>();
const KEPT_LISTS = 8;

function keptBuilders(names: readonly string[]): { numbers: Map<number, Build<number>>; texts: Map<number, Build<string>> } {
  const key = JSON.stringify(names);
  let b = kept.get(key);
  if (b === undefined) {
    if (kept.size >= KEPT_LISTS) kept.delete(kept.keys().next().value!);
    kept.set(key, (b = { numbers: new Map(), texts: new Map() }));
  }
  return b;
}

/**
 * Fields of a member's row in `Divider.t` (member i at i × M.Stride): its inputs, then what one
 * division derives for it. One Float64Array for the same reason as C (division rows).
 */
const enum M {
  Healthy,
  Current,
  Pending,
  /** Bound pods (-1: not reported). */
  Bound,
  /** allocatable − allocated per RESOURCES index (each made non-negative first). */
  Free0,
  Free1,
  Free2,
  /** Static weight (`weighted`). */
  Weight,
  HasMin,
  Min,
  HasMax,
  Max,
  Fit,
  /** The resource that limited the fit (index into LIMIT_NAMES, -1: none). */
  Limit,
  Cap,
  Assigned,
  /** In the result's assignments. */
  Listed,
  /** In the result's reasons. */
  Flagged,
  /** Per-node room given (Divider.nodes[i]). */
  HasNodes,
  /** Per-app inputs set since startApp (listed in Divider.dirty). */
  Dirty,
  Stride,
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
  /** Member rows (M): inputs and per-division results. */
  private t = new Float64Array(0);
  /** Per-node free room per member (undefined: use the row's Free fields). */
  private nodes: (readonly Resources[] | undefined)[] = [];
  private readonly nodeFree = [0, 0, 0];
  private readonly nodeCounts = [0, 0, 0];
  /** One replica's request, per RESOURCES index (non-negative). */
  private readonly q = new Float64Array(3);
  /** Division rows (C) over the active members (healthy and selected), compacted: act[j] = member index. */
  private c = new Float64Array(0);
  private act = new Int32Array(0);
  private idx = new Int32Array(0);
  /** Members whose per-app inputs differ from the defaults (startApp resets only these), and whether any selection does. */
  private dirty = new Int32Array(0);
  private dirtyCount = 0;
  /** The members the app's placement selects (non-zero), undefined: every member. Never written through (selectWhere keeps the caller's mask). */
  private sel: Uint8Array | undefined;
  /** Where setSelected and load write the selection. */
  private ownSel = new Uint8Array(0);
  /** Every row needs its per-app defaults (after resize or load). */
  private reset = true;
  private texts: string[] = [];
  private bits = new Float64Array(0);
  /** Record builders per set of keys (bit mask over members); only with fixed names. */
  private numberBuilders: Map<number, Build<number>> | undefined;
  private textBuilders: Map<number, Build<string>> | undefined;

  resize(n: number): void {
    this.n = n;
    if (n <= this.size) return;
    this.size = n;
    this.t = new Float64Array(n * M.Stride);
    this.nodes = new Array<readonly Resources[] | undefined>(n).fill(undefined);
    this.c = new Float64Array(n * C.Stride);
    this.act = new Int32Array(n);
    this.idx = new Int32Array(n);
    this.dirty = new Int32Array(n);
    this.ownSel = new Uint8Array(n);
    this.reset = true;
    this.texts = new Array<string>(n).fill('');
  }

  /** Fixes the member names for many divisions (enables compiled record builders for the results). */
  fixNames(names: readonly string[]): void {
    this.resize(names.length);
    this.names = names;
    const templates = names.length <= MASK_BITS && !names.includes('__proto__');
    const kept = templates ? keptBuilders(names) : undefined;
    this.numberBuilders = kept?.numbers;
    this.textBuilders = kept?.texts;
  }

  /** Loads one SpreadInput (members already in name order). */
  load(members: readonly SpreadMember[], request: Resources): void {
    const n = members.length;
    this.resize(n);
    this.names = members.map((m) => m.name);
    this.numberBuilders = undefined;
    this.textBuilders = undefined;
    this.reset = true;
    this.sel = this.ownSel;
    const q = this.q;
    q[0] = nonNeg(request.cpu);
    q[1] = nonNeg(request.memory);
    q[2] = nonNeg(request.pods);
    const t = this.t;
    for (let i = 0; i < n; i++) {
      const m = members[i]!;
      const r = i * M.Stride;
      const healthy = m.healthy ? 1 : 0;
      const selected = m.selected === false ? 0 : 1;
      t[r + M.Healthy] = healthy;
      this.ownSel[i] = selected;
      t[r + M.Current] = count(m.current);
      t[r + M.Pending] = count(m.pending);
      t[r + M.Bound] = m.running === undefined ? -1 : count(m.running);
      this.nodes[i] = m.nodes;
      t[r + M.HasNodes] = m.nodes ? 1 : 0;
      // Read capacity only where the fit needs it (an excluded member's may be absent).
      for (let k = 0; k < 3; k++) {
        const res = RESOURCES[k]!;
        t[r + M.Free0 + k] = healthy && selected && q[k] !== 0 ? nonNeg(m.allocatable[res]) - nonNeg(m.allocated[res]) : 0;
      }
      t[r + M.Weight] = nonNeg(m.weight ?? 1);
      t[r + M.HasMin] = m.min !== undefined ? 1 : 0;
      t[r + M.Min] = count(m.min);
      t[r + M.HasMax] = m.max !== undefined ? 1 : 0;
      t[r + M.Max] = count(m.max);
    }
  }

  setCapacity(i: number, healthy: boolean, allocatable: Resources, allocated: Resources): void {
    const r = i * M.Stride;
    this.t[r + M.Healthy] = healthy ? 1 : 0;
    for (let k = 0; k < 3; k++) this.t[r + M.Free0 + k] = nonNeg(allocatable[RESOURCES[k]!]) - nonNeg(allocated[RESOURCES[k]!]);
  }

  startApp(request: Resources): void {
    const { n, t, q, nodes, dirty } = this;
    q[0] = nonNeg(request.cpu);
    q[1] = nonNeg(request.memory);
    q[2] = nonNeg(request.pods);
    // Back to the defaults: every member selected, current 0, no weight/min/max/nodes — only where the
    // previous app set something (a plan sets a few members per app; resetting all cost 8 % of it).
    this.sel = undefined;
    const all = this.reset;
    const rows = all ? n : this.dirtyCount;
    for (let k = 0; k < rows; k++) {
      const i = all ? k : dirty[k]!;
      const r = i * M.Stride;
      t[r + M.Current] = 0;
      t[r + M.Pending] = 0;
      t[r + M.Bound] = -1;
      t[r + M.Weight] = 1;
      t[r + M.HasMin] = 0;
      t[r + M.Min] = 0;
      t[r + M.HasMax] = 0;
      t[r + M.Max] = 0;
      t[r + M.HasNodes] = 0;
      t[r + M.Dirty] = 0;
      nodes[i] = undefined;
    }
    this.dirtyCount = 0;
    this.reset = false;
  }

  /** Member i's per-app inputs are about to change: startApp must reset them. */
  private touch(r: number, i: number): void {
    if (this.t[r + M.Dirty] === 0) {
      this.t[r + M.Dirty] = 1;
      this.dirty[this.dirtyCount++] = i;
    }
  }

  setSelected(i: number, selected: boolean): void {
    const own = this.ownSel;
    if (this.sel !== own) {
      if (this.sel) own.set(this.sel.subarray(0, this.n));
      else own.fill(1, 0, this.n);
      this.sel = own;
    }
    own[i] = selected ? 1 : 0;
  }

  selectWhere(mask: Uint8Array): void {
    this.sel = mask;
  }

  private selected(i: number): boolean {
    return this.sel === undefined || this.sel[i] !== 0;
  }

  setCurrent(i: number, current: number | undefined): void {
    const r = i * M.Stride;
    this.touch(r, i);
    this.t[r + M.Current] = count(current);
  }

  setNodes(i: number, nodes: readonly Resources[] | undefined, pending: number | undefined, running?: number): void {
    const r = i * M.Stride;
    this.touch(r, i);
    this.nodes[i] = nodes;
    this.t[r + M.HasNodes] = nodes ? 1 : 0;
    this.t[r + M.Pending] = count(pending);
    this.t[r + M.Bound] = running === undefined ? -1 : count(running);
  }

  setPerCluster(i: number, pc: { readonly weight?: number; readonly min?: number; readonly max?: number } | undefined): void {
    const r = i * M.Stride;
    const t = this.t;
    this.touch(r, i);
    t[r + M.Weight] = nonNeg(pc?.weight ?? 1);
    t[r + M.HasMin] = pc?.min !== undefined ? 1 : 0;
    t[r + M.Min] = count(pc?.min);
    t[r + M.HasMax] = pc?.max !== undefined ? 1 : 0;
    t[r + M.Max] = count(pc?.max);
  }

  /** Why member i got `assigned`. */
  private describe(i: number, assigned: number, strategy: SpreadStrategy): string {
    const t = this.t;
    const r = i * M.Stride;
    if (!this.selected(i)) return 'not selected by placement';
    if (!t[r + M.Healthy]) return this.reasonTexts.unhealthy(t[r + M.Current]!);
    const f = t[r + M.Fit]!;
    const max = t[r + M.Max]!;
    if (t[r + M.HasMax] && assigned >= max && max <= f) return this.reasonTexts.max(max);
    const limit = t[r + M.Limit]!;
    const min = t[r + M.Min]!;
    if (t[r + M.HasMin] && min > f) return `min ${min} not reachable: only ${plural(f, 'replica')} fit (${limit < 0 ? 'cpu' : LIMIT_NAMES[limit]!})`;
    if (strategy === 'weighted') return this.reasonTexts.weight(t[r + M.Weight]!);
    return this.reasonTexts.capacity(Math.max(0, f - assigned), limit);
  }

  /** Member i's Listed or Flagged field from the last records: from its `mask` bit when exact (n ≤ MASK_BITS), else from the row. */
  private flagOf(i: number, field: M.Listed | M.Flagged, mask: number): boolean {
    if (this.n > MASK_BITS) return this.t[i * M.Stride + field] !== 0;
    return Math.floor(mask / this.bits[i]!) % 2 === 1;
  }

  /** The builder for the members with field `flagF` set (`mask`: their bits in member order), compiled on first use; undefined without fixed names or past MAX_BUILDERS. */
  private builder<V>(flagF: M.Listed | M.Flagged, mask: number, builders: Map<number, Build<V>> | undefined, stride: number, at: number, asInt: boolean): Build<V> | undefined {
    if (builders === undefined) return undefined;
    let b = builders.get(mask);
    if (b === undefined && builders.size < MAX_BUILDERS) {
      const flags = Array.from({ length: this.n }, (_, i) => this.flagOf(i, flagF, mask));
      b = compileBuilder<V>(this.names, flags, stride, at, asInt);
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

  /** assignments: the Assigned field of every listed member (`ints`: all of them integers). */
  private numberRecord(mask: number, ints: boolean): Record<string, number> {
    const t = this.t;
    const b = ints ? this.builder(M.Listed, mask, this.numberBuilders, M.Stride, M.Assigned, true) : undefined;
    if (b !== undefined) return b(t);
    const out: Record<string, number> = {};
    const names = this.names;
    for (let i = 0; i < this.n; i++) if (this.flagOf(i, M.Listed, mask)) out[names[i]!] = t[i * M.Stride + M.Assigned]!;
    return out;
  }

  /** reasons: texts[i] for every flagged member. */
  private textRecord(mask: number): Record<string, string> {
    const texts = this.texts;
    const b = this.builder(M.Flagged, mask, this.textBuilders, 1, 0, false);
    if (b !== undefined) return b(texts);
    const out: Record<string, string> = {};
    const names = this.names;
    for (let i = 0; i < this.n; i++) if (this.flagOf(i, M.Flagged, mask)) out[names[i]!] = texts[i]!;
    return out;
  }

  /** bits[i] = 2^(n − 1 − i): member i's bit in a key mask (members in order, the first highest). */
  private bitsFor(n: number): Float64Array {
    if (this.bits.length !== n) this.bits = Float64Array.from({ length: n }, (_, i) => 2 ** (n - 1 - i));
    return this.bits;
  }

  /**
   * Member i's part of the key masks. With up to MASK_BITS members the masks hold every member's bit
   * exactly (a double's 53-bit mantissa), and flagOf reads the bits back from them, only to compile a
   * builder or to build a record without one; with more, the Listed/Flagged fields are written here.
   */
  private mark(r: number, listed: number, flagged: number): void {
    if (this.n > MASK_BITS) {
      this.t[r + M.Listed] = listed;
      this.t[r + M.Flagged] = flagged;
    }
  }

  /**
   * The result records of capacity and weighted from the m division rows (field `result`): assignments
   * for the listed members (selected, or running), reasons where a constraint applies — at max, min
   * out of reach, or (capacity) where replicas run, how many more would fit there. The members outside
   * the division (0 replicas) have their bits and reasons already (`listedMask`, `flagMask`: divide's
   * fit loop, which visits them anyway), so this visits the division's members only.
   */
  private divisionRecords(strategy: SpreadStrategy, m: number, result: C.Split | C.Fair, listedMask: number, flagMask: number): { assignments: Record<string, number>; reasons: Record<string, string> } {
    const { t, c, act, texts, bits } = this;
    const capacity = strategy === 'capacity';
    let ints = true;
    // The division's bits are summed in locals that start at 0 and added to the parameters after the
    // loop (the bits are distinct powers of two, so the order does not change the sums): a sum
    // carried in a parameter was kept boxed by the optimizing compiler, one heap number per member
    // per app — 9 MB of garbage per 10,000-app plan.
    let listed = 0;
    let flags = 0;
    for (let j = 0; j < m; j++) {
      const i = act[j]!;
      const r = i * M.Stride;
      const ai = c[j * C.Stride + result]!;
      t[r + M.Assigned] = ai;
      if ((ai | 0) !== ai) ints = false;
      listed += bits[i]!;
      const plain = t[r + M.HasMax] === 0 && t[r + M.HasMin] === 0;
      const flagged = (capacity && (ai > 0 || t[r + M.Current]! > 0)) || (!plain && ((t[r + M.HasMax] !== 0 && ai >= t[r + M.Max]!) || (t[r + M.HasMin] !== 0 && t[r + M.Min]! > t[r + M.Fit]!)));
      if (flagged) {
        flags += bits[i]!;
        // describe()'s answer for a healthy selected member without min/max under `capacity`
        texts[i] = plain && capacity ? this.reasonTexts.capacity(Math.max(0, t[r + M.Fit]! - ai), t[r + M.Limit]!) : this.describe(i, ai, strategy);
      }
      this.mark(r, 1, flagged ? 1 : 0);
    }
    return { assignments: this.numberRecord(listedMask + listed, ints), reasons: this.textRecord(flagMask + flags) };
  }

  /**
   * The result records of `duplicate` from the Assigned fields: assignments for the listed members
   * (selected, or running or given replicas), reasons where a member gets fewer than desired, is
   * unhealthy or not selected.
   */
  private duplicateRecords(desired: number): { assignments: Record<string, number>; reasons: Record<string, string> } {
    const { n, t, texts, sel, bits } = this;
    let listedMask = 0;
    let flagMask = 0;
    let ints = true;
    for (let i = 0; i < n; i++) {
      const r = i * M.Stride;
      const ai = t[r + M.Assigned]!;
      const selected = sel === undefined || sel[i] !== 0;
      // Members outside the placement that run nothing are left out of the result.
      const listed = selected || ai > 0 || t[r + M.Current]! > 0;
      const flagged = listed && (ai < desired || t[r + M.Healthy] === 0 || !selected);
      if (listed) {
        if ((ai | 0) !== ai) ints = false;
        listedMask += bits[i]!;
      }
      if (flagged) {
        flagMask += bits[i]!;
        texts[i] = this.describe(i, ai, 'duplicate');
      }
      this.mark(r, listed ? 1 : 0, flagged ? 1 : 0);
    }
    return { assignments: this.numberRecord(listedMask, ints), reasons: this.textRecord(flagMask) };
  }

  divide(desiredIn: number, strategy: SpreadStrategy, exact: boolean): SpreadResult {
    const { n, t, c, act, idx, sel, texts } = this;
    const desired = count(desiredIn);
    // Members outside the division get their part of the result records in the loop below
    // (divisionRecords then visits the division's members only); duplicate has its own records.
    const early = strategy !== 'duplicate';
    const bits = this.bitsFor(n);
    let listedEarly = 0;
    let flaggedEarly = 0;
    const capacity = strategy === 'capacity';
    const q0 = this.q[0]!;
    const q1 = this.q[1]!;
    const q2 = this.q[2]!;
    // The division (below, for capacity and weighted) runs over the members that can take replicas
    // (healthy and selected), compacted in member order: every other member has cap 0 and floor 0,
    // so it gets 0 at every step, and ties between the rest still go by member order.
    let m = 0;
    let sumCap = 0;
    let sumFloor = 0;
    // Σ weight and count over the rows with cap > 0 (fair shares need them)
    let W = 0;
    let withRoom = 0;
    for (let i = 0; i < n; i++) {
      const r = i * M.Stride;
      if (t[r + M.Healthy] === 0 || (sel !== undefined && sel[i] === 0)) {
        t[r + M.Fit] = 0;
        t[r + M.Limit] = -1;
        t[r + M.Cap] = 0;
        if (early) {
          // This member's part of the result records: 0 replicas; listed when selected or running;
          // a reason when unhealthy, at a max of 0, short of its min, or (capacity) running replicas.
          t[r + M.Assigned] = 0;
          const current = t[r + M.Current]!;
          const listed = sel === undefined || sel[i] !== 0 || current > 0;
          const flagged =
            listed && (t[r + M.Healthy] === 0 || (t[r + M.HasMax] !== 0 && t[r + M.Max]! <= 0) || (t[r + M.HasMin] !== 0 && t[r + M.Min]! > 0) || (capacity && current > 0));
          if (listed) listedEarly += bits[i]!;
          if (flagged) {
            flaggedEarly += bits[i]!;
            texts[i] = this.describe(i, 0, strategy);
          }
          this.mark(r, listed ? 1 : 0, flagged ? 1 : 0);
        }
        continue;
      }
      let f: number;
      let lim = -1;
      const current = t[r + M.Current]!;
      // running(0, …) is 0: most members run none of the app
      const run = current > 0 ? running(current, t[r + M.Pending]!, t[r + M.Bound]!) : 0;
      if (t[r + M.HasNodes] !== 0) {
        f = nodesFit(this.nodes[i]!, run, this.q, this.nodeFree, this.nodeCounts, this);
        lim = this.fitLimit;
      } else {
        // fitCore over the row's Free fields, written out: per resource with a request, the
        // replicas that fit by it; the smallest wins (each ≥ 0, ≤ Limit.Replicas).
        f = Limit.Replicas;
        const k0 = q0 !== 0 ? fitting(t[r + M.Free0]!, run, q0) : Limit.Replicas;
        if (k0 < f) {
          f = k0;
          lim = 0;
        }
        const k1 = q1 !== 0 ? fitting(t[r + M.Free1]!, run, q1) : Limit.Replicas;
        if (k1 < f) {
          f = k1;
          lim = 1;
        }
        const k2 = q2 !== 0 ? fitting(t[r + M.Free2]!, run, q2) : Limit.Replicas;
        if (k2 < f) {
          f = k2;
          lim = 2;
        }
      }
      t[r + M.Fit] = f;
      t[r + M.Limit] = lim;
      const cp = t[r + M.HasMax] !== 0 ? Math.min(f, t[r + M.Max]!) : Math.min(f, Limit.Replicas);
      t[r + M.Cap] = cp;
      const fl = Math.min(t[r + M.Min]!, cp);
      const w = capacity ? f : t[r + M.Weight]!;
      act[m] = i;
      const s = m * C.Stride;
      c[s + C.Cap] = cp;
      c[s + C.Floor] = fl;
      c[s + C.Cur] = current;
      c[s + C.Weight] = w;
      sumCap += cp;
      sumFloor += fl;
      if (cp > 0) {
        W += w;
        withRoom++;
      }
      m++;
    }

    if (strategy === 'duplicate') {
      let unschedulable = 0;
      let eligible = 0;
      for (let i = 0; i < n; i++) {
        const r = i * M.Stride;
        const ai = Math.min(desired, t[r + M.Cap]!);
        t[r + M.Assigned] = ai;
        if (t[r + M.Healthy] !== 0 && (sel === undefined || sel[i] !== 0)) {
          eligible++;
          unschedulable += desired - ai;
        }
      }
      if (eligible === 0) unschedulable = desired;
      const { assignments, reasons } = this.duplicateRecords(desired);
      if (!(unschedulable > 0)) return { desired, assignments, unschedulable, reasons };
      const unschedulableReason = eligible === 0 ? 'no healthy selected member' : `${plural(unschedulable, 'replica')} do not fit on every member`;
      return { desired, assignments, unschedulable, reasons, unschedulableReason };
    }

    const total = Math.min(desired, sumCap);
    fairSharesInto(c, m, total, sumFloor, W, withRoom, idx);

    // Steady state: start from the current split, fix what is infeasible; on the way each row's
    // deficit (D1) and surplus (D2) against its fair share, and their sums.
    const withFloors = sumFloor <= total;
    let sum = 0;
    let deficits = 0;
    let surpluses = 0;
    for (let j = 0; j < m; j++) {
      const s = j * C.Stride;
      const cur = Math.min(c[s + C.Cur]!, c[s + C.Cap]!);
      const v = withFloors ? Math.max(cur, c[s + C.Floor]!) : cur;
      const fair = c[s + C.Fair]!;
      const under = Math.max(0, fair - v);
      const over = Math.max(0, v - fair);
      c[s + C.Split] = v;
      c[s + C.D1] = under;
      c[s + C.D2] = over;
      sum += v;
      deficits += under;
      surpluses += over;
    }

    // The field holding the result per row.
    let result: C.Split | C.Fair = C.Split;
    if (exact || sum === 0) {
      // Nothing placed yet (or exact): the additions below would be the fair shares themselves.
      result = C.Fair;
    } else if (sum < total) {
      // scale-up: add to the rows below their fair share, proportional to their deficits
      apportionInto(c, m, total - sum, C.O1, C.D1, C.D1, idx, deficits);
      for (let j = 0; j < m; j++) c[j * C.Stride + C.Split]! += c[j * C.Stride + C.O1]!;
    } else if (sum > total) {
      // scale-down: take from the rows above their fair share, proportional to their surpluses
      apportionInto(c, m, sum - total, C.O1, C.D2, C.D2, idx, surpluses);
      for (let j = 0; j < m; j++) c[j * C.Stride + C.Split]! -= c[j * C.Stride + C.O1]!;
    } else {
      let eOver = 0;
      let eUnder = 0;
      for (let j = 0; j < m; j++) {
        const s = j * C.Stride;
        const fair = c[s + C.Fair]!;
        const tol = Math.max(1, 0.1 * fair);
        const d = c[s + C.Split]! - fair;
        c[s + C.Violator] = 0;
        if (d > tol) {
          eOver += d;
          c[s + C.Violator] = 1;
        } else if (-d > tol) {
          eUnder += -d;
          c[s + C.Violator] = 1;
        }
      }
      if (eOver + eUnder > 0) {
        const moves = Math.max(eOver, eUnder);
        // Non-violators compensate, proportional to their own surplus/deficit.
        for (let j = 0; j < m; j++) {
          const s = j * C.Stride;
          const violator = c[s + C.Violator] !== 0;
          const split = c[s + C.Split]!;
          const fair = c[s + C.Fair]!;
          c[s + C.D1] = violator ? 0 : Math.max(0, split - fair);
          c[s + C.D2] = violator ? 0 : Math.max(0, fair - split);
        }
        apportionInto(c, m, moves - eOver, C.O1, C.D1, C.D1, idx);
        apportionInto(c, m, moves - eUnder, C.O2, C.D2, C.D2, idx);
        for (let j = 0; j < m; j++) {
          const s = j * C.Stride;
          c[s + C.Split] = c[s + C.Violator] !== 0 ? c[s + C.Fair]! : c[s + C.Split]! - c[s + C.O1]! + c[s + C.O2]!;
        }
      }
    }
    const { assignments, reasons } = this.divisionRecords(strategy, m, result, listedEarly, flaggedEarly);
    const unschedulable = desired - total;
    if (!(unschedulable > 0)) return { desired, assignments, unschedulable, reasons };
    const unschedulableReason =
      m === 0 ? 'no healthy selected member' : `only ${plural(total, 'replica')} fit across ${plural(m, 'healthy member')} (capacity and per-cluster max)`;
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
  /** Every member's `selected` at once: mask[i] non-zero (kept, not copied: unchanged until `divide` returns). */
  selectWhere(mask: Uint8Array): void;
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
