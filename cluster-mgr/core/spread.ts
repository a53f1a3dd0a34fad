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
// quickselect instead of a sort; reason texts are shared; result records are copies of fast-mode
// templates per key set (see COPY_SITES). planAll drives it through memberTable().

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
  for (let i = 0; i < n; i++) out[i] = 0;
  if (total <= 0) return;
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
    if (limit[i]! <= 0 || weights[i]! <= 0) continue;
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
  const rest = total - given;
  if (rest > 0) distribute(out, n, rest, cap, frac, true, 1, true, s.idx);
  else if (rest < 0) distribute(out, n, -rest, floor, frac, false, -1, true, s.idx);
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
 * Copy sites for record templates. V8 copies an object on its fast path only at a site that has seen
 * at most four source shapes; reasons come in many key sets, so templates are spread over these
 * (identical) sites, each template bound to one. Past 4 × sites templates, copies still work, slowly.
 */
type Copy = <V>(t: Record<string, V>) => Record<string, V>;
const COPY_SITES: readonly Copy[] = [
  (t) => ({ ...t }), (t) => ({ ...t }), (t) => ({ ...t }), (t) => ({ ...t }),
  (t) => ({ ...t }), (t) => ({ ...t }), (t) => ({ ...t }), (t) => ({ ...t }),
  (t) => ({ ...t }), (t) => ({ ...t }), (t) => ({ ...t }), (t) => ({ ...t }),
  (t) => ({ ...t }), (t) => ({ ...t }), (t) => ({ ...t }), (t) => ({ ...t }),
];

/** Above this many keys, objects built by keyed stores turn into (large, slow) hash tables in V8. */
const SMALL_RECORD = 16;
interface Template<V> {
  readonly record: Record<string, V>;
  readonly copy: Copy;
}
const MAX_TEMPLATES = 2048;

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
  private floor = new Float64Array(0);
  private weight = new Float64Array(0);
  private fair = new Float64Array(0);
  private a = new Float64Array(0);
  private d1 = new Float64Array(0);
  private d2 = new Float64Array(0);
  private o1 = new Float64Array(0);
  private o2 = new Float64Array(0);
  private flag = new Uint8Array(0);
  private listed = new Uint8Array(0);
  private texts: string[] = [];
  private s: Scratch = newScratch(0);
  /** Fast-mode object templates per set of keys (bit mask over members); only with fixed names. */
  private numberTemplates: Map<number, Template<number>> | undefined;
  private textTemplates: Map<number, Template<string>> | undefined;
  /** Templates made so far (both kinds): four per copy site. */
  private templateCount = 0;

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
    this.floor = new Float64Array(n);
    this.weight = new Float64Array(n);
    this.fair = new Float64Array(n);
    this.a = new Float64Array(n);
    this.d1 = new Float64Array(n);
    this.d2 = new Float64Array(n);
    this.o1 = new Float64Array(n);
    this.o2 = new Float64Array(n);
    this.flag = new Uint8Array(n);
    this.listed = new Uint8Array(n);
    this.texts = new Array<string>(n).fill('');
    this.s = newScratch(n);
  }

  /** Fixes the member names for many divisions (enables shared object templates for the results). */
  fixNames(names: readonly string[]): void {
    this.resize(names.length);
    this.names = names;
    const templates = names.length <= 52 && !names.includes('__proto__');
    this.numberTemplates = templates ? new Map() : undefined;
    this.textTemplates = templates ? new Map() : undefined;
    this.templateCount = 0;
  }

  /** Loads one SpreadInput (members already in name order). */
  load(members: readonly SpreadMember[], request: Resources): void {
    const n = members.length;
    this.resize(n);
    this.names = members.map((m) => m.name);
    this.numberTemplates = undefined;
    this.textTemplates = undefined;
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

  /**
   * The shared template object with the keys of every flagged member (member order), values `blank`;
   * undefined for few keys or when there is no template. Records copy it (`{ ...template }`): a copy
   * shares the template's hidden class (compact, fast-mode), where adding many keys one by one would
   * turn an object into a hash table. Each record kind copies at its own site, so that the site sees
   * few templates and stays on V8's fast clone path.
   */
  private template<V>(flag: Uint8Array, keys: number, templates: Map<number, Template<V>> | undefined, blank: string): Template<V> | undefined {
    if (templates === undefined || keys <= SMALL_RECORD) return undefined;
    const { n, names } = this;
    let mask = 0;
    for (let i = 0; i < n; i++) mask = mask * 2 + flag[i]!;
    let t = templates.get(mask);
    if (t === undefined && templates.size < MAX_TEMPLATES) {
      let json = '{';
      for (let i = 0; i < n; i++) if (flag[i]) json += `${json.length > 1 ? ',' : ''}${JSON.stringify(names[i])}:${blank}`;
      t = { record: JSON.parse(`${json}}`) as Record<string, V>, copy: COPY_SITES[(this.templateCount++ >> 2) % COPY_SITES.length]! };
      templates.set(mask, t);
    }
    return t;
  }

  /** assignments: a[i] for every flagged member. */
  private numberRecord(flag: Uint8Array, keys: number, a: Float64Array): Record<string, number> {
    const t = this.template(flag, keys, this.numberTemplates, '0');
    const out: Record<string, number> = t === undefined ? {} : t.copy(t.record);
    const names = this.names;
    for (let i = 0; i < this.n; i++) {
      if (!flag[i]) continue;
      const v = a[i]!;
      // Integers as small integers: a boxed double would widen the template's field type.
      const int = (v | 0) === v && (v !== 0 || 1 / v > 0);
      // A template copy already holds 0 (most members of most apps).
      if (int && v === 0 && t !== undefined) continue;
      out[names[i]!] = int ? v | 0 : v;
    }
    return out;
  }

  /** reasons: texts[i] for every flagged member. */
  private textRecord(flag: Uint8Array, keys: number, texts: readonly string[]): Record<string, string> {
    const t = this.template(flag, keys, this.textTemplates, '""');
    const out: Record<string, string> = t === undefined ? {} : t.copy(t.record);
    const names = this.names;
    for (let i = 0; i < this.n; i++) if (flag[i]) out[names[i]!] = texts[i]!;
    return out;
  }

  divide(desiredIn: number, strategy: SpreadStrategy, exact: boolean): SpreadResult {
    const { n, fit, limit, cap, floor, current, healthy, selected, hasMax, maxV, hasMin, minV, a, listed, flag, texts } = this;
    const desired = count(desiredIn);
    for (let i = 0; i < n; i++) {
      let f = 0;
      let lim = -1;
      if (healthy[i] && selected[i]) {
        const run = running(current[i]!, this.pending[i]!, this.bound[i]!);
        const nodes = this.nodes[i];
        f = nodes ? nodesFit(nodes, run, this.q, this.nodeFree, this.nodeCounts, this) : fitCore(this.free, 3 * i, run, this.q, this);
        lim = this.fitLimit;
      }
      fit[i] = f;
      limit[i] = lim;
      const c = Math.min(f, hasMax[i] ? maxV[i]! : MAX_REPLICAS);
      cap[i] = c;
      floor[i] = Math.min(minV[i]!, c);
    }

    if (strategy === 'duplicate') {
      let unschedulable = 0;
      let eligible = 0;
      let keys = 0;
      let reasonKeys = 0;
      for (let i = 0; i < n; i++) {
        const ai = Math.min(desired, cap[i]!);
        a[i] = ai;
        listed[i] = selected[i] || ai > 0 || current[i]! > 0 ? 1 : 0;
        flag[i] = 0;
        if (!listed[i]) continue;
        keys++;
        if (healthy[i] && selected[i]) {
          eligible++;
          unschedulable += desired - ai;
        }
        if (ai < desired || !healthy[i] || !selected[i]) {
          flag[i] = 1;
          reasonKeys++;
          texts[i] = this.describe(i, ai, strategy);
        }
      }
      if (eligible === 0) unschedulable = desired;
      const assignments = this.numberRecord(listed, keys, a);
      const reasons = this.textRecord(flag, reasonKeys, texts);
      if (!(unschedulable > 0)) return { desired, assignments, unschedulable, reasons };
      const unschedulableReason = eligible === 0 ? 'no healthy selected member' : `${plural(unschedulable, 'replica')} do not fit on every member`;
      return { desired, assignments, unschedulable, reasons, unschedulableReason };
    }

    let sumCap = 0;
    for (let i = 0; i < n; i++) sumCap += cap[i]!;
    const total = Math.min(desired, sumCap);
    const { weight, fair, d1, d2, o1, o2, s } = this;
    for (let i = 0; i < n; i++) weight[i] = strategy === 'capacity' ? fit[i]! : this.staticWeight[i]!;
    fairSharesInto(fair, n, total, weight, floor, cap, s);

    // Steady state: start from the current split, fix what is infeasible.
    for (let i = 0; i < n; i++) a[i] = Math.min(current[i]!, cap[i]!);
    let sumFloor = 0;
    for (let i = 0; i < n; i++) sumFloor += floor[i]!;
    if (sumFloor <= total) for (let i = 0; i < n; i++) a[i] = Math.max(a[i]!, floor[i]!);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += a[i]!;

    if (exact) {
      for (let i = 0; i < n; i++) a[i] = fair[i]!;
    } else if (sum < total) {
      for (let i = 0; i < n; i++) d1[i] = Math.max(0, fair[i]! - a[i]!);
      apportionInto(o1, n, total - sum, d1, d1, s);
      for (let i = 0; i < n; i++) a[i]! += o1[i]!;
    } else if (sum > total) {
      for (let i = 0; i < n; i++) d1[i] = Math.max(0, a[i]! - fair[i]!);
      apportionInto(o1, n, sum - total, d1, d1, s);
      for (let i = 0; i < n; i++) a[i]! -= o1[i]!;
    } else {
      const violator = flag;
      let eOver = 0;
      let eUnder = 0;
      for (let i = 0; i < n; i++) {
        const tol = Math.max(1, 0.1 * fair[i]!);
        const d = a[i]! - fair[i]!;
        violator[i] = 0;
        if (d > tol) {
          eOver += d;
          violator[i] = 1;
        } else if (-d > tol) {
          eUnder += -d;
          violator[i] = 1;
        }
      }
      if (eOver + eUnder > 0) {
        const moves = Math.max(eOver, eUnder);
        // Non-violators compensate, proportional to their own surplus/deficit.
        for (let i = 0; i < n; i++) {
          d1[i] = violator[i] ? 0 : Math.max(0, a[i]! - fair[i]!);
          d2[i] = violator[i] ? 0 : Math.max(0, fair[i]! - a[i]!);
        }
        apportionInto(o1, n, moves - eOver, d1, d1, s);
        apportionInto(o2, n, moves - eUnder, d2, d2, s);
        for (let i = 0; i < n; i++) a[i] = violator[i] ? fair[i]! : a[i]! - o1[i]! + o2[i]!;
      }
    }

    let keys = 0;
    let reasonKeys = 0;
    for (let i = 0; i < n; i++) {
      const ai = a[i]!;
      // Members outside the placement that run nothing are left out of the result.
      listed[i] = selected[i] || ai > 0 || current[i]! > 0 ? 1 : 0;
      flag[i] = 0;
      if (!listed[i]) continue;
      keys++;
      // A reason where a constraint applies: excluded, unhealthy, at max, min out of reach, or (capacity)
      // where replicas run — how many more would fit there.
      const constrained =
        !healthy[i] || (hasMax[i] && ai >= maxV[i]!) || (hasMin[i] && minV[i]! > fit[i]!) || (strategy === 'capacity' && (ai > 0 || current[i]! > 0));
      if (constrained) {
        flag[i] = 1;
        reasonKeys++;
        texts[i] = this.describe(i, ai, strategy);
      }
    }
    const assignments = this.numberRecord(listed, keys, a);
    const reasons = this.textRecord(flag, reasonKeys, texts);
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
