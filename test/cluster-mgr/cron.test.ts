// The node-cron Scheduler adapter: real node-cron tasks (every second), one run at a time, stopped
// when the signal aborts; and the reason the autoscale loop stays on setInterval (docs/autoscale.md).
import { createTask, getTasks } from 'node-cron';
import { describe, expect, it } from 'vitest';
import { CronScheduler } from '../../cluster-mgr/adapters/cron';
import { waitFor } from '../lab/index';

describe('CronScheduler (node-cron)', () => {
  it('runs a job on its schedule, reports the next run, and stops (destroyed in node-cron) when the signal aborts', async () => {
    const ac = new AbortController();
    let runs = 0;
    const job = new CronScheduler().schedule('every-second', '* * * * * *', async () => void runs++, ac.signal);
    expect(job.nextRun()!.getTime()).toBeGreaterThan(Date.now() - 1000);
    expect([...getTasks().values()].some((t) => t.name === 'every-second')).toBe(true);
    await waitFor(() => runs >= 2, { what: 'two scheduled runs', timeoutMs: 5000 });
    ac.abort();
    expect(job.stopped()).toBe(true);
    expect(job.nextRun()).toBeUndefined();
    expect([...getTasks().values()].some((t) => t.name === 'every-second')).toBe(false);
    const before = runs;
    await job.trigger(); // a stopped job does not run, not even on demand
    expect(runs).toBe(before);
  });

  it('trigger runs now, one at a time: a second trigger while one is in flight gets the same run', async () => {
    const ac = new AbortController();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const job = new CronScheduler().schedule('yearly', '0 0 1 1 *', async () => {
      runs++;
      await gate;
    }, ac.signal);
    const a = job.trigger();
    const b = job.trigger();
    expect(b).toBe(a);
    release();
    await a;
    expect(runs).toBe(1);
    await job.trigger();
    expect(runs).toBe(2);
    job.stop();
    expect(job.stopped()).toBe(true);
    ac.abort();
  });

  it('a failing job is logged and keeps its schedule', async () => {
    const ac = new AbortController();
    const logs: string[] = [];
    const job = new CronScheduler({ log: (_l, m) => logs.push(m) }).schedule('boom', '0 0 1 1 *', async () => {
      throw new Error('kaput');
    }, ac.signal);
    await job.trigger();
    expect(logs).toContain('job boom failed: kaput');
    expect(job.stopped()).toBe(false);
    ac.abort();
  });

  it('an already aborted signal schedules nothing', () => {
    const ac = new AbortController();
    ac.abort();
    const job = new CronScheduler().schedule('never', '* * * * * *', async () => undefined, ac.signal);
    expect(job.stopped()).toBe(true);
  });

  // Why autoscale keeps setInterval: cron fields are wall-clock aligned. A 45 s interval written as
  // `*/45` in the seconds field fires at :00 and :45 — gaps of 45 s and 15 s — and 90 s or 1500ms
  // cannot be written at all.
  it('node-cron cannot express a 45 s interval (autoscale.interval stays on its own loop)', () => {
    const t = createTask('*/45 * * * * *', () => undefined);
    const runs = t.getNextRuns(5).map((d) => d.getTime());
    const gaps = runs.slice(1).map((x, i) => (x - runs[i]!) / 1000);
    expect(new Set(gaps)).toEqual(new Set([45, 15]));
    void t.destroy();
  });
});
