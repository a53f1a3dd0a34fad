// The probe loop: every health.interval, probe each member, run the health state machine
// (core/health), react to its transitions (enqueue every app), then run the traffic pass.
//
//   probe round ─► nextHealth ─► on Unhealthy: drain traffic, then reconcile
//                              on Healthy again: replicas return (paced), then traffic ramps
import { sleep } from '../adapters/kube';
import { nextHealth, type HealthEvent, type HealthParams } from '../core/health';
import { alerts } from '../contracts/alerts';
import type { ClusterApi } from '../contracts/index';
import type { DaemonContext, MemberState } from './context';

export class ProbeLoop {
  constructor(
    private readonly c: DaemonContext,
    private readonly params: HealthParams,
    /** Runs after every probe round (starts the traffic pass without waiting for it; history). */
    private readonly afterRound: (signal: AbortSignal) => Promise<void>,
  ) {}

  async run(signal: AbortSignal): Promise<void> {
    const { c } = this;
    while (!signal.aborted) {
      const started = c.clock.now();
      await Promise.all([...c.o.members.entries()].map(([name, api]) => this.probeOne(name, api, signal)));
      await this.afterRound(signal);
      const spent = c.clock.now() - started;
      await sleep(Math.max(10, c.intervalMs - spent), signal);
    }
  }

  private async probeOne(name: string, api: ClusterApi, signal: AbortSignal): Promise<void> {
    const st = this.c.memberState.get(name)!;
    const t0 = performance.now();
    const obs = await api.probe(signal); // bounded by the client's per-request timeout (health.timeout)
    if (signal.aborted) return;
    st.lastProbeMs = Math.round(performance.now() - t0);
    const { health, events } = nextHealth(st.health, obs, this.c.clock.now(), this.params);
    st.health = health;
    this.c.metrics.setHealth(name, health.state);
    for (const e of events) this.onHealthEvent(name, st, e);
  }

  private onHealthEvent(name: string, st: MemberState, e: HealthEvent): void {
    const { c } = this;
    c.event(`member-${e.type}`, `${name}: ${e.from} → ${e.to}${e.reason ? ` (${e.reason})` : ''}`, { member: name });
    c.o.log.info({ member: name, from: e.from, to: e.to, reason: e.reason }, `member ${e.type}`);
    // Traffic is sequenced by the traffic pass that follows every probe round (core/traffic-plan):
    // drain first, then replicas; on recovery replicas first, then the ramp.
    if (e.type === 'unhealthy') {
      c.metrics.failovers.inc({ member: name });
      st.returning = undefined;
      c.enqueueAll();
    } else if (e.type === 'recovered') {
      c.metrics.failbacks.inc({ member: name });
      if (st.drained) {
        st.drained = false;
        st.returning = { since: c.clock.now() };
        st.returnedDegraded = undefined;
      }
      c.enqueueAll();
    } else if (e.type === 'recovering' || e.type === 'relapsed') {
      c.enqueueAll();
    } else if (e.type === 'auth-failed') {
      // No failover: cluster-mgr's credentials are the problem, not the member (core/health).
      void c.alertOnce('fire', alerts.memberAuthFailed(name, e.reason ?? 'HTTP 401/403'));
      c.enqueueAll();
    }
    if (e.from === 'AuthFailed') {
      void c.alertOnce('resolve', alerts.memberAuthFailed(name, 'credentials accepted again'));
      c.enqueueAll();
    }
  }
}
