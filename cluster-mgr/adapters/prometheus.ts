// MetricsSource over Prometheus' HTTP API (`GET /api/v1/query`); the federation's metric source
// (one URL, or the sum over the members' Prometheis); and a scheduler that evaluates each app's
// autoscale query every `interval` and hands decisions to the daemon.
import { decideReplicas, initialAutoscaleState, sumMemberOutcomes, type AutoscaleDecision, type AutoscaleSpec, type AutoscaleState, type QueryOutcome, type SourceStatus, type SummedOutcome } from '../core/autoscale';
import { systemClock, type Alerter, type Clock, type MetricsSource } from '../contracts/index';
import { HttpError, redactUrl, splitCredentials, withTimeout } from './http';

export interface PrometheusOptions {
  /** Base URL, e.g. `http://127.0.0.1:9090`. */
  readonly url: string;
  /** @default 5000 */
  readonly timeoutMs?: number;
  readonly headers?: Record<string, string>;
}

interface PromResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: 'vector' | 'scalar' | 'matrix' | 'string'; result: unknown };
}

/** Reduces an instant-query response to one number: scalar, or the sum of the vector's samples. */
export function scalarFromResponse(body: PromResponse): number | undefined {
  if (body.status !== 'success' || !body.data) throw new HttpError(`prometheus query error: ${body.errorType ?? ''} ${body.error ?? 'no data'}`.trim());
  const { resultType, result } = body.data;
  if (resultType === 'scalar') return Number((result as [number, string])[1]);
  if (resultType === 'vector') {
    const samples = result as { value: [number, string] }[];
    if (samples.length === 0) return undefined;
    return samples.reduce((sum, s) => sum + Number(s.value[1]), 0);
  }
  throw new HttpError(`prometheus query returned a ${resultType}; use an instant vector or scalar expression`);
}

export class PrometheusSource implements MetricsSource {
  private readonly base: string;
  constructor(private readonly opts: PrometheusOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  async query(promql: string, signal?: AbortSignal): Promise<number | undefined> {
    const target = splitCredentials(`${this.base}/api/v1/query?${new URLSearchParams({ query: promql })}`);
    let res: Response;
    try {
      res = await fetch(target.url, { headers: { ...target.headers, ...this.opts.headers }, signal: withTimeout(this.opts.timeoutMs ?? 5000, signal) });
    } catch (err) {
      throw new HttpError(`prometheus ${redactUrl(this.base)} unreachable: ${(err as Error).message}`);
    }
    let body: PromResponse;
    try {
      body = (await res.json()) as PromResponse;
    } catch {
      throw new HttpError(`prometheus ${redactUrl(this.base)} returned ${res.status} with a non-JSON body`, res.status);
    }
    if (!res.ok && body.status !== 'error') throw new HttpError(`prometheus ${redactUrl(this.base)} returned ${res.status}`, res.status);
    return scalarFromResponse(body);
  }
}

/** Runs a query and turns every failure into a QueryOutcome value. */
export async function evaluate(source: MetricsSource, promql: string, signal?: AbortSignal): Promise<QueryOutcome> {
  try {
    return { ok: true, value: await source.query(promql, signal) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** One evaluation of a query against the federation's metric source. */
export type Measure = (promql: string, signal?: AbortSignal) => Promise<SummedOutcome>;

/** Metric source `url`: one Prometheus or Thanos query URL (source label `url`). */
export function singleSource(source: MetricsSource): Measure {
  return async (promql, signal) => {
    const outcome = await evaluate(source, promql, signal);
    const status: SourceStatus = outcome.ok ? { source: 'url', state: 'up' } : { source: 'url', state: 'down', error: outcome.error };
    return { outcome, sources: [status] };
  };
}

/**
 * Metric source `members`: the query on every serving member's Prometheus at once (each bounded by
 * its source's timeout), summed by core's sumMemberOutcomes (partial sums are marked, never silent).
 */
export function memberSources(sources: ReadonlyMap<string, MetricsSource>, serving: (member: string) => boolean): Measure {
  return async (promql, signal) => {
    const answers = await Promise.all(
      [...sources].map(async ([member, source]) => (serving(member) ? { member, serving: true, outcome: await evaluate(source, promql, signal) } : { member, serving: false })),
    );
    return sumMemberOutcomes(answers);
  };
}

export interface AutoscaledApp {
  /** `namespace/app`. */
  readonly key: string;
  readonly spec: AutoscaleSpec;
  readonly query: string;
  readonly intervalMs: number;
}

/** Where the queries go: one Prometheus (the `url` source), or any evaluation (singleSource, memberSources). */
export type AutoscalerSource = { readonly source: MetricsSource; readonly measure?: never } | { readonly measure: Measure; readonly source?: never };

export type AutoscalerOptions = AutoscalerSource & {
  readonly apps: readonly AutoscaledApp[];
  /** Current desired total per app (the daemon's view). */
  readonly current: (key: string) => number;
  /** Receives every decision (the daemon stores `replicas` as the app's new total) and which sources answered. */
  readonly onDecision: (key: string, decision: AutoscaleDecision, sources: readonly SourceStatus[]) => void;
  /** Fires/resolves the query-failing alert; errors go to onError. */
  readonly alerter?: Alerter;
  readonly onError?: (key: string, err: Error) => void;
  readonly clock?: Clock;
  /** Stops every timer. */
  readonly signal: AbortSignal;
};

/**
 * Evaluates each app every `intervalMs` (first run at once); one evaluation in flight per app.
 * Returns `tick(key)` to evaluate one app now (tests, or an operator "scale now").
 */
export function startAutoscaler(opts: AutoscalerOptions): { tick(key: string): Promise<AutoscaleDecision | undefined> } {
  const clock = opts.clock ?? systemClock;
  const states = new Map<string, AutoscaleState>();
  const inFlight = new Map<string, Promise<AutoscaleDecision | undefined>>();
  const byKey = new Map(opts.apps.map((a) => [a.key, a]));
  const measure = opts.measure ?? singleSource(opts.source);

  const run = async (app: AutoscaledApp): Promise<AutoscaleDecision | undefined> => {
    if (opts.signal.aborted) return undefined;
    const { outcome, sources } = await measure(app.query, opts.signal);
    if (opts.signal.aborted) return undefined;
    const decision = decideReplicas({ spec: app.spec, current: opts.current(app.key), outcome, now: clock.now(), state: states.get(app.key) ?? initialAutoscaleState });
    states.set(app.key, decision.state);
    opts.onDecision(app.key, decision, sources);
    try {
      if (decision.fire) await opts.alerter?.fire(decision.fire, opts.signal);
      if (decision.resolve) await opts.alerter?.resolve(decision.resolve, opts.signal);
    } catch (err) {
      opts.onError?.(app.key, err as Error);
    }
    return decision;
  };
  const tick = (key: string): Promise<AutoscaleDecision | undefined> => {
    const app = byKey.get(key);
    if (!app) return Promise.resolve(undefined);
    const existing = inFlight.get(key);
    if (existing) return existing;
    const p = run(app)
      .catch((err: unknown) => {
        opts.onError?.(key, err as Error);
        return undefined;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  };
  for (const app of opts.apps) {
    void tick(app.key);
    const timer = setInterval(() => void tick(app.key), app.intervalMs);
    opts.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
  return { tick };
}
