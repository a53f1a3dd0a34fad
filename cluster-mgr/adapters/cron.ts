// Scheduler over node-cron: one node-cron task per job, started at once and destroyed when the
// signal aborts (SIGTERM drain) or on stop(). One run at a time per job: a tick that finds the
// previous run still going is skipped (node-cron's `noOverlap`, plus our own guard for `trigger`).
import { createTask, type ScheduledTask } from 'node-cron';
import type { ScheduledJob, Scheduler } from '../contracts/index';

export interface CronSchedulerOptions {
  /** node-cron's own messages (missed executions, overlaps). @default - dropped */
  readonly log?: (level: 'debug' | 'warn', msg: string) => void;
  /** IANA time zone for the expressions. @default - the process's local time zone */
  readonly timezone?: string;
}

export class CronScheduler implements Scheduler {
  constructor(private readonly o: CronSchedulerOptions = {}) {}

  schedule(name: string, expression: string, run: () => Promise<void>, signal: AbortSignal): ScheduledJob {
    const log = this.o.log ?? (() => undefined);
    let inFlight: Promise<void> | undefined;
    let stopped = false;
    const once = (): Promise<void> => {
      if (stopped) return Promise.resolve();
      inFlight ??= run()
        .catch((err: unknown) => log('warn', `job ${name} failed: ${(err as Error).message}`))
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    };
    const task: ScheduledTask = createTask(expression, () => once(), {
      name,
      noOverlap: true,
      ...(this.o.timezone ? { timezone: this.o.timezone } : {}),
      logger: {
        info: (m) => log('debug', `node-cron ${name}: ${m}`),
        debug: (m) => log('debug', `node-cron ${name}: ${String(m)}`),
        // Overlap skips and missed ticks (a busy event loop) are expected here, not operator news.
        warn: (m) => log('debug', `node-cron ${name}: ${m}`),
        error: (m) => log('warn', `node-cron ${name}: ${String(m)}`),
      },
    });
    const stop = () => {
      if (stopped) return;
      stopped = true;
      signal.removeEventListener('abort', stop);
      void task.destroy();
    };
    if (signal.aborted) stop();
    else {
      signal.addEventListener('abort', stop, { once: true });
      void task.start();
    }
    return {
      name,
      expression,
      nextRun: () => (stopped ? undefined : (task.getNextRun() ?? undefined)),
      trigger: once,
      stopped: () => stopped,
      stop,
    };
  }
}
