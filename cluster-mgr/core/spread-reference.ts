// A short, readable reference for divideReplicas (./spread.ts): the same algorithm (see spread.ts's
// header) in plain arrays and sorts — no typed-array scratch, quickselect, text caches or record
// templates. Slower, and meant to be read; spread-reference.test.ts checks on random inputs that
// the fast engine returns exactly what this returns.
import { LIMIT_NAMES, MAX_REPLICAS, NO_NODE, RESOURCES, type Resources, type SpreadInput, type SpreadMember, type SpreadResult } from './spread';

const nonNeg = (v: number | undefined): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);
const count = (v: number | undefined): number => Math.min(MAX_REPLICAS, Math.floor(nonNeg(v)));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Replicas that fit in `free` (per resource, plus `running` × request) and the limiting resource index (-1: none). */
function fitIn(free: readonly number[], running: number, q: readonly number[]): { fit: number; limit: number } {
  let best = MAX_REPLICAS;
  let limit = -1;
  RESOURCES.forEach((_, k) => {
    if (q[k] === 0) return;
    const f = free[k]! + running * q[k]!;
    const n = f > 0 ? Math.floor(f / q[k]! + 1e-9) : 0;
    if (n < best) [best, limit] = [n, k];
  });
  return { fit: Math.max(0, Math.min(MAX_REPLICAS, best)), limit };
}

/** Replicas that fit and the index of the limiting LIMIT_NAMES entry (-1: none limits). */
function fit(m: SpreadMember, q: readonly number[]): { fit: number; limit: number } {
  if (!m.healthy || m.selected === false) return { fit: 0, limit: -1 };
  const running = m.running !== undefined ? Math.min(count(m.current), count(m.running)) : Math.max(0, count(m.current) - count(m.pending));
  if (m.nodes) {
    // Per node: what runs, plus what fits on each node; the limit is the one of the most nodes.
    if (m.nodes.length === 0) return { fit: Math.min(MAX_REPLICAS, running), limit: NO_NODE };
    const per = m.nodes.map((n: Resources) => fitIn([nonNeg(n.cpu), nonNeg(n.memory), nonNeg(n.pods)], 0, q));
    const limits = [0, 1, 2].map((k) => per.filter((p) => p.limit === k).length);
    const most = Math.max(...limits);
    return { fit: Math.min(MAX_REPLICAS, running + sum(per.map((p) => p.fit))), limit: most > 0 ? limits.indexOf(most) : -1 };
  }
  return fitIn(RESOURCES.map((r) => nonNeg(m.allocatable[r]) - nonNeg(m.allocated[r])), running, q);
}

/**
 * Hands out `rest` units (±1 each) in passes: a pass gives one to every member still short of (or
 * over) its bound; a last, partial pass goes to the first members by `key` (desc: largest first, ties
 * by lower index; asc: smallest first, ties by higher index).
 */
function distribute(out: number[], rest: number, bound: readonly number[], key: readonly number[], desc: boolean, sign: 1 | -1, untilZero: boolean): void {
  while (rest > 0) {
    const open = out.map((_, i) => i).filter((i) => (sign > 0 ? out[i]! < bound[i]! : out[i]! > bound[i]!));
    if (open.length === 0) return;
    if (rest >= open.length || (untilZero && !Number.isInteger(rest))) {
      for (const i of open) out[i]! += sign;
      rest -= open.length;
      continue;
    }
    open.sort((a, b) => (desc ? key[b]! - key[a]! || a - b : key[a]! - key[b]! || b - a));
    for (const i of open.slice(0, Math.ceil(rest))) out[i]! += sign;
    return;
  }
}

/** `total` over `weights`, never above `limit`; largest remainder, ties by index. */
function apportion(total: number, weights: readonly number[], limit: readonly number[]): number[] {
  const out = weights.map(() => 0);
  if (total <= 0) return out;
  const W = sum(weights.filter((_, i) => limit[i]! > 0));
  if (W <= 0) return apportion(total, limit.map((l) => (l > 0 ? 1 : 0)), limit);
  const frac = weights.map(() => -1);
  weights.forEach((w, i) => {
    if (limit[i]! <= 0 || w <= 0) return;
    const share = Math.min((total * w) / W, limit[i]!);
    out[i] = Math.min(Math.floor(share), limit[i]!);
    frac[i] = share - out[i]!;
  });
  distribute(out, total - sum(out), limit, frac, true, 1, false);
  return out;
}

/** `total` proportional to `weight`, clamped to [floor, cap] by water-filling, then integers. */
function fairShares(total: number, weight: readonly number[], floor: readonly number[], cap: readonly number[]): number[] {
  const n = weight.length;
  if (sum(floor) >= total) return apportion(total, floor, floor);
  const fixed = new Map<number, number>(); // member → its clamped share
  let real = weight.map(() => 0);
  for (let round = 0; round <= n; round++) {
    for (let i = 0; i < n; i++) if (!fixed.has(i) && cap[i]! <= 0) fixed.set(i, 0);
    const free = weight.map((_, i) => i).filter((i) => !fixed.has(i));
    if (free.length === 0) break;
    const remaining = total - sum([...fixed.values()]);
    const W = sum(free.map((i) => weight[i]!));
    for (const i of free) real[i] = (remaining * (W > 0 ? weight[i]! : 1)) / (W > 0 ? W : free.length);
    const overCap = free.some((i) => real[i]! > cap[i]!);
    const underFloor = free.some((i) => real[i]! <= cap[i]! && real[i]! < floor[i]!);
    if (!overCap && !underFloor) break;
    for (const i of free) {
      if (overCap && real[i]! > cap[i]!) fixed.set(i, cap[i]!);
      else if (!overCap && real[i]! < floor[i]!) fixed.set(i, floor[i]!);
    }
  }
  real = real.map((r, i) => fixed.get(i) ?? r);
  const clamped = real.map((r, i) => Math.min(cap[i]!, Math.max(floor[i]!, r)));
  const out = clamped.map((r, i) => Math.min(cap[i]!, Math.max(floor[i]!, Math.floor(r + 1e-9))));
  const frac = clamped.map((r, i) => r - out[i]!);
  const rest = total - sum(out);
  if (rest > 0) distribute(out, rest, cap, frac, true, 1, true);
  else if (rest < 0) distribute(out, -rest, floor, frac, false, -1, true);
  return out;
}

/** The reference division: same input, same result as divideReplicas. */
export function divideReplicasReference(input: SpreadInput): SpreadResult {
  const members = [...input.members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const q = [nonNeg(input.request.cpu), nonNeg(input.request.memory), nonNeg(input.request.pods)];
  const desired = count(input.desired);
  const fits = members.map((m) => fit(m, q));
  const eligible = (m: SpreadMember) => m.healthy && m.selected !== false;
  const cap = members.map((m, i) => Math.min(fits[i]!.fit, m.max !== undefined ? count(m.max) : MAX_REPLICAS));
  const floor = members.map((m, i) => Math.min(count(m.min), cap[i]!));
  const current = members.map((m) => count(m.current));

  const reason = (i: number, assigned: number): string => {
    const m = members[i]!;
    const { fit: f, limit } = fits[i]!;
    if (m.selected === false) return 'not selected by placement';
    if (!m.healthy) return current[i]! > 0 ? `unhealthy: ${plural(current[i]!, 'replica')} moved to healthy members` : 'unhealthy';
    if (m.max !== undefined && assigned >= count(m.max) && count(m.max) <= f) return `max: ${count(m.max)} (placement.perCluster)`;
    if (m.min !== undefined && count(m.min) > f) return `min ${count(m.min)} not reachable: only ${plural(f, 'replica')} fit (${limit < 0 ? 'cpu' : LIMIT_NAMES[limit]!})`;
    if (input.strategy === 'weighted') return `weighted: weight ${nonNeg(m.weight ?? 1)}`;
    return `capacity: ${plural(Math.max(0, f - assigned), 'more replica')} fit (${limit < 0 ? 'unlimited' : LIMIT_NAMES[limit]!})`;
  };
  // Members outside the placement that run nothing are left out of the result.
  const listed = (i: number, a: number) => members[i]!.selected !== false || a > 0 || current[i]! > 0;
  const result = (a: number[], wantsReason: (i: number) => boolean, unschedulable: number, why: () => string): SpreadResult => {
    const assignments: Record<string, number> = {};
    const reasons: Record<string, string> = {};
    members.forEach((m, i) => {
      if (!listed(i, a[i]!)) return;
      assignments[m.name] = a[i]!;
      if (wantsReason(i)) reasons[m.name] = reason(i, a[i]!);
    });
    return unschedulable > 0 ? { desired, assignments, unschedulable, reasons, unschedulableReason: why() } : { desired, assignments, unschedulable, reasons };
  };
  const healthyCount = members.filter(eligible).length;

  if (input.strategy === 'duplicate') {
    const a = cap.map((c) => Math.min(desired, c));
    const short = healthyCount === 0 ? desired : sum(members.map((m, i) => (listed(i, a[i]!) && eligible(m) ? desired - a[i]! : 0)));
    return result(a, (i) => a[i]! < desired || !eligible(members[i]!), short, () => (healthyCount === 0 ? 'no healthy selected member' : `${plural(short, 'replica')} do not fit on every member`));
  }

  const total = Math.min(desired, sum(cap));
  const weight = members.map((m, i) => (input.strategy === 'capacity' ? fits[i]!.fit : nonNeg(m.weight ?? 1)));
  const fair = fairShares(total, weight, floor, cap);
  // Steady state: start from the current split, fix what is infeasible.
  let a = current.map((c, i) => Math.min(c, cap[i]!));
  if (sum(floor) <= total) a = a.map((x, i) => Math.max(x, floor[i]!));
  const have = sum(a);
  if (input.exact) {
    a = [...fair];
  } else if (have < total) {
    // Scale up: add only, proportional to the deficits below fair share.
    const deficit = a.map((x, i) => Math.max(0, fair[i]! - x));
    const add = apportion(total - have, deficit, deficit);
    a = a.map((x, i) => x + add[i]!);
  } else if (have > total) {
    // Scale down: remove only, proportional to the surplus above fair share.
    const surplus = a.map((x, i) => Math.max(0, x - fair[i]!));
    const take = apportion(have - total, surplus, surplus);
    a = a.map((x, i) => x - take[i]!);
  } else {
    // Unchanged total: members further than max(1, 10 % of fair) from fair move to it; the others
    // compensate with the fewest moves, proportional to their own surplus/deficit.
    const off = a.map((x, i) => x - fair[i]!);
    const violator = off.map((d, i) => Math.abs(d) > Math.max(1, 0.1 * fair[i]!));
    const eOver = sum(off.map((d, i) => (violator[i] && d > 0 ? d : 0)));
    const eUnder = sum(off.map((d, i) => (violator[i] && d < 0 ? -d : 0)));
    if (eOver + eUnder > 0) {
      const moves = Math.max(eOver, eUnder);
      const surplus = off.map((d, i) => (violator[i] ? 0 : Math.max(0, d)));
      const deficit = off.map((d, i) => (violator[i] ? 0 : Math.max(0, -d)));
      const take = apportion(moves - eOver, surplus, surplus);
      const give = apportion(moves - eUnder, deficit, deficit);
      a = a.map((x, i) => (violator[i] ? fair[i]! : x - take[i]! + give[i]!));
    }
  }
  const constrained = (i: number) => {
    const m = members[i]!;
    return (
      !m.healthy ||
      (m.max !== undefined && a[i]! >= count(m.max)) ||
      (m.min !== undefined && count(m.min) > fits[i]!.fit) ||
      (input.strategy === 'capacity' && (a[i]! > 0 || current[i]! > 0))
    );
  };
  return result(a, constrained, desired - total, () =>
    healthyCount === 0 ? 'no healthy selected member' : `only ${plural(total, 'replica')} fit across ${plural(healthyCount, 'healthy member')} (capacity and per-cluster max)`,
  );
}
