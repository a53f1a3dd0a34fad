// The federation daemon: probes members, runs the health state machine, reconciles every app from
// OBSERVED state (informer caches + health), and writes only while it leads.
//
//   probe loop (every health.interval) ─► nextHealth ─► on Unhealthy: drain traffic, then reconcile
//                                                     on Healthy again: replicas return (paced), then traffic ramps
//   resync (every interval) + informer changes ─► WorkQueue(app key) ─► reconcileApp
//
// One root AbortController; stop(): stop probes/watches, drain workers, release the lease.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { parseDuration } from '../../infra/site/units';
import { APP_LABEL, APP_NAMESPACE_LABEL, MANAGED_BY, FIELD_MANAGER, TEMPLATE_HASH, sleep } from '../adapters/kube';
import type { App, Federation } from '../config/schema';
import { initialHealth, isServing, nextHealth, type HealthEvent, type HealthParams, type MemberHealth } from '../core/health';
import { appKey, checkCapacity, selects, spreadInputFor, type MemberCapacity } from '../core/plan';
import { divideReplicas, paceReturn, type SpreadResult } from '../core/spread';
import { CronScheduler } from '../adapters/cron';
import { day2Probe, type Day2Probe } from '../adapters/day2';
import { committedPhases, executePlan } from '../adapters/traffic-executor';
import { planTraffic, type MemberPhase, type TrafficAction } from '../core/traffic-plan';
import { alerts, alertKey } from '../contracts/alerts';
import type { Alert, Alerter, ClusterApi, Clock, KubeObject, MemberTraffic, Scheduler, TrafficSwitch } from '../contracts/index';
import { systemClock } from '../contracts/index';
import { Day2Runner } from './day2';
import { LeaderElector } from './leader';
import { DaemonMetrics } from './metrics';
import { WorkQueue } from './queue';

export const noTraffic: TrafficSwitch = {
  kind: 'none',
  set: async () => undefined,
  observe: async () => ({}),
};
export const noAlerts: Alerter = { fire: async () => undefined, resolve: async () => undefined };

export interface DaemonOptions {
  readonly federation: Federation;
  /** Apps from the Federation file plus `--apps DIR`. */
  readonly apps: readonly App[];
  /** One ClusterApi per member, by member name. */
  readonly members: ReadonlyMap<string, ClusterApi>;
  /** The host cluster for the Lease (when leaderElection is configured). */
  readonly host?: ClusterApi;
  /** Where `propagate` objects are read from. @default - the first member */
  readonly source?: ClusterApi;
  readonly log: Logger;
  readonly traffic?: TrafficSwitch;
  readonly alerter?: Alerter;
  readonly clock?: Clock;
  /** Total per app from autoscaling (issue 6); absent → app.replicas. */
  readonly desiredOverride?: (key: string) => number | undefined;
  readonly workers?: number;
  /**
   * Split-brain guard: a member is drained only when this second vantage point also sees it down.
   * `front`: the traffic layer's own health check (HAProxy `checkUp`); a function: e.g. a witness.
   * @default - no second opinion (cluster-mgr's probes decide alone)
   */
  readonly secondOpinion?: 'front' | ((member: string, signal: AbortSignal) => Promise<boolean | undefined>);
  /** Runs spec.day2 checks on their cron schedules. @default - node-cron (adapters/cron) */
  readonly scheduler?: Scheduler;
  /** Probes behind spec.day2 checks. @default - the real probes, paths taken as given */
  readonly day2Probe?: Day2Probe;
}

export interface StateEvent {
  readonly at: string;
  readonly type: string;
  readonly member?: string;
  readonly app?: string;
  readonly message: string;
}

interface MemberState {
  health: MemberHealth;
  /** Traffic layer: what we last set. */
  traffic: { state: 'ready' | 'drain' | 'maint'; weight: number };
  /** What the traffic layer reported at the last pass (undefined: not observed). */
  observed?: MemberTraffic;
  /** Traffic phase (core/traffic-plan) after the last executed pass. */
  phase?: MemberPhase;
  /** The failover away from this member is held back (last serving member / split-brain guard). */
  blocked?: boolean;
  note?: string;
  /** Set while replicas return after recovery (paced). */
  returning?: { since: number };
  /** Replicas are moving away after a drain: fire FederationFailoverDone once they are ready elsewhere. */
  failover?: { since: number; perfSince: number };
  /** Drained (or drain attempted) since it went Unhealthy: replicas may move. */
  drained: boolean;
  lastProbeMs?: number;
}

interface AppStatus {
  desired: number;
  result?: SpreadResult;
  applied: Record<string, number>;
  /** Last time a returning member gained replicas (clock ms). */
  pacedAt: Record<string, number>;
  /** Member has its full (unpaced) share. */
  full: Record<string, boolean>;
  lastError?: string;
}

const FULL_WEIGHT = 256;

/** Timings of completed failovers (fault detection → drained → replicas ready elsewhere), for /api/state and the bench. */
export interface FailoverTiming {
  readonly member: string;
  readonly unhealthyAt: string;
  readonly drainedAt?: string;
  readonly replicasReadyAt?: string;
  /** ms from Unhealthy to the replicas being ready elsewhere. */
  readonly replicasReadyMs?: number;
}

export class Daemon {
  private readonly root = new AbortController();
  private readonly memberState = new Map<string, MemberState>();
  private readonly appStatus = new Map<string, AppStatus>();
  private apps = new Map<string, App>();
  private readonly queue: WorkQueue;
  private readonly events: StateEvent[] = [];
  private readonly tasks: Promise<unknown>[] = [];
  private readonly leader?: LeaderElector;
  readonly metrics = new DaemonMetrics();
  private readonly clock: Clock;
  private readonly traffic: TrafficSwitch;
  private readonly alerter: Alerter;
  private readonly params: HealthParams;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly failbackAfterMs: number;
  private started = false;
  private stopping: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private changeTimer: NodeJS.Timeout | undefined;
  private readonly lastCapacity = new Map<string, MemberCapacity>();
  /** The capacity problems last logged per member (logged again only when they change). */
  private readonly capacityProblems = new Map<string, string>();
  /** Alerts currently firing (by alertKey), so each is fired once and resolved once. */
  private readonly firing = new Map<string, Alert>();
  private readonly failovers: FailoverTiming[] = [];
  private trafficError: string | undefined;
  private readonly day2?: Day2Runner;

  constructor(private readonly o: DaemonOptions) {
    const h = o.federation.spec.health;
    this.clock = o.clock ?? systemClock;
    this.traffic = o.traffic ?? noTraffic;
    this.alerter = o.alerter ?? noAlerts;
    this.intervalMs = parseDuration(h.interval)!;
    this.timeoutMs = parseDuration(h.timeout)!;
    this.failbackAfterMs = parseDuration(h.failbackAfter)!;
    this.params = { failureThreshold: h.failureThreshold, successThreshold: h.successThreshold, failbackAfterMs: this.failbackAfterMs };
    for (const m of o.federation.spec.members) {
      this.memberState.set(m.name, { health: initialHealth(this.clock.now()), traffic: { state: 'ready', weight: FULL_WEIGHT }, drained: false });
    }
    this.setApps(o.apps);
    const checks = o.federation.spec.day2?.checks ?? [];
    if (checks.length > 0) {
      this.day2 = new Day2Runner({
        checks,
        scheduler: o.scheduler ?? new CronScheduler({ log: (level, msg) => o.log[level](msg) }),
        probe: o.day2Probe ?? day2Probe(),
        clock: this.clock,
        metrics: this.metrics,
        alert: (op, a) => this.alertOnce(op, a),
        event: (type, message) => this.event(type, message),
        log: (level, msg, fields) => o.log[level](fields ?? {}, msg),
      });
    }
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: o.workers ?? 4,
      maxBackoffMs: 10_000,
      onError: (key, err, wait) => {
        const st = this.appStatus.get(key);
        if (st) st.lastError = (err as Error).message;
        o.log.warn({ app: key, err: (err as Error).message, retryInMs: Math.round(wait) }, 'reconcile failed; backing off');
      },
    });
    const le = o.federation.spec.leaderElection;
    if (le && o.host) {
      this.leader = new LeaderElector({
        api: o.host,
        namespace: le.namespace,
        name: le.leaseName,
        identity: le.identity ?? `${hostname()}-${process.pid}`,
        leaseDurationMs: parseDuration(le.leaseDuration)!,
        renewDeadlineMs: parseDuration(le.renewDeadline)!,
        retryPeriodMs: parseDuration(le.retryPeriod)!,
        clock: this.clock,
        onChange: (leader) => {
          this.metrics.leader.set(leader ? 1 : 0);
          this.event('leader', leader ? 'became leader' : 'lost leadership');
          if (leader) this.enqueueAll();
          if (leader) void this.day2?.reassert();
        },
        log: (level, msg, fields) => o.log[level](fields ?? {}, msg),
      });
    } else {
      this.metrics.leader.set(1);
    }
  }

  get signal(): AbortSignal {
    return this.root.signal;
  }

  isLeader(): boolean {
    return this.leader ? this.leader.isLeader() : true;
  }

  /** Replaces the app set (config + apps folder); removed apps' Deployments are left in place. */
  setApps(apps: readonly App[]): void {
    this.apps = new Map(apps.map((a) => [appKey(a), a]));
    for (const key of [...this.appStatus.keys()]) if (!this.apps.has(key)) this.appStatus.delete(key);
    if (this.started) this.enqueueAll();
  }

  private event(type: string, message: string, extra: { member?: string; app?: string } = {}): void {
    this.events.push({ at: new Date().toISOString(), type, message, ...extra });
    if (this.events.length > 200) this.events.splice(0, this.events.length - 200);
  }

  private enqueueAll(): void {
    for (const key of this.apps.keys()) this.queue.add(key);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const signal = this.root.signal;
    for (const api of this.o.members.values()) api.start(signal);
    if (this.leader) this.tasks.push(this.leader.run(signal));
    this.tasks.push(this.probeLoop(signal));
    this.day2?.start(signal);
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.intervalMs);
    this.o.log.info({ members: [...this.o.members.keys()], apps: this.apps.size, leaderElection: !!this.leader }, 'cluster-mgr started');
    this.enqueueAll();
  }

  /** Informer change: reconcile soon (coalesced). */
  notifyChange(): void {
    if (!this.started || this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      this.enqueueAll();
    }, 100);
  }

  ready(): boolean {
    if (!this.started || this.root.signal.aborted) return false;
    for (const [name, api] of this.o.members) {
      if (!api.synced() && isServing(this.memberState.get(name)!.health.state)) return false;
    }
    return true;
  }

  // ---- health probing -------------------------------------------------------------------------

  private async probeLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = this.clock.now();
      await Promise.all([...this.o.members.entries()].map(([name, api]) => this.probeOne(name, api, signal)));
      try {
        await this.trafficPass(signal);
        this.checkFailoversDone();
      } catch (err) {
        this.o.log.error({ err: (err as Error).message }, 'traffic pass failed; retrying next round');
      }
      const spent = this.clock.now() - started;
      await sleep(Math.max(10, this.intervalMs - spent), signal);
    }
  }

  private async probeOne(name: string, api: ClusterApi, signal: AbortSignal): Promise<void> {
    const st = this.memberState.get(name)!;
    const t0 = performance.now();
    const obs = await api.probe(signal); // bounded by the client's per-request timeout (health.timeout)
    if (signal.aborted) return;
    st.lastProbeMs = Math.round(performance.now() - t0);
    const { health, events } = nextHealth(st.health, obs, this.clock.now(), this.params);
    st.health = health;
    this.metrics.setHealth(name, health.state);
    for (const e of events) await this.onHealthEvent(name, st, e);
  }

  private async onHealthEvent(name: string, st: MemberState, e: HealthEvent): Promise<void> {
    const log = this.o.log;
    this.event(`member-${e.type}`, `${name}: ${e.from} → ${e.to}${e.reason ? ` (${e.reason})` : ''}`, { member: name });
    log.info({ member: name, from: e.from, to: e.to, reason: e.reason }, `member ${e.type}`);
    // Traffic is sequenced by the traffic pass that follows every probe round (core/traffic-plan):
    // drain first, then replicas; on recovery replicas first, then the ramp.
    if (e.type === 'unhealthy') {
      this.metrics.failovers.inc({ member: name });
      st.returning = undefined;
      this.enqueueAll();
    } else if (e.type === 'recovered') {
      this.metrics.failbacks.inc({ member: name });
      if (st.drained) {
        st.drained = false;
        st.returning = { since: this.clock.now() };
      }
      this.enqueueAll();
    } else if (e.type === 'recovering' || e.type === 'relapsed') {
      this.enqueueAll();
    }
  }

  /**
   * One traffic pass (after every probe round): observe the traffic layer, plan (core/traffic-plan),
   * execute in order (adapters/traffic-executor), keep the committed phases. Only the leader acts.
   */
  private async trafficPass(signal: AbortSignal): Promise<void> {
    if (signal.aborted || !this.isLeader()) return;
    const opTimeout = () => AbortSignal.any([signal, AbortSignal.timeout(Math.max(2000, this.timeoutMs * 2))]);
    let observed: Record<string, MemberTraffic> | undefined;
    if (this.traffic.kind !== 'none') {
      try {
        observed = await this.traffic.observe(opTimeout());
        if (this.trafficError) this.event('traffic-ok', `${this.traffic.kind}: traffic layer answers again`);
        this.trafficError = undefined;
      } catch (err) {
        const msg = (err as Error).message;
        if (this.trafficError !== msg) {
          this.o.log.warn({ err: msg }, 'cannot observe the traffic layer');
          this.event('traffic-error', `${this.traffic.kind}: cannot observe: ${msg}`);
        }
        this.trafficError = msg;
      }
    }
    const names = [...this.memberState.keys()];
    const second = new Map<string, boolean | undefined>();
    const so = this.o.secondOpinion;
    if (typeof so === 'function') {
      // Asked only about members cluster-mgr itself sees failing (the guard's question).
      await Promise.all(
        names.filter((n) => !isServing(this.memberState.get(n)!.health.state)).map(async (n) => second.set(n, await so(n, opTimeout()).catch(() => undefined))),
      );
    } else if (so === 'front') for (const n of names) second.set(n, observed?.[n]?.checkUp);
    const previous: Record<string, MemberPhase | undefined> = {};
    const plan = planTraffic(
      names.map((n) => {
        const st = this.memberState.get(n)!;
        previous[n] = st.phase;
        st.observed = observed?.[n];
        return {
          name: n,
          healthy: isServing(st.health.state),
          ...(second.has(n) ? { secondOpinionUp: second.get(n) } : {}),
          // Only consulted while restoring (replicas first, then traffic); skip the scan otherwise.
          replicasReady: st.phase?.kind === 'restoring' ? !st.returning && this.allReturned(n) : true,
          // No traffic layer: "observed" is what we last set, so nothing is re-issued every pass.
          observed: observed ? observed[n] : this.traffic.kind === 'none' ? st.traffic : undefined,
          ...(st.phase ? { phase: st.phase } : {}),
          ...(st.blocked ? { blocked: true } : {}),
        };
      }),
      { failbackAfterMs: this.failbackAfterMs, rampSteps: this.o.federation.spec.health.failbackSteps, fullWeight: FULL_WEIGHT, requireSecondOpinion: so !== undefined },
      this.clock.now(),
    );
    if (plan.actions.length === 0) {
      for (const [n, o] of Object.entries(plan.members)) this.memberState.get(n)!.phase = o.phase;
      if (observed) for (const n of names) void this.alertOnce('resolve', alerts.trafficSwitchFailed(n, this.traffic.kind, 'the traffic switch works again'));
      return;
    }
    const report = await executePlan(
      plan,
      {
        traffic: {
          kind: this.traffic.kind,
          observe: (sig) => this.traffic.observe(sig),
          set: async (member, state, weight, sig) => {
            await this.traffic.set(member, state, weight, sig);
            this.trafficSet(member, state, weight ?? FULL_WEIGHT); // recorded when confirmed, in plan order
          },
        },
        alerter: { fire: (a, s) => this.alertOnce('fire', a, s), resolve: (a, s) => this.alertOnce('resolve', a, s) },
        moveReplicasAway: async (member) => this.moveReplicasAway(member),
        returnReplicas: async (member) => this.returnReplicas(member),
        onError: (a, err) => this.onActionError(a, err),
      },
      opTimeout(),
    );
    // A switch that works again (observed, and this member's steps all ran) resolves its alert.
    if (observed) {
      const failed = new Set(report.failed.map((f) => (f.action.kind === 'fire' || f.action.kind === 'resolve' ? undefined : f.action.member)));
      for (const n of names) if (!failed.has(n)) void this.alertOnce('resolve', alerts.trafficSwitchFailed(n, this.traffic.kind, 'the traffic switch works again'));
    }
    const phases = committedPhases(plan, report, previous);
    for (const [n, o] of Object.entries(plan.members)) {
      const st = this.memberState.get(n)!;
      st.phase = phases[n];
      if (o.blocked && !st.blocked) this.event('failover-blocked', `${n}: ${o.note ?? 'failover held back'}`, { member: n });
      st.blocked = o.blocked;
      st.note = o.note;
    }
  }

  private trafficSet(name: string, state: 'ready' | 'drain' | 'maint', weight: number): void {
    const st = this.memberState.get(name)!;
    if (st.traffic.state === state && st.traffic.weight === weight) return;
    st.traffic = { state, weight };
    this.metrics.trafficWeight.set({ member: name }, weight);
    if (state === 'drain') {
      this.event('traffic-drained', `${name}: traffic drained`, { member: name });
      const f = this.failovers.findLast((x) => x.member === name && !x.drainedAt);
      if (f) Object.assign(f, { drainedAt: new Date().toISOString() });
    } else this.event('traffic-weight', `${name}: traffic ${state} weight ${weight}/${FULL_WEIGHT}`, { member: name });
  }

  private onActionError(a: TrafficAction, err: Error): void {
    const member = a.kind === 'fire' || a.kind === 'resolve' ? a.alert.labels.member : a.member;
    this.o.log.error({ action: a.kind, member, err: err.message }, 'traffic action failed');
    if (a.kind !== 'fire' && a.kind !== 'resolve') this.event('traffic-error', `${member ?? ''}: ${a.kind} failed: ${err.message}`, member ? { member } : {});
  }

  /** Plan step after the drain: the member stops counting for the spread; its replicas go elsewhere. */
  private moveReplicasAway(member: string): void {
    const st = this.memberState.get(member)!;
    st.drained = true;
    st.returning = undefined;
    st.failover = { since: this.clock.now(), perfSince: performance.now() };
    this.failovers.push({ member, unhealthyAt: new Date(st.health.since).toISOString(), ...(st.traffic.state === 'drain' ? { drainedAt: new Date().toISOString() } : {}) });
    if (this.failovers.length > 50) this.failovers.shift();
    this.event('failover', `${member}: traffic drained, moving replicas away`, { member });
    this.enqueueAll();
  }

  /** Plan step on recovery: replicas return (paced) before any traffic. */
  private returnReplicas(member: string): void {
    const st = this.memberState.get(member)!;
    if (st.drained || !st.returning) {
      st.drained = false;
      st.returning = { since: this.clock.now() };
    }
    st.failover = undefined;
    void this.alertOnce('resolve', alerts.failoverDone(member, 'member recovered'));
    this.event('failback', `${member}: returning replicas before traffic (ramp over ${this.o.federation.spec.health.failbackAfter} once ready)`, { member });
    this.enqueueAll();
  }

  /** After a failover: replicas of every app are ready on the remaining members → FederationFailoverDone. */
  private checkFailoversDone(): void {
    for (const [name, st] of this.memberState) {
      if (!st.failover) continue;
      let ok = this.appStatus.size > 0 || this.apps.size === 0;
      for (const [key, app] of this.apps) {
        const status = this.appStatus.get(key);
        if (!status?.result) {
          ok = false;
          break;
        }
        for (const [m, want] of Object.entries(status.result.assignments)) {
          if (m === name) continue;
          const d = this.o.members.get(m)?.findOwned(app.namespace, this.deploymentName(app));
          if (want > 0 && (!d || d.readyReplicas < want || d.replicas !== want)) ok = false;
        }
      }
      if (!ok) continue;
      const ms = Math.round(performance.now() - st.failover.perfSince);
      st.failover = undefined;
      const f = this.failovers.findLast((x) => x.member === name && !x.replicasReadyAt);
      if (f) Object.assign(f, { replicasReadyAt: new Date().toISOString(), replicasReadyMs: Math.round(this.clock.now() - Date.parse(f.unhealthyAt)) });
      this.event('failover-done', `${name}: replicas ready on the other members (${ms} ms after the drain)`, { member: name });
      void this.alertOnce('fire', alerts.failoverDone(name, `replicas ready elsewhere ${ms} ms after the drain`));
    }
  }

  private serverOf(member: string): string {
    return this.o.federation.spec.members.find((m) => m.name === member)?.traffic?.server ?? member;
  }

  /** Fires (once) or resolves (only when firing) an alert; delivery errors are logged, never thrown. */
  async alertOnce(op: 'fire' | 'resolve', a: Alert, signal?: AbortSignal): Promise<void> {
    // Only the leader alerts (and tracks what fires), so a standby that takes over fires afresh.
    if (!this.isLeader()) return;
    const key = alertKey(a);
    if (op === 'fire') {
      if (this.firing.has(key)) return;
      this.firing.set(key, a);
    } else {
      if (!this.firing.has(key)) return;
      this.firing.delete(key);
    }
    this.event(`alert-${op}`, `${a.name}${Object.keys(a.labels).length ? ` {${Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(',')}}` : ''}: ${a.summary}`, a.labels.member ? { member: a.labels.member } : {});
    try {
      await this.alerter[op](a, AbortSignal.any([...(signal ? [signal] : []), AbortSignal.timeout(5000)]));
    } catch (err) {
      this.o.log.warn({ alert: a.name, err: (err as Error).message }, 'alert delivery failed');
    }
  }

  /** Runs a day-2 check now (tests, operators); undefined when there is no such check. */
  runDay2(name: string): Promise<void> | undefined {
    return this.day2?.trigger(name);
  }

  /** The scheduled day-2 jobs. */
  day2Jobs() {
    return this.day2?.jobs() ?? [];
  }

  /** Alerts currently firing (for /api/state). */
  activeAlerts(): Alert[] {
    return [...this.firing.values()];
  }

  // ---- reconcile ------------------------------------------------------------------------------

  /** Members replicas may run on now: serving, or Unhealthy but not yet drained (traffic first). */
  private schedulable(name: string): boolean {
    const st = this.memberState.get(name)!;
    return isServing(st.health.state) || (st.health.state === 'Unhealthy' && !st.drained);
  }

  private capacityOf(name: string, api: ClusterApi): MemberCapacity {
    const healthy = this.schedulable(name) && api.synced();
    if (api.synced()) {
      const c = api.capacity();
      const { capacity: cap, problems } = checkCapacity({ healthy, allocatable: c.allocatable, allocated: c.allocated });
      const said = problems.join('; ');
      if (said !== (this.capacityProblems.get(name) ?? '')) {
        if (said) this.o.log.warn({ member: name, problems }, 'capacity amounts that are not finite numbers >= 0: member gets no replicas until they are');
        this.capacityProblems.set(name, said);
      }
      this.lastCapacity.set(name, cap);
      return cap;
    }
    const last = this.lastCapacity.get(name);
    return last ? { ...last, healthy } : { healthy: false, allocatable: { cpu: 0, memory: 0, pods: 0 }, allocated: { cpu: 0, memory: 0, pods: 0 } };
  }

  private async reconcile(key: string): Promise<void> {
    const app = this.apps.get(key);
    if (!app || this.root.signal.aborted) return;
    const end = this.metrics.reconcileDuration.startTimer();
    try {
      await this.reconcileApp(key, app);
    } finally {
      end();
    }
  }

  private deploymentName(app: App): string {
    return app.template.metadata?.name ?? app.name;
  }

  private async reconcileApp(key: string, app: App): Promise<void> {
    const fedMembers = this.o.federation.spec.members;
    // Never decide from a partial view: a serving member whose caches have not listed yet would look
    // empty and lose its replicas (fatal after a restart). The periodic resync retries.
    if (fedMembers.some((m) => this.schedulable(m.name) && !this.o.members.get(m.name)!.synced())) return;
    const depName = this.deploymentName(app);
    const capacity: Record<string, MemberCapacity> = {};
    const current: Record<string, number> = {};
    const observed: Record<string, { replicas: number; hash?: string } | undefined> = {};
    for (const m of fedMembers) {
      const api = this.o.members.get(m.name)!;
      capacity[m.name] = this.capacityOf(m.name, api);
      const d = api.findOwned(app.namespace, depName);
      observed[m.name] = d ? { replicas: d.replicas, ...(d.templateHash ? { hash: d.templateHash } : {}) } : undefined;
      // A member that is not serving contributes nothing now (its replicas are being replaced).
      current[m.name] = this.schedulable(m.name) ? (d?.replicas ?? 0) : 0;
    }
    const desired = this.o.desiredOverride?.(key) ?? app.replicas;
    const result = divideReplicas(spreadInputFor(app, desired, fedMembers, capacity, current));
    const returning = new Set(fedMembers.filter((m) => this.memberState.get(m.name)!.returning).map((m) => m.name));
    const status: AppStatus = this.appStatus.get(key) ?? { desired, applied: {}, pacedAt: {}, full: {} };
    let target = result.assignments;
    let goal = result.assignments;
    if (returning.size > 0) {
      // Failback: the goal is the exact fair split (no tolerance), reached in paced steps — a
      // returning member gains at most `step` replicas per interval.
      goal = divideReplicas({ ...spreadInputFor(app, desired, fedMembers, capacity, current), exact: true }).assignments;
      const now = this.clock.now();
      const steps = this.o.federation.spec.health.failbackSteps;
      const limits = [...returning].map((n) => (now - (status.pacedAt[n] ?? 0) >= this.intervalMs ? Math.max(1, Math.ceil((goal[n] ?? 0) / steps)) : 0));
      target = paceReturn(current, goal, returning, Math.min(...limits));
      for (const n of returning) if ((target[n] ?? 0) > (current[n] ?? 0)) status.pacedAt[n] = now;
    }
    for (const m of fedMembers) status.full[m.name] = (target[m.name] ?? 0) >= (goal[m.name] ?? 0);
    status.desired = desired;
    status.result = { ...result, assignments: target };
    this.appStatus.set(key, status);
    for (const m of fedMembers) this.metrics.assigned.set({ app: key, member: m.name }, target[m.name] ?? 0);
    this.metrics.unschedulable.set({ app: key }, result.unschedulable);
    const unsched = alerts.replicasUnschedulable(app.namespace, app.name, result.unschedulable, result.unschedulableReason ?? 'no member has room');
    if (result.unschedulable > 0) void this.alertOnce('fire', unsched);
    else void this.alertOnce('resolve', unsched);

    if (!this.isLeader()) return;
    const hash = templateHash(app);
    const errors: string[] = [];
    const otherServing = fedMembers.some((m) => isServing(this.memberState.get(m.name)!.health.state));
    await Promise.all(
      fedMembers.map(async (m) => {
        const api = this.o.members.get(m.name)!;
        const state = this.memberState.get(m.name)!.health.state;
        let want = target[m.name] ?? 0;
        const obs = observed[m.name];
        if (!this.schedulable(m.name)) {
          // Unreachable (Unhealthy) members are not written; a Recovering member (its API answers)
          // is scaled to 0 so that its replicas return later in paced steps — unless nothing else serves.
          if (state !== 'Recovering' || !otherServing || !obs || obs.replicas === 0) return;
          want = 0;
        }
        if (!selects(app, m) && !obs) return;
        if (obs && obs.replicas === want && obs.hash === hash) return;
        try {
          const signal = AbortSignal.any([this.root.signal, AbortSignal.timeout(60_000)]);
          if (!obs && want > 0) await this.propagate(app, api, signal);
          if (!obs) await this.ensureNamespace(m.name, api, app.namespace, signal);
          await api.apply(this.deployment(app, want, hash), signal);
          status.applied[m.name] = want;
          this.o.log.info({ app: key, member: m.name, replicas: want, was: obs?.replicas ?? null }, 'applied deployment');
          if (obs && obs.replicas !== want) this.event('scaled', `${key} on ${m.name}: ${obs.replicas} → ${want}`, { member: m.name, app: key });
        } catch (err) {
          errors.push(`${m.name}: ${(err as Error).message}`);
        }
      }),
    );
    // Propagated objects are refreshed on every member the app runs in (cheap: SSA is idempotent).
    for (const m of fedMembers) {
      if ((target[m.name] ?? 0) > 0 && this.schedulable(m.name) && observed[m.name] && status.applied[`propagated:${m.name}`] !== 1) {
        try {
          await this.propagate(app, this.o.members.get(m.name)!, AbortSignal.any([this.root.signal, AbortSignal.timeout(60_000)]));
          status.applied[`propagated:${m.name}`] = 1;
        } catch (err) {
          errors.push(`${m.name}: propagate: ${(err as Error).message}`);
        }
      }
    }
    // Failback: once a returning member has its full share in every app and it is ready, the next
    // traffic pass ramps its traffic back over failbackAfter.
    for (const name of returning) {
      const st = this.memberState.get(name)!;
      if (st.returning && this.allReturned(name)) {
        st.returning = undefined;
        this.event('replicas-returned', `${name}: replicas back and ready; traffic ramps over ${this.o.federation.spec.health.failbackAfter}`, { member: name });
      }
    }
    if (errors.length > 0) {
      status.lastError = errors.join('; ');
      throw new Error(errors.join('; '));
    }
    status.lastError = undefined;
  }

  private allReturned(member: string): boolean {
    const api = this.o.members.get(member)!;
    for (const [key, st] of this.appStatus) {
      if (st.full[member] === false) return false;
      const app = this.apps.get(key);
      const want = st.result?.assignments[member] ?? 0;
      if (!app || want === 0) continue;
      const d = api.findOwned(app.namespace, this.deploymentName(app));
      if (!d || d.readyReplicas < want) return false;
    }
    return true;
  }

  private readonly namespaces = new Set<string>();

  /** Creates the namespace once per member and process (SSA: no-op when it exists). */
  private async ensureNamespace(member: string, api: ClusterApi, namespace: string, signal: AbortSignal): Promise<void> {
    const key = `${member}/${namespace}`;
    if (this.namespaces.has(key)) return;
    await api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, signal);
    this.namespaces.add(key);
  }

  private deployment(app: App, replicas: number, hash: string): KubeObject {
    const t = app.template;
    const meta = t.metadata ?? {};
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: this.deploymentName(app),
        namespace: app.namespace,
        labels: { ...(meta.labels ?? {}), [MANAGED_BY]: FIELD_MANAGER, [APP_LABEL]: app.name, [APP_NAMESPACE_LABEL]: app.namespace },
        annotations: { ...(meta.annotations ?? {}), [TEMPLATE_HASH]: hash, 'flotilla.dev/federation': this.o.federation.metadata.name },
      },
      spec: { ...t.spec, replicas },
    };
  }

  /** Copies the app's propagate objects from the source cluster to `api` (PVCs: create only; never deleted). */
  private async propagate(app: App, api: ClusterApi, signal: AbortSignal): Promise<void> {
    const source = this.o.source ?? this.o.members.get(this.o.federation.spec.members[0]!.name)!;
    if (app.propagate.length === 0 || source === api) return;
    await this.ensureNamespace(api.name, api, app.namespace, signal);
    for (const p of app.propagate) {
      const obj = await source.get('v1', p.kind, app.namespace, p.name, signal);
      if (!obj) {
        this.o.log.warn({ app: appKey(app), kind: p.kind, name: p.name }, 'propagate: object not found in the source cluster');
        continue;
      }
      const copy = copyForPropagation(obj, p.kind, app.namespace);
      if (p.kind === 'PersistentVolumeClaim') {
        // PVC spec is immutable once bound: create when missing, never modify or delete.
        const existing = await api.get('v1', p.kind, app.namespace, p.name, signal);
        if (!existing) await api.write(copy, signal);
        continue;
      }
      await api.apply(copy, signal);
    }
  }

  // ---- state ----------------------------------------------------------------------------------

  state(): Record<string, unknown> {
    const clusters = this.o.federation.spec.members.map((m) => {
      const st = this.memberState.get(m.name)!;
      const api = this.o.members.get(m.name)!;
      const cap = api.synced() ? api.capacity() : undefined;
      return {
        name: m.name,
        labels: m.labels,
        health: st.health.state,
        since: new Date(st.health.since).toISOString(),
        reason: st.health.reason ?? null,
        probeMs: st.lastProbeMs ?? null,
        traffic: {
          server: this.serverOf(m.name),
          state: st.observed?.state ?? st.traffic.state,
          weight: st.observed?.weight ?? st.traffic.weight,
          fullWeight: FULL_WEIGHT,
          phase: st.phase?.kind ?? 'serving',
          ...(st.observed?.checkUp !== undefined ? { checkUp: st.observed.checkUp } : {}),
          blocked: !!st.blocked,
          note: st.note ?? null,
        },
        synced: api.synced(),
        capacity: cap ?? null,
        returning: !!st.returning,
      };
    });
    const apps = [...this.apps.entries()].map(([key, app]) => {
      const st = this.appStatus.get(key);
      const running: Record<string, { replicas: number; ready: number }> = {};
      for (const [name, api] of this.o.members) {
        const d = api.findOwned(app.namespace, this.deploymentName(app));
        if (d) running[name] = { replicas: d.replicas, ready: d.readyReplicas };
      }
      return {
        key,
        namespace: app.namespace,
        name: app.name,
        spread: app.placement.spread,
        desired: st?.desired ?? app.replicas,
        assignments: st?.result?.assignments ?? {},
        unschedulable: st?.result?.unschedulable ?? 0,
        unschedulableReason: st?.result?.unschedulableReason ?? null,
        reasons: st?.result?.reasons ?? {},
        running,
        error: st?.lastError ?? null,
      };
    });
    return {
      federation: this.o.federation.metadata.name,
      leader: this.isLeader(),
      ready: this.ready(),
      trafficSwitch: { kind: this.traffic.kind, error: this.trafficError ?? null },
      clusters,
      apps,
      day2: this.day2?.rows() ?? [],
      alerts: this.activeAlerts().map((a) => ({ name: a.name, severity: a.severity, labels: a.labels, summary: a.summary })),
      failovers: [...this.failovers].reverse(),
      events: [...this.events].reverse().slice(0, 100),
    };
  }

  /** Waits for the queue to finish in-flight work (tests, shutdown). */
  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.o.log.info('stopping: watches, workers, lease');
      if (this.resyncTimer) clearInterval(this.resyncTimer);
      if (this.changeTimer) clearTimeout(this.changeTimer);
      const draining = this.queue.drain();
      this.root.abort(); // also stops every scheduled day-2 job
      await draining;
      await this.day2?.drain();
      await Promise.allSettled(this.tasks);
      await this.leader?.release();
      this.o.log.info('stopped');
    })();
    return this.stopping;
  }
}

export function templateHash(app: App): string {
  return createHash('sha256').update(JSON.stringify([app.template, app.namespace])).digest('hex').slice(0, 16);
}

/** The object to write on a member: name, namespace, labels, annotations and payload — no status, uid, rv, managedFields. */
export function copyForPropagation(obj: KubeObject, kind: string, namespace: string): KubeObject {
  const m = (obj.metadata ?? {}) as { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  const annotations = { ...(m.annotations ?? {}) };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  delete annotations['pv.kubernetes.io/bind-completed'];
  delete annotations['pv.kubernetes.io/bound-by-controller'];
  delete annotations['volume.kubernetes.io/selected-node'];
  const out: KubeObject = {
    apiVersion: 'v1',
    kind,
    metadata: { name: m.name, namespace, labels: { ...(m.labels ?? {}), 'flotilla.dev/propagated-by': FIELD_MANAGER }, annotations },
  };
  for (const f of ['data', 'binaryData', 'stringData', 'type', 'immutable']) if (obj[f] !== undefined) out[f] = obj[f];
  if (kind === 'PersistentVolumeClaim') {
    const spec = { ...((obj.spec ?? {}) as Record<string, unknown>) };
    delete spec.volumeName; // bound to the source cluster's PV
    delete spec.dataSource;
    delete spec.dataSourceRef;
    out.spec = spec;
  }
  return out;
}
