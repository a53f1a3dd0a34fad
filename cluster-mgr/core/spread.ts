// Replica division across member clusters: ONE pure function over ONE documented input type.
//
// Algorithm (docs/cluster-mgr.md, "Spread"):
//   1. fit_m   = replicas of this app that fit on member m: per resource (cpu, memory, pods)
//                floor((allocatable − allocated + current_m × request) / request), the minimum over
//                resources (the app's own running replicas count as available, because `allocated`
//                includes them); 0 when the member is unhealthy or not selected.
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

export type ResourceName = 'cpu' | 'memory' | 'pods';
export const RESOURCES: readonly ResourceName[] = ['cpu', 'memory', 'pods'];

/** cpu in cores, memory in bytes, pods as a count. */
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
  readonly limit?: ResourceName;
}

/** Replicas of an app that fit on a member (counting the app's own current replicas as available). */
export function fitOf(m: SpreadMember, request: Resources): Fit {
  const fit = fitCount(m, request);
  return fit.limit === undefined ? { fit: fit.fit } : fit;
}

const FIT_SCRATCH: { fit: number; limit: ResourceName | undefined } = { fit: 0, limit: undefined };

/** fitOf without allocating (returns a shared scratch object: copy what you keep). */
function fitCount(m: SpreadMember, request: Resources): { fit: number; limit: ResourceName | undefined } {
  FIT_SCRATCH.fit = 0;
  FIT_SCRATCH.limit = undefined;
  if (!m.healthy || m.selected === false) return FIT_SCRATCH;
  const current = count(m.current);
  let best = MAX_REPLICAS;
  let limit: ResourceName | undefined;
  for (let k = 0; k < 3; k++) {
    const r = RESOURCES[k]!;
    const q = nonNeg(request[r]);
    if (q === 0) continue;
    const free = nonNeg(m.allocatable[r]) - nonNeg(m.allocated[r]) + current * q;
    // A tiny epsilon absorbs binary-float noise (0.1 + 0.2) without ever rounding a real shortfall up.
    const n = free > 0 ? Math.floor(free / q + 1e-9) : 0;
    if (n < best) {
      best = n;
      limit = r;
    }
  }
  FIT_SCRATCH.fit = Math.max(0, Math.min(MAX_REPLICAS, best));
  FIT_SCRATCH.limit = limit;
  return FIT_SCRATCH;
}

/**
 * Distributes `total` integer units over `weights`, never giving member i more than `limit[i]`.
 * Largest remainder; ties by index (callers order members by name). Requires Σ limit ≥ total.
 */
function apportion(total: number, weights: readonly number[], limit: readonly number[]): number[] {
  const n = weights.length;
  const out = new Array<number>(n).fill(0);
  if (total <= 0) return out;
  let W = 0;
  for (let i = 0; i < n; i++) if (limit[i]! > 0) W += weights[i]!;
  if (W <= 0) {
    // No weight anywhere: fall back to equal weights among members with room.
    return apportion(total, limit.map((l) => (l > 0 ? 1 : 0)), limit);
  }
  const frac: number[] = new Array<number>(n).fill(-1);
  let given = 0;
  for (let i = 0; i < n; i++) {
    if (limit[i]! <= 0 || weights[i]! <= 0) continue;
    const share = Math.min((total * weights[i]!) / W, limit[i]!);
    out[i] = Math.min(Math.floor(share), limit[i]!);
    frac[i] = share - out[i]!;
    given += out[i]!;
  }
  let rest = total - given;
  if (rest > 0) {
    const order = [...Array(n).keys()].filter((i) => out[i]! < limit[i]!).sort((a, b) => frac[b]! - frac[a]! || a - b);
    // Usually one pass; more when limits cut shares (the water-filling below avoids that case).
    while (rest > 0 && order.length > 0) {
      for (let k = 0; k < order.length && rest > 0; k++) {
        const i = order[k]!;
        if (out[i]! < limit[i]!) {
          out[i]!++;
          rest--;
        }
      }
      if (order.every((i) => out[i]! >= limit[i]!)) break;
    }
  }
  return out;
}

/** Integer fair shares: `total` proportional to `weight`, clamped to [floor, cap] by water-filling. */
export function fairShares(total: number, weight: readonly number[], floor: readonly number[], cap: readonly number[]): number[] {
  const n = weight.length;
  let sumFloor = 0;
  for (let i = 0; i < n; i++) sumFloor += floor[i]!;
  if (sumFloor >= total) return apportion(total, floor, floor);
  const fixed: (number | undefined)[] = new Array(n).fill(undefined);
  const real = new Array<number>(n).fill(0);
  for (let round = 0; round <= n; round++) {
    let remaining = total;
    let W = 0;
    let freeCount = 0;
    for (let i = 0; i < n; i++) {
      if (fixed[i] !== undefined) remaining -= fixed[i]!;
      else if (cap[i]! > 0) {
        W += weight[i]!;
        freeCount++;
      } else fixed[i] = 0;
    }
    if (freeCount === 0) break;
    const w = (i: number) => (W > 0 ? weight[i]! : 1);
    const Wt = W > 0 ? W : freeCount;
    let overCap = false;
    let underFloor = false;
    for (let i = 0; i < n; i++) {
      if (fixed[i] !== undefined) continue;
      real[i] = (remaining * w(i)) / Wt;
      if (real[i]! > cap[i]!) overCap = true;
      else if (real[i]! < floor[i]!) underFloor = true;
    }
    if (!overCap && !underFloor) break;
    for (let i = 0; i < n; i++) {
      if (fixed[i] !== undefined) continue;
      if (overCap && real[i]! > cap[i]!) fixed[i] = cap[i]!;
      else if (!overCap && real[i]! < floor[i]!) fixed[i] = floor[i]!;
    }
  }
  for (let i = 0; i < n; i++) if (fixed[i] !== undefined) real[i] = fixed[i]!;
  // Integerize: floor of each real share (never below floor, never above cap), remainder by largest fraction.
  const base = new Array<number>(n);
  const frac = new Array<number>(n);
  let given = 0;
  for (let i = 0; i < n; i++) {
    const r = Math.min(cap[i]!, Math.max(floor[i]!, real[i]!));
    const b = Math.min(cap[i]!, Math.max(floor[i]!, Math.floor(r + 1e-9)));
    base[i] = b;
    frac[i] = r - b;
    given += b;
  }
  let rest = total - given;
  if (rest !== 0) {
    const idx = [...Array(n).keys()];
    if (rest > 0) {
      idx.sort((a, b) => frac[b]! - frac[a]! || a - b);
      while (rest > 0) {
        let moved = false;
        for (const i of idx) {
          if (rest === 0) break;
          if (base[i]! < cap[i]!) {
            base[i]!++;
            rest--;
            moved = true;
          }
        }
        if (!moved) break;
      }
    } else {
      idx.sort((a, b) => frac[a]! - frac[b]! || b - a);
      while (rest < 0) {
        let moved = false;
        for (const i of idx) {
          if (rest === 0) break;
          if (base[i]! > floor[i]!) {
            base[i]!--;
            rest++;
            moved = true;
          }
        }
        if (!moved) break;
      }
    }
  }
  return base;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Divides an app's replicas over member clusters. See the file header for the algorithm. */
export function divideReplicas(input: SpreadInput): SpreadResult {
  const byName = (a: SpreadMember, b: SpreadMember) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  let sorted = true;
  for (let i = 1; i < input.members.length && sorted; i++) if (byName(input.members[i - 1]!, input.members[i]!) > 0) sorted = false;
  const members = sorted ? input.members : [...input.members].sort(byName);
  const n = members.length;
  const desired = count(input.desired);
  const fit = new Array<number>(n);
  const limitOf = new Array<ResourceName | undefined>(n);
  const cap = new Array<number>(n);
  const floor = new Array<number>(n);
  const current = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const m = members[i]!;
    const f = fitCount(m, input.request);
    fit[i] = f.fit;
    limitOf[i] = f.limit;
    cap[i] = Math.min(f.fit, m.max === undefined ? MAX_REPLICAS : count(m.max));
    floor[i] = Math.min(count(m.min), cap[i]!);
    current[i] = count(m.current);
  }
  const maxOf = (m: SpreadMember) => (m.max === undefined ? MAX_REPLICAS : count(m.max));
  const assignments: Record<string, number> = {};
  const reasons: Record<string, string> = {};

  const describe = (i: number, assigned: number) => {
    const m = members[i]!;
    if (m.selected === false) return 'not selected by placement';
    if (!m.healthy) return current[i]! > 0 ? `unhealthy: ${plural(current[i]!, 'replica')} moved to healthy members` : 'unhealthy';
    const f = fit[i]!;
    if (m.max !== undefined && assigned >= maxOf(m) && maxOf(m) <= f) return `max: ${maxOf(m)} (placement.perCluster)`;
    if (m.min !== undefined && count(m.min) > f) return `min ${count(m.min)} not reachable: only ${plural(f, 'replica')} fit (${limitOf[i] ?? 'cpu'})`;
    if (input.strategy === 'weighted') return `weighted: weight ${nonNeg(m.weight ?? 1)}`;
    return `capacity: ${plural(Math.max(0, f - assigned), 'more replica')} fit (${limitOf[i] ?? 'unlimited'})`;
  };
  /** Members outside the placement that run nothing are left out of the result. */
  const listed = (i: number, a: number) => members[i]!.selected !== false || a > 0 || current[i]! > 0;

  if (input.strategy === 'duplicate') {
    let unschedulable = 0;
    let eligible = 0;
    members.forEach((m, i) => {
      const a = Math.min(desired, cap[i]!);
      if (!listed(i, a)) return;
      assignments[m.name] = a;
      if (m.healthy && m.selected !== false) {
        eligible++;
        unschedulable += desired - a;
      }
      if (a < desired || !m.healthy || m.selected === false) reasons[m.name] = describe(i, a);
    });
    if (eligible === 0) unschedulable = desired;
    return {
      desired,
      assignments,
      unschedulable,
      reasons,
      ...(unschedulable > 0 ? { unschedulableReason: eligible === 0 ? 'no healthy selected member' : `${plural(unschedulable, 'replica')} do not fit on every member` } : {}),
    };
  }

  let sumCap = 0;
  for (const c of cap) sumCap += c;
  const total = Math.min(desired, sumCap);
  const weight = members.map((m, i) => (input.strategy === 'capacity' ? fit[i]! : nonNeg(m.weight ?? 1)));
  const fair = fairShares(total, weight, floor, cap);

  // Steady state: start from the current split, fix what is infeasible.
  const a = current.map((c, i) => Math.min(c, cap[i]!));
  let sumFloor = 0;
  for (const f of floor) sumFloor += f;
  if (sumFloor <= total) for (let i = 0; i < n; i++) a[i] = Math.max(a[i]!, floor[i]!);
  let sum = 0;
  for (const x of a) sum += x;

  if (input.exact) {
    for (let i = 0; i < n; i++) a[i] = fair[i]!;
  } else if (sum < total) {
    const deficit = a.map((x, i) => Math.max(0, fair[i]! - x));
    const add = apportion(total - sum, deficit, deficit);
    for (let i = 0; i < n; i++) a[i]! += add[i]!;
  } else if (sum > total) {
    const surplus = a.map((x, i) => Math.max(0, x - fair[i]!));
    const remove = apportion(sum - total, surplus, surplus);
    for (let i = 0; i < n; i++) a[i]! -= remove[i]!;
  } else {
    const tol = fair.map((f) => Math.max(1, 0.1 * f));
    let eOver = 0;
    let eUnder = 0;
    const violator = new Array<boolean>(n).fill(false);
    for (let i = 0; i < n; i++) {
      const d = a[i]! - fair[i]!;
      if (d > tol[i]!) {
        eOver += d;
        violator[i] = true;
      } else if (-d > tol[i]!) {
        eUnder += -d;
        violator[i] = true;
      }
    }
    if (eOver + eUnder > 0) {
      const moves = Math.max(eOver, eUnder);
      // Non-violators compensate, proportional to their own surplus/deficit.
      const extraSurplus = a.map((x, i) => (violator[i] ? 0 : Math.max(0, x - fair[i]!)));
      const extraDeficit = a.map((x, i) => (violator[i] ? 0 : Math.max(0, fair[i]! - x)));
      const take = apportion(moves - eOver, extraSurplus, extraSurplus);
      const give = apportion(moves - eUnder, extraDeficit, extraDeficit);
      for (let i = 0; i < n; i++) {
        if (violator[i]) a[i] = fair[i]!;
        else a[i] = a[i]! - take[i]! + give[i]!;
      }
    }
  }

  for (let i = 0; i < n; i++) {
    const m = members[i]!;
    const ai = a[i]!;
    if (!listed(i, ai)) continue;
    assignments[m.name] = ai;
    // A reason where a constraint applies: excluded, unhealthy, at max, min out of reach, or (capacity)
    // where replicas run — how many more would fit there.
    const constrained =
      !m.healthy ||
      (m.max !== undefined && ai >= maxOf(m)) ||
      (m.min !== undefined && count(m.min) > fit[i]!) ||
      (input.strategy === 'capacity' && (ai > 0 || current[i]! > 0));
    if (constrained) reasons[m.name] = describe(i, ai);
  }
  const unschedulable = desired - total;
  let unschedulableReason: string | undefined;
  if (unschedulable > 0) {
    const healthy = members.filter((m) => m.healthy && m.selected !== false).length;
    unschedulableReason =
      healthy === 0
        ? 'no healthy selected member'
        : `only ${plural(total, 'replica')} fit across ${plural(healthy, 'healthy member')} (capacity and per-cluster max)`;
  }
  return { desired, assignments, unschedulable, reasons, ...(unschedulableReason ? { unschedulableReason } : {}) };
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
