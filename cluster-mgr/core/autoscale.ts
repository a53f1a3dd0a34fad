// Autoscaling decision (pure): desired total replicas for one app from one PromQL result.
//
//   recommendation = clamp(ceil(result / targetPerReplica), min, max)
//   (4 pods at 80 % with target 50 → 320 / 50 = 6.4 → 7)
//
// Tolerance: no change when |result / (current × target) − 1| ≤ tolerance (default 0.1), as the
// Kubernetes HPA does. Scale-down stabilisation: the count never drops below the highest
// recommendation seen during the last `scaleDownStabilizationMs` (default 5 min); scale-up applies at
// once. A failed, empty or NaN query keeps the current count (clamped) and yields an alert. The time
// comes in as `now` (from the injected Clock); nothing here reads a clock, env or socket.
import { alerts } from '../contracts/alerts';
import type { Alert } from '../contracts/index';

export interface AutoscaleSpec {
  readonly namespace: string;
  readonly app: string;
  readonly targetPerReplica: number;
  readonly min: number;
  readonly max: number;
  /** @default 0.1 */
  readonly tolerance?: number;
  /** @default 300_000 (5 minutes) */
  readonly scaleDownStabilizationMs?: number;
}

/** What the query produced: a number (possibly NaN), `undefined` (empty result) or an error text. */
export type QueryOutcome = { readonly ok: true; readonly value: number | undefined } | { readonly ok: false; readonly error: string };

export interface AutoscaleState {
  /** Recommendations inside the stabilisation window, oldest first. */
  readonly recommendations: readonly { readonly at: number; readonly replicas: number }[];
  /** The query was failing at the last decision (so a success resolves the alert). */
  readonly failing: boolean;
}

export const initialAutoscaleState: AutoscaleState = { recommendations: [], failing: false };

export interface AutoscaleDecision {
  /** The total replica count the spread should divide. */
  readonly replicas: number;
  readonly state: AutoscaleState;
  /** Why, for logs and events. */
  readonly reason: string;
  /** Fire this alert (query failing). */
  readonly fire?: Alert;
  /** Resolve this alert (query works again). */
  readonly resolve?: Alert;
}

export function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

/** The raw formula: clamp(ceil(result / target), min, max). */
export function recommend(result: number, spec: Pick<AutoscaleSpec, 'targetPerReplica' | 'min' | 'max'>): number {
  // Guard floating error (e.g. 100.00000000001 / 50) from adding a replica.
  const raw = result / spec.targetPerReplica;
  const rounded = Math.abs(raw - Math.round(raw)) < 1e-9 ? Math.round(raw) : Math.ceil(raw);
  return clamp(Math.max(0, rounded), spec.min, spec.max);
}

export function decideReplicas(input: {
  readonly spec: AutoscaleSpec;
  /** Current desired total (what the spread divides now). */
  readonly current: number;
  readonly outcome: QueryOutcome;
  readonly now: number;
  readonly state?: AutoscaleState;
}): AutoscaleDecision {
  const { spec, outcome, now } = input;
  const state = input.state ?? initialAutoscaleState;
  const windowMs = spec.scaleDownStabilizationMs ?? 300_000;
  const tolerance = spec.tolerance ?? 0.1;
  const current = clamp(input.current, spec.min, spec.max);
  const kept = state.recommendations.filter((r) => r.at > now - windowMs);

  const failure = !outcome.ok ? outcome.error : outcome.value === undefined ? 'query returned no samples' : Number.isNaN(outcome.value) ? 'query returned NaN' : !Number.isFinite(outcome.value) ? `query returned ${outcome.value}` : undefined;
  if (failure !== undefined) {
    return {
      replicas: current,
      state: { recommendations: kept, failing: true },
      reason: `keeping ${current}: ${failure}`,
      fire: alerts.autoscaleQueryFailing(spec.namespace, spec.app, failure),
    };
  }
  const value = (outcome as { value: number }).value;
  const resolve = state.failing ? alerts.autoscaleQueryFailing(spec.namespace, spec.app, 'query works again') : undefined;

  let rec: number;
  let why: string;
  const ratio = current > 0 ? value / (current * spec.targetPerReplica) : undefined;
  if (ratio !== undefined && Math.abs(ratio - 1) <= tolerance + 1e-9) {
    rec = current;
    why = `within tolerance (${value} / (${current} × ${spec.targetPerReplica}) = ${ratio.toFixed(3)})`;
  } else {
    rec = recommend(value, spec);
    why = `ceil(${value} / ${spec.targetPerReplica}) clamped to [${spec.min}, ${spec.max}] = ${rec}`;
  }
  const recommendations = [...kept, { at: now, replicas: rec }];
  let replicas: number;
  if (rec > current) {
    replicas = rec;
  } else {
    const highest = Math.max(...recommendations.map((r) => r.replicas));
    replicas = Math.min(current, highest);
    if (replicas > rec) why += `; scale-down stabilised at ${replicas} (highest recommendation in the last ${Math.round(windowMs / 1000)} s)`;
  }
  return { replicas, state: { recommendations, failing: false }, reason: why, ...(resolve ? { resolve } : {}) };
}
