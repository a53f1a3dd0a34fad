// The traffic loop's pass (after every probe round): observe the traffic layer, plan (core/
// traffic-plan), execute in order (adapters/traffic-executor), keep the committed phases; plus the
// plan's replica steps (move away after a drain, return before the ramp) and the failover-done check.
// Only the leader acts.
import { committedPhases, executePlan } from '../adapters/traffic-executor';
import { isServing, keepsTraffic } from '../core/health';
import { planTraffic, type MemberPhase, type TrafficAction } from '../core/traffic-plan';
import { alerts } from '../contracts/alerts';
import type { MemberTraffic } from '../contracts/index';
import { describeStuck, waitVerdict } from '../core/readiness';
import { FULL_WEIGHT, sharesReady, stuckPods, type DaemonContext } from './context';

export class TrafficLoop {
  /** The last error observing the traffic layer (undefined: it answers). */
  error: string | undefined;

  constructor(
    private readonly c: DaemonContext,
    private readonly allReturned: (member: string) => boolean,
  ) {}

  async pass(signal: AbortSignal): Promise<void> {
    const { c } = this;
    if (signal.aborted || !c.isLeader()) return;
    const opTimeout = () => AbortSignal.any([signal, AbortSignal.timeout(Math.max(2000, c.timeoutMs * 2))]);
    let observed: Record<string, MemberTraffic> | undefined;
    if (c.traffic.kind !== 'none') {
      try {
        observed = await c.traffic.observe(opTimeout());
        if (this.error) c.event('traffic-ok', `${c.traffic.kind}: traffic layer answers again`);
        this.error = undefined;
      } catch (err) {
        const msg = (err as Error).message;
        if (this.error !== msg) {
          c.o.log.warn({ err: msg }, 'cannot observe the traffic layer');
          c.event('traffic-error', `${c.traffic.kind}: cannot observe: ${msg}`);
        }
        this.error = msg;
      }
    }
    const names = [...c.memberState.keys()];
    const second = new Map<string, boolean | undefined>();
    const so = c.o.secondOpinion;
    if (typeof so === 'function') {
      // Asked only about members cluster-mgr itself sees failing (the guard's question).
      await Promise.all(
        names.filter((n) => !keepsTraffic(c.memberState.get(n)!.health.state)).map(async (n) => second.set(n, await so(n, opTimeout()).catch(() => undefined))),
      );
    } else if (so === 'front') for (const n of names) second.set(n, observed?.[n]?.checkUp);
    const previous: Record<string, MemberPhase | undefined> = {};
    const plan = planTraffic(
      names.map((n) => {
        const st = c.memberState.get(n)!;
        previous[n] = st.phase;
        st.observed = observed?.[n];
        return {
          name: n,
          // AuthFailed keeps its traffic (a credentials problem is no outage) unless it was drained before.
          healthy: isServing(st.health.state) || (st.health.state === 'AuthFailed' && !st.drained),
          ...(second.has(n) ? { secondOpinionUp: second.get(n) } : {}),
          // Only consulted while restoring (replicas first, then traffic); skip the scan otherwise.
          // A return that hit readyTimeout counts as ready (the documented failback rule, docs/failover.md).
          replicasReady: st.phase?.kind === 'restoring' ? !st.returning && (st.returnedDegraded === true || this.allReturned(n)) : true,
          // No traffic layer: "observed" is what we last set, so nothing is re-issued every pass.
          observed: observed ? observed[n] : c.traffic.kind === 'none' ? st.traffic : undefined,
          ...(st.phase ? { phase: st.phase } : {}),
          ...(st.blocked ? { blocked: true } : {}),
        };
      }),
      { failbackAfterMs: c.failbackAfterMs, rampSteps: c.o.federation.spec.health.failbackSteps, fullWeight: FULL_WEIGHT, requireSecondOpinion: so !== undefined },
      c.clock.now(),
    );
    if (plan.actions.length === 0) {
      for (const [n, o] of Object.entries(plan.members)) c.memberState.get(n)!.phase = o.phase;
      if (observed) for (const n of names) void c.alertOnce('resolve', alerts.trafficSwitchFailed(n, c.traffic.kind, 'the traffic switch works again'));
      return;
    }
    const report = await executePlan(
      plan,
      {
        traffic: {
          kind: c.traffic.kind,
          observe: (sig) => c.traffic.observe(sig),
          set: async (member, state, weight, sig) => {
            await c.traffic.set(member, state, weight, sig);
            this.recordSet(member, state, weight ?? FULL_WEIGHT); // recorded when confirmed, in plan order
          },
        },
        alerter: { fire: (a, s) => c.alertOnce('fire', a, s), resolve: (a, s) => c.alertOnce('resolve', a, s) },
        moveReplicasAway: async (member) => this.moveReplicasAway(member),
        returnReplicas: async (member) => this.returnReplicas(member),
        onError: (a, err) => this.onActionError(a, err),
      },
      opTimeout(),
    );
    // A switch that works again (observed, and this member's steps all ran) resolves its alert.
    if (observed) {
      const failed = new Set(report.failed.map((f) => (f.action.kind === 'fire' || f.action.kind === 'resolve' ? undefined : f.action.member)));
      for (const n of names) if (!failed.has(n)) void c.alertOnce('resolve', alerts.trafficSwitchFailed(n, c.traffic.kind, 'the traffic switch works again'));
    }
    const phases = committedPhases(plan, report, previous);
    for (const [n, o] of Object.entries(plan.members)) {
      const st = c.memberState.get(n)!;
      st.phase = phases[n];
      if (o.blocked && !st.blocked) c.event('failover-blocked', `${n}: ${o.note ?? 'failover held back'}`, { member: n });
      st.blocked = o.blocked;
      st.note = o.note;
    }
  }

  private recordSet(name: string, state: 'ready' | 'drain' | 'maint', weight: number): void {
    const { c } = this;
    const st = c.memberState.get(name)!;
    if (st.traffic.state === state && st.traffic.weight === weight) return;
    st.traffic = { state, weight };
    c.metrics.trafficWeight.set({ member: name }, weight);
    if (state === 'drain') {
      c.event('traffic-drained', `${name}: traffic drained`, { member: name });
      const f = c.failovers.findLast((x) => x.member === name && !x.drainedAt);
      if (f) Object.assign(f, { drainedAt: new Date().toISOString() });
    } else c.event('traffic-weight', `${name}: traffic ${state} weight ${weight}/${FULL_WEIGHT}`, { member: name });
  }

  private onActionError(a: TrafficAction, err: Error): void {
    const member = a.kind === 'fire' || a.kind === 'resolve' ? a.alert.labels.member : a.member;
    this.c.o.log.error({ action: a.kind, member, err: err.message }, 'traffic action failed');
    if (a.kind !== 'fire' && a.kind !== 'resolve') this.c.event('traffic-error', `${member ?? ''}: ${a.kind} failed: ${err.message}`, member ? { member } : {});
  }

  /** Plan step after the drain: the member stops counting for the spread; its replicas go elsewhere. */
  private moveReplicasAway(member: string): void {
    const { c } = this;
    const st = c.memberState.get(member)!;
    st.drained = true;
    st.returning = undefined;
    st.failover = { since: c.clock.now(), perfSince: performance.now() };
    c.failovers.push({ member, unhealthyAt: new Date(st.health.since).toISOString(), ...(st.traffic.state === 'drain' ? { drainedAt: new Date().toISOString() } : {}) });
    if (c.failovers.length > 50) c.failovers.shift();
    c.event('failover', `${member}: traffic drained, moving replicas away`, { member });
    c.enqueueAll();
  }

  /** Plan step on recovery: replicas return (paced) before any traffic. */
  private returnReplicas(member: string): void {
    const { c } = this;
    const st = c.memberState.get(member)!;
    if (st.drained || !st.returning) {
      st.drained = false;
      st.returning = { since: c.clock.now() };
    }
    st.failover = undefined;
    st.returnedDegraded = undefined;
    void c.alertOnce('resolve', alerts.failoverDone(member, 'member recovered'));
    void c.alertOnce('resolve', alerts.failoverDegraded(member, 'member recovered'));
    c.event('failback', `${member}: returning replicas before traffic (ramp over ${c.o.federation.spec.health.failbackAfter} once ready)`, { member });
    c.enqueueAll();
  }

  /**
   * After a failover: every app's share is ready on the remaining members (core/readiness) →
   * FederationFailoverDone. After readyTimeout without that, the failover completes "degraded":
   * FederationFailoverDegraded names the pods that are not ready and why.
   */
  checkFailoversDone(): void {
    const { c } = this;
    const apps = c.apps();
    for (const [name, st] of c.memberState) {
      if (!st.failover) continue;
      const covered = [...apps.keys()].every((k) => c.appStatus.get(k)?.result !== undefined);
      const others = [...c.memberState.keys()].filter((m) => m !== name);
      // A share of 0 elsewhere (e.g. another failed member) is nothing to wait for.
      const ready = covered && others.every((m) => sharesReady(c, m, (_, want) => want === 0));
      const verdict = waitVerdict(ready, st.failover.since, c.clock.now(), c.readyTimeoutMs);
      if (verdict === 'waiting') continue;
      const ms = Math.round(performance.now() - st.failover.perfSince);
      st.failover = undefined;
      const f = c.failovers.findLast((x) => x.member === name && !x.replicasReadyAt && !x.degraded);
      if (verdict === 'timed-out') {
        const detail = `not all replicas ready elsewhere after readyTimeout ${c.o.federation.spec.health.readyTimeout}: ${describeStuck(stuckPods(c, others))}`;
        if (f) Object.assign(f, { degraded: detail });
        c.event('failover-degraded', `${name}: failover completed degraded: ${detail}`, { member: name });
        void c.alertOnce('fire', alerts.failoverDegraded(name, detail));
        continue;
      }
      if (f) Object.assign(f, { replicasReadyAt: new Date().toISOString(), replicasReadyMs: Math.round(c.clock.now() - Date.parse(f.unhealthyAt)) });
      c.event('failover-done', `${name}: replicas ready on the other members (${ms} ms after the drain)`, { member: name });
      void c.alertOnce('fire', alerts.failoverDone(name, `replicas ready elsewhere ${ms} ms after the drain`));
    }
  }
}
