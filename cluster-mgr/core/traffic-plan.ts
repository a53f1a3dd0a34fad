// Failover sequencing (pure): given each member's health verdict, the second vantage point, the
// observed traffic state and the previous phase, decide the ordered actions for this reconcile pass.
//
//   Unhealthy:  drain traffic FIRST, then move replicas away.
//   Recovered:  return replicas FIRST, wait until they are ready, then ramp traffic back in
//               `rampSteps` steps spread over `failbackAfterMs`.
//   Never drain the last member that still carries traffic: keep it, raise a critical alert.
//   Split-brain guard: drain only when cluster-mgr's probes fail AND (when configured) the second
//   vantage point (front HAProxy's own check, or a witness URL) agrees the member is down.
//
// Works from observed state: a member whose traffic layer disagrees with its phase (HAProxy restarted,
// operator change) gets its traffic action again. Nothing here reads clocks, env or sockets.
import { alerts } from '../contracts/alerts';
import type { Alert, MemberTraffic, ServingState } from '../contracts/index';

export type MemberPhase =
  /** Carrying traffic at full weight. */
  | { readonly kind: 'serving' }
  /** Traffic drained, replicas moved away (or moving). */
  | { readonly kind: 'drained'; readonly since: number }
  /** Healthy again: replicas returning, traffic still drained until they are ready. */
  | { readonly kind: 'restoring'; readonly since: number }
  /** Replicas ready: traffic weight rising step by step. */
  | { readonly kind: 'ramping'; readonly since: number; readonly step: number };

export interface MemberInput {
  readonly name: string;
  /** cluster-mgr's own verdict (health state machine): false when Unhealthy (Suspect/Recovering: use the previous verdict). */
  readonly healthy: boolean;
  /**
   * The second vantage point's verdict: true up, false down, undefined unknown (not reporting).
   * Only consulted when `requireSecondOpinion` is set.
   */
  readonly secondOpinionUp?: boolean;
  /** All replicas assigned to this member are ready (for the recovery sequence). */
  readonly replicasReady: boolean;
  /** What the traffic layer reports now (undefined: not observed / no switch). */
  readonly observed?: MemberTraffic;
  /** Phase from the previous pass. @default serving */
  readonly phase?: MemberPhase;
  /** The "last serving member" alert is currently firing for this member. */
  readonly blocked?: boolean;
}

export interface TrafficPlanConfig {
  /** Time the traffic ramp takes after replicas are ready (Federation `health.failbackAfter`). */
  readonly failbackAfterMs: number;
  /** @default 4 */
  readonly rampSteps?: number;
  /** Weight of a fully serving member (HAProxy scale 1–256). @default 100 */
  readonly fullWeight?: number;
  /** Drain only when the second vantage point also sees the member down. @default false */
  readonly requireSecondOpinion?: boolean;
}

export type TrafficAction =
  | { readonly kind: 'traffic'; readonly member: string; readonly state: ServingState; readonly weight: number }
  | { readonly kind: 'moveReplicasAway'; readonly member: string }
  | { readonly kind: 'returnReplicas'; readonly member: string }
  | { readonly kind: 'fire'; readonly alert: Alert }
  | { readonly kind: 'resolve'; readonly alert: Alert };

export interface MemberOutcome {
  readonly phase: MemberPhase;
  /** The failover is held back (last serving member, or the second vantage point disagrees). */
  readonly blocked: boolean;
  /** Why, for events/logs. */
  readonly note?: string;
}

export interface TrafficPlan {
  /** Actions in the order they must run (per member: traffic before replicas on failure, replicas before traffic on recovery). */
  readonly actions: readonly TrafficAction[];
  readonly members: Readonly<Record<string, MemberOutcome>>;
}

const SERVING: MemberPhase = { kind: 'serving' };

/** Weight at ramp step k of n (k = 1..n). */
export function rampWeight(step: number, steps: number, full: number): number {
  return Math.max(1, Math.round((full * Math.min(step, steps)) / steps));
}

/**
 * Which ramp step is due `elapsed` ms after the ramp started (1-based, capped at steps): step 1 at
 * once, then evenly spaced so the last (full weight) lands exactly at `failbackAfterMs`.
 */
export function rampStep(elapsedMs: number, failbackAfterMs: number, steps: number): number {
  if (failbackAfterMs <= 0 || steps <= 1) return steps;
  return Math.min(steps, 1 + Math.floor((elapsedMs * (steps - 1)) / failbackAfterMs));
}

function carriesTraffic(p: MemberPhase): boolean {
  return p.kind === 'serving' || p.kind === 'ramping';
}

function trafficMatches(observed: MemberTraffic | undefined, state: ServingState, weight: number): boolean {
  if (!observed) return false;
  if (observed.state !== state) return false;
  return state !== 'ready' || observed.weight === weight;
}

export function planTraffic(members: readonly MemberInput[], config: TrafficPlanConfig, now: number): TrafficPlan {
  const steps = Math.max(1, config.rampSteps ?? 4);
  const full = config.fullWeight ?? 100;
  const sorted = [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const phases = new Map(sorted.map((m) => [m.name, m.phase ?? SERVING]));
  const actions: TrafficAction[] = [];
  const out: Record<string, MemberOutcome> = {};

  const ensureTraffic = (m: MemberInput, state: ServingState, weight: number) => {
    if (!trafficMatches(m.observed, state, weight)) actions.push({ kind: 'traffic', member: m.name, state, weight });
  };
  const otherCarriers = (name: string) => sorted.filter((o) => o.name !== name && carriesTraffic(phases.get(o.name)!));

  // Healthy members first, so a recovering member counts before an unhealthy one is judged.
  for (const m of sorted) {
    const phase = phases.get(m.name)!;
    if (!m.healthy && carriesTraffic(phase)) continue; // second loop
    if (!m.healthy) {
      // drained / restoring and unhealthy: stay (or go back to) drained.
      if (phase.kind === 'restoring') actions.push({ kind: 'moveReplicasAway', member: m.name });
      const next: MemberPhase = phase.kind === 'drained' ? phase : { kind: 'drained', since: now };
      phases.set(m.name, next);
      ensureTraffic(m, 'drain', 0);
      out[m.name] = { phase: next, blocked: false };
      continue;
    }
    if (m.blocked) actions.push({ kind: 'resolve', alert: alerts.failoverBlocked(m.name, 'member healthy again') });
    switch (phase.kind) {
      case 'serving': {
        ensureTraffic(m, 'ready', full);
        out[m.name] = { phase, blocked: false };
        break;
      }
      case 'drained': {
        const next: MemberPhase = { kind: 'restoring', since: now };
        phases.set(m.name, next);
        ensureTraffic(m, 'drain', 0);
        actions.push({ kind: 'returnReplicas', member: m.name });
        actions.push({ kind: 'resolve', alert: alerts.memberUnhealthy(m.name, 'recovered') });
        actions.push({ kind: 'fire', alert: alerts.memberRecovered(m.name) });
        out[m.name] = { phase: next, blocked: false, note: 'recovered: returning replicas before traffic' };
        break;
      }
      case 'restoring': {
        if (!m.replicasReady) {
          ensureTraffic(m, 'drain', 0);
          out[m.name] = { phase, blocked: false, note: 'waiting for replicas to be ready' };
          break;
        }
        const next: MemberPhase = steps === 1 || config.failbackAfterMs <= 0 ? SERVING : { kind: 'ramping', since: now, step: 1 };
        phases.set(m.name, next);
        const w = next.kind === 'serving' ? full : rampWeight(1, steps, full);
        ensureTraffic(m, 'ready', w);
        if (next.kind === 'serving') actions.push({ kind: 'resolve', alert: alerts.memberRecovered(m.name) });
        out[m.name] = { phase: next, blocked: false, note: `replicas ready: traffic weight ${w}` };
        break;
      }
      case 'ramping': {
        const step = rampStep(now - phase.since, config.failbackAfterMs, steps);
        if (step >= steps) {
          phases.set(m.name, SERVING);
          ensureTraffic(m, 'ready', full);
          actions.push({ kind: 'resolve', alert: alerts.memberRecovered(m.name) });
          out[m.name] = { phase: SERVING, blocked: false, note: 'traffic fully back' };
        } else {
          const next: MemberPhase = { kind: 'ramping', since: phase.since, step };
          phases.set(m.name, next);
          ensureTraffic(m, 'ready', rampWeight(step, steps, full));
          out[m.name] = { phase: next, blocked: false };
        }
        break;
      }
    }
  }

  // Unhealthy members still carrying traffic: drain unless guarded.
  for (const m of sorted) {
    const phase = phases.get(m.name)!;
    if (m.healthy || !carriesTraffic(phase)) continue;
    const keepWeight = phase.kind === 'ramping' ? rampWeight(phase.step, steps, full) : full;
    if (config.requireSecondOpinion && m.secondOpinionUp !== false) {
      const why =
        m.secondOpinionUp === true
          ? `cluster-mgr's probes fail but the second vantage point still sees ${m.name} up (possible partition between cluster-mgr and the member); not draining`
          : `cluster-mgr's probes fail but the second vantage point is not reporting; not draining without its agreement`;
      if (!m.blocked) actions.push({ kind: 'fire', alert: alerts.failoverBlocked(m.name, why) });
      ensureTraffic(m, 'ready', keepWeight);
      out[m.name] = { phase, blocked: true, note: why };
      continue;
    }
    if (otherCarriers(m.name).length === 0) {
      const why = `${m.name} is the last member carrying traffic; keeping it serving`;
      if (!m.blocked) actions.push({ kind: 'fire', alert: alerts.failoverBlocked(m.name, why) });
      ensureTraffic(m, 'ready', keepWeight);
      out[m.name] = { phase, blocked: true, note: why };
      continue;
    }
    const next: MemberPhase = { kind: 'drained', since: now };
    phases.set(m.name, next);
    actions.push({ kind: 'traffic', member: m.name, state: 'drain', weight: 0 });
    actions.push({ kind: 'moveReplicasAway', member: m.name });
    actions.push({ kind: 'fire', alert: alerts.memberUnhealthy(m.name, 'health probes failed') });
    if (m.blocked) actions.push({ kind: 'resolve', alert: alerts.failoverBlocked(m.name, 'failover proceeded') });
    out[m.name] = { phase: next, blocked: false, note: 'drained: traffic first, then replicas' };
  }
  return { actions, members: out };
}
