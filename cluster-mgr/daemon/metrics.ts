// Prometheus metrics of the daemon (own registry, so two daemons in one process do not collide).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DAY2_STATUSES, type Day2Status } from '../core/day2';
import { HEALTH_STATES as STATES, type HealthState } from '../core/health';

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly health = new Gauge({ name: 'cluster_mgr_member_health', help: 'Member health state (1 for the current state)', labelNames: ['member', 'state'], registers: [this.registry] });
  readonly healthy = new Gauge({ name: 'cluster_mgr_member_healthy', help: '1 when the member serves (Healthy or Suspect)', labelNames: ['member'], registers: [this.registry] });
  readonly failovers = new Counter({ name: 'cluster_mgr_failovers_total', help: 'Members that went Unhealthy (replicas and traffic moved away)', labelNames: ['member'], registers: [this.registry] });
  readonly failbacks = new Counter({ name: 'cluster_mgr_failbacks_total', help: 'Members that became Healthy again after a failover (replicas and traffic returned)', labelNames: ['member'], registers: [this.registry] });
  readonly reconcileDuration = new Histogram({
    name: 'cluster_mgr_reconcile_duration_seconds',
    help: 'Duration of one app reconcile',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly requeues = new Counter({
    name: 'cluster_mgr_requeues_total',
    help: 'App keys queued by an event, by cause (pod, node, deployment, source; all: every app after a relist or an autoscale change)',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  readonly assigned = new Gauge({ name: 'cluster_mgr_assigned_replicas', help: 'Replicas assigned per app and member', labelNames: ['app', 'member'], registers: [this.registry] });
  readonly unschedulable = new Gauge({ name: 'cluster_mgr_unschedulable_replicas', help: 'Replicas of an app that fit nowhere', labelNames: ['app'], registers: [this.registry] });
  readonly trafficWeight = new Gauge({ name: 'cluster_mgr_member_traffic_weight', help: 'Traffic weight set at the front (0 drained, 256 full)', labelNames: ['member'], registers: [this.registry] });
  readonly trafficEndpointUp = new Gauge({ name: 'cluster_mgr_traffic_endpoint_up', help: "1 while the traffic layer's endpoint (a front host's runtime API) answers, 0 while unreachable", labelNames: ['switch', 'endpoint'], registers: [this.registry] });
  readonly autoscaleSourceUp = new Gauge({
    name: 'cluster_mgr_autoscale_source_up',
    help: "1 when the app's autoscale query answered at its last evaluation on this metric source (a member's Prometheus, or `url`), 0 when it failed; members not serving are not asked (no series)",
    labelNames: ['app', 'source'],
    registers: [this.registry],
  });
  readonly autoscaleEvaluations = new Counter({ name: 'cluster_mgr_autoscale_evaluations_total', help: "Evaluations of an app's autoscale query (every interval)", labelNames: ['app'], registers: [this.registry] });
  readonly leader = new Gauge({ name: 'cluster_mgr_leader', help: '1 while this process is the leader', registers: [this.registry] });
  readonly day2Status = new Gauge({
    name: 'cluster_mgr_day2_check_status',
    help: 'Day-2 check result per target (1 for the current status: ok, warn, fail, unknown = could not be checked)',
    labelNames: ['check', 'kind', 'target', 'status'],
    registers: [this.registry],
  });
  readonly day2Seconds = new Gauge({
    name: 'cluster_mgr_day2_check_value_seconds',
    help: 'Day-2 measured value: seconds left before expiry (negative: expired) or age of the newest backup, snapshot or sync',
    labelNames: ['check', 'kind', 'target'],
    registers: [this.registry],
  });
  readonly day2LastRun = new Gauge({ name: 'cluster_mgr_day2_check_last_run_timestamp_seconds', help: 'When a day-2 check last finished (Unix time)', labelNames: ['check', 'kind'], registers: [this.registry] });
  readonly day2Runs = new Counter({ name: 'cluster_mgr_day2_check_runs_total', help: 'Day-2 check runs', labelNames: ['check', 'kind'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'cluster_mgr_' });
  }

  setDay2(check: string, kind: string, target: string, status: Day2Status, seconds: number | undefined): void {
    for (const s of DAY2_STATUSES) this.day2Status.set({ check, kind, target, status: s }, s === status ? 1 : 0);
    if (seconds !== undefined) this.day2Seconds.set({ check, kind, target }, seconds);
  }

  setHealth(member: string, state: HealthState): void {
    for (const s of STATES) this.health.set({ member, state: s }, s === state ? 1 : 0);
    this.healthy.set({ member }, state === 'Healthy' || state === 'Suspect' ? 1 : 0);
  }
}
