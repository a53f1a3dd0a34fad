// The autoscale loops: per app with `autoscale` (from every source, followed live by update()), every `autoscale.interval` desired =
// ceil(query result / targetPerReplica), clamped (core/autoscale via adapters/prometheus); the result
// is the total the spread divides. A failing query keeps the count and alerts.
import type { Logger } from 'pino';
import { parseDuration } from '../../infra/lib/units';
import { PrometheusSource, startAutoscaler } from '../adapters/prometheus';
import type { App, Federation } from '../config/schema';
import type { Alert } from '../contracts/index';
import { appKey } from '../core/plan';

export interface AutoscaleOptions {
  readonly federation: Federation;
  readonly apps: readonly App[];
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** A decision changed an app's total: reconcile soon. */
  readonly onChange: () => void;
  readonly alertOnce: (op: 'fire' | 'resolve', a: Alert, signal?: AbortSignal) => Promise<void>;
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

  /** Starts the loops for `o.apps`; `update` follows later app sets (apps added, changed, removed). */
  start(o: AutoscaleOptions): void {
    this.opts = o;
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
    }
    for (const a of fresh) this.startOne(o, a, this.loops.get(appKey(a))!.stop.signal);
  }

  private startOne(o: AutoscaleOptions, a: App, stop: AbortSignal): void {
    const prometheus = o.federation.spec.prometheus;
    if (!prometheus) {
      if (!this.warned) o.log.warn({ app: appKey(a) }, 'apps have autoscale but the Federation has no prometheus.url; their replica counts stay fixed');
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
      source: new PrometheusSource({ url: prometheus.url }),
      current: (key) => this.totals.get(key) ?? a.replicas,
      onDecision: (key, d) => {
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
}
