// Autoscaling decision (pure): desired total replicas for one app from one PromQL result.
//
//   recommendation = clamp(ceil(result / targetPerReplica), min, max)
//   (4 pods at 80 % with target 50 → 320 / 50 = 6.4 → 7)
//
// Tolerance: no change when |result / (current × target) − 1| ≤ tolerance (default 0.1), as the
// Kubernetes HPA does. Scale-down stabilisation: the count never drops below the highest
// recommendation seen during the last `scaleDownStabilizationMs` (default 5 min); scale-up applies at
// once. A failed, empty or NaN query keeps the current count (clamped) and yields an alert. A partial
// sum (metric source `members`, some members' Prometheis failed: sumMemberOutcomes) is a lower bound:
// it scales up, never down, and alerts. The time comes in as `now` (from the injected Clock); nothing
// here reads a clock, env or socket.
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

/**
 * What the query produced: a number (possibly NaN), `undefined` (empty result) or an error text.
 * `partial` (metric source `members`): some serving members' Prometheis failed and `value` is the sum
 * of the others — a lower bound; the text names the members that failed and why.
 */
export type QueryOutcome = { readonly ok: true; readonly value: number | undefined; readonly partial?: string } | { readonly ok: false; readonly error: string };

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

  const failure = !outcome.ok ? outcome.error : outcome.value === undefined ? `query returned no samples${outcome.partial ? ` (${outcome.partial})` : ''}` : Number.isNaN(outcome.value) ? 'query returned NaN' : !Number.isFinite(outcome.value) ? `query returned ${outcome.value}` : undefined;
  if (failure !== undefined) {
    return {
      replicas: current,
      state: { recommendations: kept, failing: true },
      reason: `keeping ${current}: ${failure}`,
      fire: alerts.autoscaleQueryFailing(spec.namespace, spec.app, failure),
    };
  }
  const value = (outcome as { value: number }).value;
  const partial = outcome.ok ? outcome.partial : undefined;
  const resolve = state.failing && partial === undefined ? alerts.autoscaleQueryFailing(spec.namespace, spec.app, 'query works again') : undefined;

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
  if (partial !== undefined) {
    // A partial sum is a lower bound of the load: it may justify more replicas, never fewer.
    const up = rec > current;
    return {
      replicas: up ? rec : current,
      state: { recommendations: up ? [...kept, { at: now, replicas: rec }] : kept, failing: true },
      reason: `partial sum ${value} (${partial}) is a lower bound: ${up ? `scaling up, ${why}` : `keeping ${current}, never scaling down on a partial sum`}`,
      fire: alerts.autoscaleQueryFailing(spec.namespace, spec.app, `partial sum ${value}: ${partial}`, true),
    };
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

// --- Metric source `members`: the app's query on every serving member's Prometheus, summed.

/** One source's part in an evaluation (metric, log): answered, failed, or not asked (member not serving). */
export interface SourceStatus {
  /** Member name (`members`), or `url` (one Prometheus / Thanos query URL). */
  readonly source: string;
  readonly state: 'up' | 'down' | 'skipped';
  readonly error?: string;
}

export interface SummedOutcome {
  readonly outcome: QueryOutcome;
  readonly sources: readonly SourceStatus[];
}

/**
 * Sums one query's answers over the members' Prometheis. The rule (docs/autoscale.md):
 * - members not serving (Unhealthy, Recovering: their traffic is drained, their load has moved to
 *   the others) are not asked;
 * - a member whose query failed or returned NaN/±Inf is `down`; an empty vector counts 0 (the app
 *   may have no replicas there), but no samples on any member is an empty result;
 * - every serving member answered → the sum; some failed → the others' sum marked `partial` (a
 *   lower bound: decideReplicas scales up on it, never down, and alerts); none answered, or no
 *   member serving → a failed query (the count is kept).
 */
export function sumMemberOutcomes(answers: readonly { readonly member: string; readonly serving: boolean; readonly outcome?: QueryOutcome }[]): SummedOutcome {
  const sources: SourceStatus[] = [];
  let sum = 0;
  let samples = false;
  const failed: string[] = [];
  for (const a of answers) {
    if (!a.serving || !a.outcome) {
      sources.push({ source: a.member, state: 'skipped' });
      continue;
    }
    const o = a.outcome;
    const error = !o.ok ? o.error : o.value !== undefined && !Number.isFinite(o.value) ? `returned ${o.value}` : undefined;
    if (error !== undefined) {
      sources.push({ source: a.member, state: 'down', error });
      failed.push(`${a.member}: ${error}`);
      continue;
    }
    sources.push({ source: a.member, state: 'up' });
    if (o.ok && o.value !== undefined) {
      sum += o.value;
      samples = true;
    }
  }
  const up = sources.filter((s) => s.state === 'up').map((s) => s.source);
  const skipped = sources.filter((s) => s.state === 'skipped').map((s) => s.source);
  const notAsked = skipped.length > 0 ? `; not serving, not asked: ${skipped.join(', ')}` : '';
  if (up.length === 0 && failed.length === 0) return { outcome: { ok: false, error: `no serving member to query${notAsked}` }, sources };
  if (up.length === 0) return { outcome: { ok: false, error: `every serving member's Prometheus failed: ${failed.join('; ')}${notAsked}` }, sources };
  const value = samples ? sum : undefined;
  if (failed.length === 0) return { outcome: { ok: true, value }, sources };
  return { outcome: { ok: true, value, partial: `answered: ${up.join(', ')}; failed: ${failed.join('; ')}${notAsked}` }, sources };
}
