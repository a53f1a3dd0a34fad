// The federation daemon: wires its loops behind one work queue and one root AbortController, and
// writes only while it leads. Reconcile works from OBSERVED state (informer caches + health).
//
//   probe loop  (./probe, every health.interval) ─► health state machine ─► traffic pass (./traffic,
//                 one at a time, not awaited by the probe loop: a hanging runtime API never delays probing)
//   apps        (./apps) resync (every interval) + informer changes + health transitions
//                 ─► WorkQueue(app key) ─► reconcile one app ─► Deployments + propagation (./propagation)
//   autoscale   (./autoscale, wired by ./main) ─► desiredOverride
//   day-2       (./day2) checks on cron schedules
//
// stop(): stop probes/watches, drain workers, release the lease.
import { hostname } from 'node:os';
import { parseDuration } from '../../infra/lib/units';
import { CronScheduler } from '../adapters/cron';
import { day2Probe } from '../adapters/day2';
import type { App } from '../config/schema';
import { initialHealth, isServing, keepsTraffic, type HealthParams } from '../core/health';
import { EventRoutes } from '../core/events';
import { appKey } from '../core/plan';
import { placementOf } from '../core/scheduling';
import { canaryName } from '../../infra/lib/canary';
import { alertKey } from '../contracts/alerts';
import type { Alert, Alerter, Clock, MemberEvent, TrafficSwitch } from '../contracts/index';
import { systemClock } from '../contracts/index';
import { AppReconciler } from './apps';
import { deploymentName, FULL_WEIGHT, type AppStatus, type DaemonContext, type DaemonOptions, type FailoverTiming, type MemberState, type StateEvent } from './context';
import { Day2Runner } from './day2';
import { MemberHistory } from './history';
import { LeaderElector } from './leader';
import { DaemonMetrics } from './metrics';
import { ProbeLoop } from './probe';
import { Propagator } from './propagation';
import { WorkQueue } from './queue';
import { TrafficLoop } from './traffic';

export type { DaemonOptions, FailoverTiming, StateEvent } from './context';
export { copyForPropagation, templateHash } from './propagation';

export const noTraffic: TrafficSwitch = {
  kind: 'none',
  set: async () => undefined,
  observe: async () => ({}),
};
export const noAlerts: Alerter = { fire: async () => undefined, resolve: async () => undefined };

const MAX_EVENTS = 200;

export class Daemon {
  private readonly root = new AbortController();
  private readonly memberState = new Map<string, MemberState>();
  private readonly appStatus = new Map<string, AppStatus>();
  private apps = new Map<string, App>();
  /** Which apps an informer event concerns (core/events), rebuilt with the app set. */
  private routes = new EventRoutes([]);
  private readonly queue: WorkQueue;
  private readonly events: StateEvent[] = [];
  private readonly tasks: Promise<unknown>[] = [];
  private readonly leader?: LeaderElector;
  readonly metrics = new DaemonMetrics();
  private readonly clock: Clock;
  private readonly traffic: TrafficSwitch;
  private readonly alerter: Alerter;
  private readonly intervalMs: number;
  private started = false;
  private stopping: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private changeTimer: NodeJS.Timeout | undefined;
  /** Alerts currently firing (by alertKey), so each is fired once and resolved once. */
  private readonly firing = new Map<string, Alert>();
  private readonly failovers: FailoverTiming[] = [];
  private readonly day2?: Day2Runner;
  private readonly history = new MemberHistory();
  private readonly appsLoop: AppReconciler;
  private readonly trafficLoop: TrafficLoop;
  private readonly probeLoop: ProbeLoop;
  private readonly propagator: Propagator;
  /** The traffic pass in flight (kickTrafficPass), and whether a newer round asked for another. */
  private passing: Promise<void> | undefined;
  private passAgain = false;

  constructor(private readonly o: DaemonOptions) {
    const h = o.federation.spec.health;
    this.clock = o.clock ?? systemClock;
    this.traffic = o.traffic ?? noTraffic;
    this.alerter = o.alerter ?? noAlerts;
    this.intervalMs = parseDuration(h.interval)!;
    const failbackAfterMs = parseDuration(h.failbackAfter)!;
    const params: HealthParams = { failureThreshold: h.failureThreshold, successThreshold: h.successThreshold, failbackAfterMs };
    for (const m of o.federation.spec.members) {
      this.memberState.set(m.name, { health: initialHealth(this.clock.now()), traffic: { state: 'ready', weight: FULL_WEIGHT }, drained: false });
    }
    this.setApps(o.apps);
    const ctx: DaemonContext = {
      o,
      clock: this.clock,
      traffic: this.traffic,
      metrics: this.metrics,
      root: this.root,
      intervalMs: this.intervalMs,
      timeoutMs: parseDuration(h.timeout)!,
      failbackAfterMs,
      readyTimeoutMs: parseDuration(h.readyTimeout)!,
      memberState: this.memberState,
      appStatus: this.appStatus,
      failovers: this.failovers,
      apps: () => this.apps,
      isLeader: () => this.isLeader(),
      event: (type, message, extra) => this.event(type, message, extra),
      enqueueAll: () => this.enqueueAll(),
      alertOnce: (op, a, signal) => this.alertOnce(op, a, signal),
    };
    this.propagator = new Propagator(o);
    this.appsLoop = new AppReconciler(ctx, this.propagator);
    this.trafficLoop = new TrafficLoop(ctx, (m) => this.appsLoop.allReturned(m));
    this.probeLoop = new ProbeLoop(ctx, params, async (signal) => {
      this.kickTrafficPass(signal);
      this.recordHistory();
    });
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
    this.queue = new WorkQueue((key) => this.appsLoop.reconcile(key), {
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
    this.routes = new EventRoutes(
      apps.map((a) => ({
        key: appKey(a),
        namespace: a.namespace,
        deployments: [deploymentName(a), canaryName(deploymentName(a))],
        selector: a.template.spec.selector,
        placement: placementOf(a.template.spec.template.spec as Record<string, unknown>),
      })),
    );
    for (const key of [...this.appStatus.keys()]) if (!this.apps.has(key)) this.appStatus.delete(key);
    this.o.onAppsChanged?.(apps);
    if (this.started) {
      this.watchSources();
      this.enqueueAll();
    }
  }

  /** Records an event; the same event again right after it is counted on the last one, not repeated. */
  private event(type: string, message: string, extra: { member?: string; app?: string } = {}): void {
    const at = new Date().toISOString();
    const last = this.events.at(-1);
    if (last && last.type === type && last.message === message && last.member === extra.member && last.app === extra.app) {
      this.events[this.events.length - 1] = { ...last, at, repeats: (last.repeats ?? 1) + 1 };
      return;
    }
    this.events.push({ at, type, message, ...extra });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  private enqueueAll(resync = false): void {
    for (const key of this.apps.keys()) this.queue.add(key, { resync });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const signal = this.root.signal;
    for (const api of this.o.members.values()) api.start(signal);
    this.watchSources();
    if (this.leader) this.tasks.push(this.leader.run(signal));
    this.tasks.push(this.probeLoop.run(signal));
    this.day2?.start(signal);
    this.resyncTimer = setInterval(() => this.enqueueAll(true), this.intervalMs);
    this.o.log.info({ members: [...this.o.members.keys()], apps: this.apps.size, leaderElection: !!this.leader }, 'cluster-mgr started');
    this.enqueueAll();
  }

  /**
   * Runs the traffic pass after a probe round without holding the probe loop: a runtime API that
   * hangs (a frozen or blackholed front host) costs the pass its operation timeout, never the
   * members' health detection. One pass at a time; a round that ends while one runs asks for
   * another right after it (so the newest health is always planned from).
   */
  private kickTrafficPass(signal: AbortSignal): void {
    if (this.passing) {
      this.passAgain = true;
      return;
    }
    this.passing = (async () => {
      do {
        this.passAgain = false;
        try {
          await this.trafficLoop.pass(signal);
          this.trafficLoop.checkFailoversDone();
        } catch (err) {
          this.o.log.error({ err: (err as Error).message }, 'traffic pass failed; retrying next round');
        }
      } while (this.passAgain && !signal.aborted);
    })().finally(() => (this.passing = undefined));
  }

  /** Watches the source objects of the kinds apps propagate; a change requeues only the apps that propagate it. */
  private watchSources(): void {
    const kinds = new Set<string>();
    for (const app of this.apps.values()) for (const p of app.propagate) kinds.add(p.kind);
    if (kinds.size === 0) return;
    this.propagator.source.watchSource?.(this.root.signal, (kind, namespace, name) => this.enqueuePropagating(kind, namespace, name), [...kinds].sort());
  }

  /** Requeues the apps whose `propagate` lists this source object (namespace '' for a cluster-scoped kind). */
  enqueuePropagating(kind: string, namespace: string, name: string): void {
    for (const [key, app] of this.apps) {
      if ((namespace === '' || app.namespace === namespace) && app.propagate.some((p) => p.kind === kind && p.name === name)) this.requeue(key, 'source');
    }
  }

  /** An owned Deployment changed: requeue only its app (coalescing is the queue's dedupe). */
  notifyApp(key: string): void {
    if (this.started && this.apps.has(key)) this.requeue(key, 'deployment');
  }

  /**
   * A member informer's event: requeue only the apps it concerns (core/events) — a pod its own app, a
   * node the apps that may land on it, and only when something scheduling-relevant changed. A (re)list
   * may have changed anything: every app, coalesced. Other apps follow a capacity change at the next
   * resync (health.interval).
   */
  onMemberEvent(_member: string, e: MemberEvent): void {
    if (!this.started) return;
    if (e.kind === 'listed') return this.notifyChange();
    if (e.kind === 'deployment') return this.notifyApp(e.app);
    const keys = e.kind === 'pod' ? this.routes.forPod(e.pod) : this.routes.forNode(e.before, e.after);
    for (const key of keys) this.requeue(key, e.kind);
  }

  private requeue(key: string, cause: string): void {
    this.metrics.requeues.inc({ cause });
    this.queue.add(key);
  }

  /** A change that may touch every app (a relist, autoscaled totals): reconcile all soon (coalesced over 100 ms). */
  notifyChange(): void {
    if (!this.started || this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      this.metrics.requeues.inc({ cause: 'all' }, this.apps.size);
      this.enqueueAll();
    }, 100);
  }

  /** The member keeps its traffic (Healthy, Suspect, AuthFailed): autoscaling's `members` source asks only these. */
  memberServing(name: string): boolean {
    const st = this.memberState.get(name);
    return st !== undefined && keepsTraffic(st.health.state);
  }

  ready(): boolean {
    if (!this.started || this.root.signal.aborted) return false;
    for (const [name, api] of this.o.members) {
      if (!api.synced() && isServing(this.memberState.get(name)!.health.state)) return false;
    }
    return true;
  }

  /** Fires (once) or resolves (only when firing) an alert; delivery errors are logged, never thrown. */
  async alertOnce(op: 'fire' | 'resolve', a: Alert, signal?: AbortSignal, o: { anyReplica?: boolean } = {}): Promise<void> {
    // Only the leader alerts (and tracks what fires), so a standby that takes over fires afresh —
    // except alerts about this replica itself (anyReplica: a 403 can be why it never leads).
    if (!this.isLeader() && !o.anyReplica) return;
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

  // ---- state ----------------------------------------------------------------------------------

  private serverOf(member: string): string {
    return this.o.federation.spec.members.find((m) => m.name === member)?.traffic?.server ?? member;
  }

  /** Replicas of this federation's apps running on a member (informer cache). */
  private runningOn(member: string): number {
    const api = this.o.members.get(member)!;
    let n = 0;
    for (const app of this.apps.values()) n += api.findOwned(app.namespace, deploymentName(app))?.replicas ?? 0;
    return n;
  }

  /** One history sample per member after each probe round (the ring buffer keeps what changed, and one per 5 s). */
  private recordHistory(): void {
    const t = Date.now();
    for (const [name, st] of this.memberState) {
      this.history.record(name, { t, health: st.health.state, weight: st.observed?.weight ?? st.traffic.weight, replicas: this.runningOn(name) });
    }
  }

  state(): Record<string, unknown> {
    const clusters = this.o.federation.spec.members.map((m) => {
      const st = this.memberState.get(m.name)!;
      const api = this.o.members.get(m.name)!;
      // Totals only: the per-node snapshot and Pending pods stay inside (they grow with the cluster).
      const full = api.synced() ? api.capacity() : undefined;
      const cap = full && { allocatable: full.allocatable, allocated: full.allocated, readyNodes: full.readyNodes, nodes: full.nodes, unschedulablePods: full.unschedulablePods?.length ?? 0 };
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
        const d = api.findOwned(app.namespace, deploymentName(app));
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
      trafficSwitch: { kind: this.traffic.kind, error: this.trafficLoop.error ?? null },
      clusters,
      apps,
      day2: this.day2?.rows() ?? [],
      alerts: this.activeAlerts().map((a) => ({ name: a.name, severity: a.severity, labels: a.labels, summary: a.summary })),
      failovers: [...this.failovers].reverse(),
      events: [...this.events].reverse().slice(0, 100),
      history: this.history.view(),
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
      await this.passing;
      await this.leader?.release();
      this.o.log.info('stopped');
    })();
    return this.stopping;
  }
}
