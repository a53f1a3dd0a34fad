// Day-2 checks inside the daemon (spec.day2): every check runs on its cron schedule through the
// Scheduler port; each result becomes a metric, a row in /api/state (and the dashboard), an event
// when its status changes, and an alert decision (core/day2) applied through the daemon's
// fire-once/resolve-once path — which only the leader sends. Scheduling stops with the root signal.
import type { CheckResult } from '../../infra/day2/evaluate';
import type { Day2Probe } from '../adapters/day2';
import type { Day2Check } from '../config/schema';
import { judgeDay2, type Day2Status, type Day2Verdict } from '../core/day2';
import type { Alert, Clock, ScheduledJob, Scheduler } from '../contracts/index';
import type { DaemonMetrics } from './metrics';

export interface Day2RunnerOptions {
  readonly checks: readonly Day2Check[];
  readonly scheduler: Scheduler;
  readonly probe: Day2Probe;
  readonly clock: Clock;
  readonly metrics: DaemonMetrics;
  readonly alert: (op: 'fire' | 'resolve', a: Alert) => Promise<void>;
  readonly event: (type: string, message: string) => void;
  readonly log: (level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

/** One row of `/api/state` `day2` (one per check and target; a check that has not run yet has one pending row). */
export interface Day2Row {
  readonly check: string;
  readonly kind: string;
  readonly schedule: string;
  readonly target: string | null;
  readonly status: Day2Status | 'pending';
  readonly message: string;
  readonly seconds: number | null;
  readonly lastRun: string | null;
  readonly nextRun: string | null;
  readonly durationMs: number | null;
}

interface TargetState {
  result: CheckResult;
  verdict: Day2Verdict;
}

interface CheckState {
  readonly check: Day2Check;
  job?: ScheduledJob;
  targets: Map<string, TargetState>;
  lastRun?: number;
  durationMs?: number;
  runs: number;
}

export class Day2Runner {
  private readonly state = new Map<string, CheckState>();
  private readonly running = new Set<Promise<void>>();
  private signal: AbortSignal | undefined;

  constructor(private readonly o: Day2RunnerOptions) {
    for (const c of o.checks) this.state.set(c.name, { check: c, targets: new Map(), runs: 0 });
  }

  start(signal: AbortSignal): void {
    this.signal = signal;
    for (const st of this.state.values()) {
      st.job = this.o.scheduler.schedule(`day2:${st.check.name}`, st.check.schedule, () => this.run(st), signal);
    }
    if (this.state.size > 0) this.o.log('info', 'day-2 checks scheduled', { checks: [...this.state.values()].map((s) => `${s.check.name} (${s.check.schedule})`) });
  }

  /** Runs one check now (tests, "check now"); undefined for an unknown name. */
  trigger(name: string): Promise<void> | undefined {
    return this.state.get(name)?.job?.trigger();
  }

  /** The scheduled jobs (tests and /api/state). */
  jobs(): ScheduledJob[] {
    return [...this.state.values()].flatMap((s) => (s.job ? [s.job] : []));
  }

  /** Stops every job (also done by the signal) and waits for runs in flight. */
  async drain(): Promise<void> {
    for (const st of this.state.values()) st.job?.stop();
    await Promise.allSettled([...this.running]);
  }

  private run(st: CheckState): Promise<void> {
    const p = this.runOnce(st);
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return p;
  }

  private async runOnce(st: CheckState): Promise<void> {
    const signal = this.signal;
    if (!signal || signal.aborted) return;
    const c = st.check;
    const t0 = this.o.clock.now();
    let results: CheckResult[];
    try {
      results = await this.o.probe(c, new Date(t0), signal);
    } catch (err) {
      // Probes return failures as values; an exception is a bug or an unexpected environment.
      results = [{ id: c.kind, target: c.name, severity: 'fail', message: `check could not run: ${(err as Error).message}` }];
    }
    if (signal.aborted) return; // shutting down: a cancelled probe is not a result
    const t1 = this.o.clock.now();
    st.lastRun = t1;
    st.durationMs = Math.round(t1 - t0);
    st.runs++;
    this.o.metrics.day2Runs.inc({ check: c.name, kind: c.kind });
    this.o.metrics.day2LastRun.set({ check: c.name, kind: c.kind }, Math.round(t1 / 1000));
    for (const r of results) {
      const prev = st.targets.get(r.target);
      const verdict = judgeDay2({ check: c.name, kind: c.kind, target: r.target, severity: r.severity, message: r.message });
      st.targets.set(r.target, { result: r, verdict });
      this.o.metrics.setDay2(c.name, c.kind, r.target, verdict.status, r.seconds);
      if (prev?.verdict.status !== verdict.status) {
        this.o.event(`day2-${verdict.status}`, `${c.name} ${r.target}: ${r.message}`);
        this.o.log(verdict.status === 'ok' ? 'info' : 'warn', 'day-2 check', { check: c.name, kind: c.kind, target: r.target, status: verdict.status, message: r.message });
      }
      await this.apply(verdict);
    }
  }

  private async apply(v: Day2Verdict): Promise<void> {
    for (const a of v.resolve) await this.o.alert('resolve', a);
    if (v.fire) await this.o.alert('fire', v.fire);
  }

  /** Re-applies the latest verdicts (after this process becomes the leader, its alert tracking starts empty). */
  async reassert(): Promise<void> {
    for (const st of this.state.values()) for (const t of st.targets.values()) await this.apply(t.verdict);
  }

  rows(): Day2Row[] {
    const out: Day2Row[] = [];
    for (const st of this.state.values()) {
      const c = st.check;
      const common = {
        check: c.name,
        kind: c.kind,
        schedule: c.schedule,
        lastRun: st.lastRun !== undefined ? new Date(st.lastRun).toISOString() : null,
        nextRun: st.job?.nextRun()?.toISOString() ?? null,
        durationMs: st.durationMs ?? null,
      };
      if (st.targets.size === 0) out.push({ ...common, target: null, status: 'pending', message: 'not run yet', seconds: null });
      for (const [target, t] of st.targets) out.push({ ...common, target, status: t.verdict.status, message: t.result.message, seconds: t.result.seconds ?? null });
    }
    return out;
  }
}
