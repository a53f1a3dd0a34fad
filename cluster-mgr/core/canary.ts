// Canary weight stepping (pure). An app with a canary has one weighted Istio VirtualService whose
// first HTTP route splits traffic between the `stable` and `canary` subsets of its DestinationRule.
// `promote` moves the canary weight up through the steps to 100; `rollback` moves it back down to
// the weight it had before the promote began (recorded in an annotation), or to 0.
//
//   promotePlan(vs, steps) ─► [vs₁ … vsₙ]   each a full object, weights summing to 100
//   rollbackPlan(vsₙ, steps) ─► [… vs]       the last one deep-equals the object before promote

export const STABLE_SUBSET = 'stable';
export const CANARY_SUBSET = 'canary';
/** Canary weight before the first promote step (rollback returns to it, then the annotation goes). */
export const BASELINE_ANNOTATION = 'flotilla.dev/canary-baseline';
export const DEFAULT_STEPS: readonly number[] = [10, 25, 50, 100];

export interface Weights {
  readonly stable: number;
  readonly canary: number;
}

export type VirtualServiceObject = Record<string, unknown> & { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };

type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

interface RouteDest {
  destination?: { subset?: string };
  weight?: number;
}

/** Checks a step list: integers in 1..100, strictly increasing. */
export function checkSteps(steps: readonly number[]): string | undefined {
  if (steps.length === 0) return 'steps is empty: give at least one canary weight, e.g. 10,25,50,100';
  for (const [i, s] of steps.entries()) {
    if (!Number.isInteger(s) || s < 1 || s > 100) return `step ${JSON.stringify(s)} is not a whole percentage 1–100`;
    if (i > 0 && s <= steps[i - 1]!) return `steps ${steps.join(',')} must increase strictly`;
  }
  return undefined;
}

/** Canary weights strictly above `from`, ending at 100. */
export function stepsUp(from: number, steps: readonly number[]): number[] {
  const out = steps.filter((s) => s > from);
  if (out.at(-1) !== 100 && from < 100) out.push(100);
  return out;
}

/** Canary weights strictly below `from`, down to and ending at `to` (the steps in reverse). */
export function stepsDown(from: number, to: number, steps: readonly number[]): number[] {
  if (from <= to) return from === to ? [] : [to];
  const out = [...steps].reverse().filter((s) => s < from && s > to);
  out.push(to);
  return out;
}

const routesOf = (vs: VirtualServiceObject): RouteDest[] | undefined => {
  const http = (vs.spec?.http as { route?: RouteDest[] }[] | undefined) ?? [];
  return http.find((h) => (h.route ?? []).some((r) => r.destination?.subset === CANARY_SUBSET))?.route;
};

/** The stable/canary weights of the first HTTP route that names the canary subset. */
export function readWeights(vs: VirtualServiceObject): Result<Weights> {
  const route = routesOf(vs);
  const name = `${String(vs.metadata?.namespace ?? '')}/${String(vs.metadata?.name ?? '')}`;
  if (!route) return { ok: false, error: `VirtualService ${name} has no HTTP route to the "${CANARY_SUBSET}" subset: is a canary declared for this app?` };
  const w = (subset: string) => route.filter((r) => r.destination?.subset === subset).reduce((a, r) => a + (r.weight ?? 0), 0);
  const stable = w(STABLE_SUBSET);
  const canary = w(CANARY_SUBSET);
  if (stable + canary !== 100) return { ok: false, error: `VirtualService ${name}: stable ${stable} + canary ${canary} ≠ 100 — fix its weights by hand first` };
  return { ok: true, value: { stable, canary } };
}

/** A copy of `vs` with the canary route at `canary` % (stable gets the rest); `baseline` sets or (undefined) removes the annotation. */
export function withWeights(vs: VirtualServiceObject, canary: number, baseline: number | undefined): VirtualServiceObject {
  const out = structuredClone(vs);
  const route = routesOf(out)!;
  for (const r of route) {
    if (r.destination?.subset === CANARY_SUBSET) r.weight = canary;
    if (r.destination?.subset === STABLE_SUBSET) r.weight = 100 - canary;
  }
  const meta = (out.metadata ??= {});
  const ann = { ...((meta.annotations as Record<string, string> | undefined) ?? {}) };
  if (baseline === undefined) delete ann[BASELINE_ANNOTATION];
  else ann[BASELINE_ANNOTATION] = String(baseline);
  if (Object.keys(ann).length > 0) meta.annotations = ann;
  else delete meta.annotations;
  return out;
}

export function baselineOf(vs: VirtualServiceObject): number | undefined {
  const v = (vs.metadata?.annotations as Record<string, string> | undefined)?.[BASELINE_ANNOTATION];
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 100 ? n : undefined;
}

export type Direction = 'promote' | 'rollback';

/**
 * The objects to write, one per step, in order. Promote records the starting weight first (so a
 * rollback can return to it) and ends with the canary at 100; rollback ends at the recorded weight
 * (0 when none) without the annotation. An empty plan means nothing to do.
 */
export function canaryPlan(vs: VirtualServiceObject, direction: Direction, steps: readonly number[] = DEFAULT_STEPS): Result<VirtualServiceObject[]> {
  const bad = checkSteps(steps);
  if (bad) return { ok: false, error: bad };
  const w = readWeights(vs);
  if (!w.ok) return w;
  const baseline = baselineOf(vs);
  if (direction === 'promote') {
    const keep = baseline ?? w.value.canary;
    const weights = stepsUp(w.value.canary, steps);
    if (weights.length === 0 && baseline === undefined) return { ok: true, value: [withWeights(vs, w.value.canary, keep)] };
    return { ok: true, value: weights.map((c) => withWeights(vs, c, keep)) };
  }
  const target = baseline ?? 0;
  const weights = stepsDown(w.value.canary, target, steps);
  if (weights.length === 0) return { ok: true, value: baseline === undefined ? [] : [withWeights(vs, target, undefined)] };
  return { ok: true, value: weights.map((c, i) => withWeights(vs, c, i === weights.length - 1 ? undefined : baseline)) };
}

/** Readiness of a Deployment as read from the API: ready when every wanted replica is ready in the current generation. */
export function deploymentReadiness(obj: Record<string, unknown> | undefined): { readonly ready: boolean; readonly readyReplicas: number; readonly replicas: number } {
  const spec = (obj?.spec ?? {}) as { replicas?: number };
  const status = (obj?.status ?? {}) as { readyReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
  const generation = (obj?.metadata as { generation?: number } | undefined)?.generation;
  const replicas = spec.replicas ?? 1;
  const readyReplicas = status.readyReplicas ?? 0;
  const current = generation === undefined || (status.observedGeneration ?? 0) >= generation;
  return { ready: obj !== undefined && current && readyReplicas >= replicas, readyReplicas, replicas };
}
