// Member health state machine. Pure: (state, observation, now, params) → state + events.
//
//   Healthy ──fail──► Suspect ──fail × failureThreshold──► Unhealthy ──ok──► Recovering
//      ▲                 │ok                                    ▲               │ │
//      └─────────────────┘                                      └─────fail──────┘ │
//      ▲                                                                          │
//      └──── ok × successThreshold AND failbackAfter since the first success ─────┘
//
// failureThreshold 1 goes Healthy → Unhealthy directly.
//
// AuthFailed: a probe answered 401/403 — the member is up and rejected cluster-mgr's credentials.
// That is a configuration problem, not an outage: from any state the member goes AuthFailed at
// once, no failure counts toward Unhealthy, nothing fails over (traffic stays, replicas stay where
// they run, nothing is written there); its own alert fires. A successful probe returns it to Healthy;
// any other failure is counted from there as from Healthy.

export type HealthState = 'Healthy' | 'Suspect' | 'Unhealthy' | 'Recovering' | 'AuthFailed';
export const HEALTH_STATES: readonly HealthState[] = ['Healthy', 'Suspect', 'Unhealthy', 'Recovering', 'AuthFailed'];

export interface MemberHealth {
  readonly state: HealthState;
  /** Consecutive failed probes. */
  readonly failures: number;
  /** Consecutive successful probes. */
  readonly successes: number;
  /** When the current state was entered (ms, injected clock). */
  readonly since: number;
  /** Last failure reason, for the API and events. */
  readonly reason?: string;
}

export interface HealthParams {
  readonly failureThreshold: number;
  readonly successThreshold: number;
  readonly failbackAfterMs: number;
}

export type Observation = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly problem?: string };

export interface HealthEvent {
  /** `unhealthy` = a failover (from a serving state); `relapsed` = failed again while Recovering. */
  readonly type: 'suspect' | 'unhealthy' | 'recovering' | 'recovered' | 'cleared' | 'relapsed' | 'auth-failed' | 'auth-ok';
  readonly from: HealthState;
  readonly to: HealthState;
  readonly at: number;
  readonly reason?: string;
}

export function initialHealth(now: number): MemberHealth {
  return { state: 'Healthy', failures: 0, successes: 0, since: now };
}

export function nextHealth(h: MemberHealth, obs: Observation, now: number, p: HealthParams): { health: MemberHealth; events: HealthEvent[] } {
  const to = (state: HealthState, type: HealthEvent['type'], patch: Partial<MemberHealth>) => {
    const health: MemberHealth = { ...h, ...patch, state, since: state === h.state ? h.since : now };
    const events: HealthEvent[] = state === h.state ? [] : [{ type, from: h.state, to: state, at: now, ...(obs.ok ? {} : { reason: obs.reason }) }];
    return { health, events };
  };
  if (!obs.ok && obs.problem === 'auth') return to('AuthFailed', 'auth-failed', { failures: 0, successes: 0, reason: obs.reason });
  if (obs.ok) {
    switch (h.state) {
      case 'AuthFailed':
        return to('Healthy', 'auth-ok', { failures: 0, successes: 0, reason: undefined });
      case 'Healthy':
        return { health: h.failures || h.successes ? { ...h, failures: 0, successes: 0 } : h, events: [] };
      case 'Suspect':
        return to('Healthy', 'cleared', { failures: 0, successes: 0, reason: undefined });
      case 'Unhealthy':
        if (p.successThreshold <= 1 && p.failbackAfterMs <= 0) return to('Healthy', 'recovered', { failures: 0, successes: 0, reason: undefined });
        return to('Recovering', 'recovering', { failures: 0, successes: 1 });
      case 'Recovering': {
        const successes = h.successes + 1;
        if (successes >= p.successThreshold && now - h.since >= p.failbackAfterMs) {
          return to('Healthy', 'recovered', { failures: 0, successes: 0, reason: undefined });
        }
        return { health: { ...h, successes }, events: [] };
      }
    }
  }
  const failures = h.failures + 1;
  switch (h.state) {
    case 'AuthFailed':
    case 'Healthy':
      if (failures >= p.failureThreshold) return to('Unhealthy', 'unhealthy', { failures, successes: 0, reason: obs.reason });
      return to('Suspect', 'suspect', { failures, successes: 0, reason: obs.reason });
    case 'Suspect':
      if (failures >= p.failureThreshold) return to('Unhealthy', 'unhealthy', { failures, successes: 0, reason: obs.reason });
      return { health: { ...h, failures, reason: obs.reason }, events: [] };
    case 'Unhealthy':
      return { health: { ...h, failures, successes: 0, reason: obs.reason }, events: [] };
    case 'Recovering':
      return to('Unhealthy', 'relapsed', { failures, successes: 0, reason: obs.reason });
  }
}

/** Whether replicas may run on a member in this state (Suspect still serves; Recovering does not yet). */
export function isServing(state: HealthState): boolean {
  return state === 'Healthy' || state === 'Suspect';
}

/** Whether the member keeps its traffic: serving, or AuthFailed (a credentials problem is no outage). */
export function keepsTraffic(state: HealthState): boolean {
  return isServing(state) || state === 'AuthFailed';
}
