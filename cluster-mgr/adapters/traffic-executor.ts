// Runs a TrafficPlan (core/traffic-plan.ts) against the ports, in order. Per member, a failed step
// stops that member's remaining steps for this pass (so replicas never move before the drain is
// confirmed, and traffic never returns before replicas are back); the next reconcile pass retries from
// observed state. A failed traffic switch raises FederationTrafficSwitchFailed; alert delivery errors
// are reported but never block failover.
import type { MemberPhase, TrafficAction, TrafficPlan } from '../core/traffic-plan';
import { alerts } from '../contracts/alerts';
import type { Alerter, TrafficSwitch } from '../contracts/index';

export interface ExecutorPorts {
  readonly traffic: TrafficSwitch;
  readonly alerter?: Alerter;
  /** Moves the member's replicas to the others (the daemon's spread with the member excluded). */
  readonly moveReplicasAway: (member: string, signal?: AbortSignal) => Promise<void>;
  /** Starts returning replicas to the member (paced by the daemon). */
  readonly returnReplicas: (member: string, signal?: AbortSignal) => Promise<void>;
  readonly onError?: (action: TrafficAction, err: Error) => void;
}

export interface ExecutionReport {
  readonly done: readonly TrafficAction[];
  readonly failed: readonly { readonly action: TrafficAction; readonly error: string }[];
  /** Members whose remaining steps were skipped after a failure. */
  readonly stopped: readonly string[];
}

const memberOf = (a: TrafficAction): string | undefined => (a.kind === 'fire' || a.kind === 'resolve' ? a.alert.labels.member : a.member);

export async function executePlan(plan: TrafficPlan, ports: ExecutorPorts, signal?: AbortSignal): Promise<ExecutionReport> {
  const done: TrafficAction[] = [];
  const failed: { action: TrafficAction; error: string }[] = [];
  const stopped = new Set<string>();
  for (const action of plan.actions) {
    if (signal?.aborted) break;
    const member = memberOf(action);
    const isAlert = action.kind === 'fire' || action.kind === 'resolve';
    if (member && stopped.has(member) && !isAlert) continue;
    try {
      switch (action.kind) {
        case 'traffic':
          await ports.traffic.set(action.member, action.state, action.weight, signal);
          break;
        case 'moveReplicasAway':
          await ports.moveReplicasAway(action.member, signal);
          break;
        case 'returnReplicas':
          await ports.returnReplicas(action.member, signal);
          break;
        case 'fire':
          await ports.alerter?.fire(action.alert, signal);
          break;
        case 'resolve':
          await ports.alerter?.resolve(action.alert, signal);
          break;
      }
      done.push(action);
    } catch (err) {
      const e = err as Error;
      failed.push({ action, error: e.message });
      ports.onError?.(action, e);
      if (isAlert) continue;
      if (member) stopped.add(member);
      if (action.kind === 'traffic') {
        await ports.alerter?.fire(alerts.trafficSwitchFailed(action.member, ports.traffic.kind, e.message), signal).catch((ae: Error) => ports.onError?.(action, ae));
      }
    }
  }
  return { done, failed, stopped: [...stopped] };
}

/**
 * The phases to store for the next pass: the plan's phase for members whose steps all ran, the
 * previous phase for members that were stopped (so e.g. the replica move is planned again after a
 * failed drain, instead of being forgotten).
 */
export function committedPhases(plan: TrafficPlan, report: ExecutionReport, previous: Readonly<Record<string, MemberPhase | undefined>>): Record<string, MemberPhase> {
  const out: Record<string, MemberPhase> = {};
  for (const [name, o] of Object.entries(plan.members)) {
    out[name] = report.stopped.includes(name) ? (previous[name] ?? { kind: 'serving' }) : o.phase;
  }
  return out;
}
