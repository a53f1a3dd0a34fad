// The autoscale loop: per app with `autoscale`, every `autoscale.interval` desired =
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

  /** Starts the loop (when any app autoscales and the Federation has prometheus.url). */
  start(o: AutoscaleOptions): void {
    const prometheus = o.federation.spec.prometheus;
    const scaled = o.apps.filter((a) => a.autoscale);
    if (scaled.length === 0) return;
    if (!prometheus) {
      o.log.warn({ apps: scaled.map(appKey) }, 'apps have autoscale but the Federation has no prometheus.url; their replica counts stay fixed');
      return;
    }
    startAutoscaler({
      apps: scaled.map((a) => ({
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
      })),
      source: new PrometheusSource({ url: prometheus.url }),
      current: (key) => this.totals.get(key) ?? scaled.find((a) => appKey(a) === key)!.replicas,
      onDecision: (key, d) => {
        const before = this.totals.get(key);
        this.totals.set(key, d.replicas);
        if (before !== d.replicas) {
          o.log.info({ app: key, replicas: d.replicas, was: before ?? null, reason: d.reason }, 'autoscale');
          o.onChange();
        }
      },
      alerter: { fire: (a, s) => o.alertOnce('fire', a, s), resolve: (a, s) => o.alertOnce('resolve', a, s) },
      onError: (key, err) => o.log.warn({ app: key, err: err.message }, 'autoscale failed'),
      signal: o.signal,
    });
  }
}
