// The autoscale loops: per app with `autoscale` (from every source, followed live by update()), every `autoscale.interval` desired =
// ceil(query result / targetPerReplica), clamped (core/autoscale via adapters/prometheus); the result
// is the total the spread divides. A failing query keeps the count and alerts. The query runs on the
// federation's metric source (`autoscaling.metrics`): one Prometheus/Thanos URL, or every serving
// member's Prometheus summed — a member that fails is reported (gauge, log line, alert) and the
// partial sum only ever scales up.
import type { Logger } from 'pino';
import { parseDuration } from '../../infra/lib/units';
import { memberSources, PrometheusSource, singleSource, startAutoscaler, type Measure } from '../adapters/prometheus';
import { MetricsSourceSchema, type App, type Federation, type MetricsSourceConfig } from '../config/schema';
import type { Alert } from '../contracts/index';
import type { SourceStatus } from '../core/autoscale';
import { appKey } from '../core/plan';
import type { DaemonMetrics } from './metrics';

export interface AutoscaleOptions {
  readonly federation: Federation;
  readonly apps: readonly App[];
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** A decision changed an app's total: reconcile soon. */
  readonly onChange: () => void;
  readonly alertOnce: (op: 'fire' | 'resolve', a: Alert, signal?: AbortSignal) => Promise<void>;
  /** Whether a member keeps its traffic now (Healthy, Suspect, AuthFailed): source `members` asks only those. @default - every member does */
  readonly memberServing?: (member: string) => boolean;
  /** `cluster_mgr_autoscale_source_up{app,source}`. */
  readonly metrics?: DaemonMetrics;
}

/** The federation's metric source: `autoscaling.metrics`, or the older `prometheus.url`. */
export function metricSourceOf(f: Federation): MetricsSourceConfig | undefined {
  // the older prometheus.url through the schema, so that its defaults (timeout) are the schema's
  return f.spec.autoscaling?.metrics ?? (f.spec.prometheus ? MetricsSourceSchema.parse({ source: 'url', url: f.spec.prometheus.url }) : undefined);
}

/** The Measure for a metric source config (one PrometheusSource per URL, each bounded by `timeout`). */
export function measureFor(m: MetricsSourceConfig, serving: (member: string) => boolean): Measure {
  const timeoutMs = parseDuration(m.timeout)!;
  if (m.source === 'url') return singleSource(new PrometheusSource({ url: m.url, timeoutMs }));
  return memberSources(new Map(Object.entries(m.urls).map(([member, url]) => [member, new PrometheusSource({ url, timeoutMs })])), serving);
}

/** The autoscaled totals, by app key (the daemon's `desiredOverride`). */
export class AppAutoscaling {
  private readonly totals = new Map<string, number>();

  desired(key: string): number | undefined {
    return this.totals.get(key);
  }

  private opts: AutoscaleOptions | undefined;
  /** Per autoscaled app: its spec (JSON) and the controller that stops its loop. */
  private readonly loops = new Map<string, { spec: string; stop: AbortController }>();
  private warned = false;
  private measure: Measure | undefined;
  private sourceNames: readonly string[] = [];
  /** Per app: the sources that failed at its last evaluation (logged when the set changes). */
  private readonly down = new Map<string, string>();

  /** Starts the loops for `o.apps`; `update` follows later app sets (apps added, changed, removed). */
  start(o: AutoscaleOptions): void {
    this.opts = o;
    const m = metricSourceOf(o.federation);
    if (m) {
      this.measure = measureFor(m, o.memberServing ?? (() => true));
      this.sourceNames = m.source === 'url' ? ['url'] : Object.keys(m.urls);
    }
    this.update(o.apps);
  }

  /** Every app with `autoscale` in `apps` gets a loop (changed specs restart theirs); removed apps' loops stop. */
  update(apps: readonly App[]): void {
    const o = this.opts;
    if (!o || o.signal.aborted) return;
    const scaled = apps.filter((a) => a.autoscale);
    const keep = new Set<string>();
    const fresh: App[] = [];
    for (const a of scaled) {
      const key = appKey(a);
      keep.add(key);
      const spec = JSON.stringify([a.autoscale, a.replicas]);
      const running = this.loops.get(key);
      if (running?.spec === spec) continue;
      running?.stop.abort();
      fresh.push(a);
      this.loops.set(key, { spec, stop: new AbortController() });
    }
    for (const [key, l] of this.loops) {
      if (keep.has(key)) continue;
      l.stop.abort();
      this.loops.delete(key);
      this.totals.delete(key);
      this.down.delete(key);
      for (const source of this.sourceNames) o.metrics?.autoscaleSourceUp.remove({ app: key, source });
    }
    for (const a of fresh) this.startOne(o, a, this.loops.get(appKey(a))!.stop.signal);
  }

  private startOne(o: AutoscaleOptions, a: App, stop: AbortSignal): void {
    const measure = this.measure;
    if (!measure) {
      if (!this.warned) o.log.warn({ app: appKey(a) }, 'apps have autoscale but the Federation has no autoscaling.metrics (or prometheus.url); their replica counts stay fixed');
      this.warned = true;
      return;
    }
    startAutoscaler({
      apps: [
        {
          key: appKey(a),
          query: a.autoscale!.query,
          intervalMs: parseDuration(a.autoscale!.interval)!,
          spec: {
            namespace: a.namespace,
            app: a.name,
            targetPerReplica: a.autoscale!.targetPerReplica,
            min: a.autoscale!.min,
            max: a.autoscale!.max,
            ...(a.autoscale!.tolerance !== undefined ? { tolerance: a.autoscale!.tolerance } : {}),
            ...(a.autoscale!.scaleDownStabilization ? { scaleDownStabilizationMs: parseDuration(a.autoscale!.scaleDownStabilization)! } : {}),
          },
        },
      ],
      measure,
      current: (key) => this.totals.get(key) ?? a.replicas,
      onDecision: (key, d, sources) => {
        this.report(o, key, sources, d.reason);
        const before = this.totals.get(key);
        this.totals.set(key, d.replicas);
        if (before !== d.replicas) {
          o.log.info({ app: key, replicas: d.replicas, was: before ?? null, reason: d.reason }, 'autoscale');
          o.onChange();
        }
      },
      alerter: { fire: (al, s) => o.alertOnce('fire', al, s), resolve: (al, s) => o.alertOnce('resolve', al, s) },
      onError: (key, err) => o.log.warn({ app: key, err: err.message }, 'autoscale failed'),
      signal: AbortSignal.any([o.signal, stop]),
    });
  }

  /** Per source: the up gauge (a member not asked has no series); a log line when the set of failing sources changes. */
  private report(o: AutoscaleOptions, key: string, sources: readonly SourceStatus[], reason: string): void {
    o.metrics?.autoscaleEvaluations.inc({ app: key });
    for (const s of sources) {
      if (s.state === 'skipped') o.metrics?.autoscaleSourceUp.remove({ app: key, source: s.source });
      else o.metrics?.autoscaleSourceUp.set({ app: key, source: s.source }, s.state === 'up' ? 1 : 0);
    }
    const failed = sources.filter((s) => s.state === 'down');
    const now = failed.map((s) => s.source).join(',');
    const was = this.down.get(key) ?? '';
    if (now === was) return;
    this.down.set(key, now);
    if (failed.length > 0) {
      o.log.warn({ app: key, failed: Object.fromEntries(failed.map((s) => [s.source, s.error ?? 'failed'])), decision: reason }, `autoscale metric source failed for ${failed.map((s) => s.source).join(', ')}`);
    } else o.log.info({ app: key, was: was.split(',') }, 'autoscale metric sources answer again');
  }
}
