// A keyed work queue (controller-runtime style): adding a key that is already queued is a no-op;
// a key being processed is never processed twice at once (re-adds run once after it finishes);
// a failing key is retried with capped exponential backoff; `drain()` waits for in-flight work.
import { backoffMs } from '../adapters/kube';

export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly order: string[] = [];
  private readonly inFlight = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private running = 0;
  private stopped = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly worker: (key: string) => Promise<void>,
    private readonly opts: { concurrency: number; maxBackoffMs: number; onError?: (key: string, err: unknown, retryInMs: number) => void },
  ) {}

  /**
   * Queues `key`. `resync: true` (the periodic resync) leaves a key that is waiting out a backoff
   * alone: only a real event may retry a failing key early.
   */
  add(key: string, opts: { resync?: boolean } = {}): void {
    if (this.stopped) return;
    if (opts.resync && this.timers.has(key)) return;
    if (this.inFlight.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.order.push(key);
    this.pump();
  }

  /** A retry after a failure is pending for `key`. */
  backingOff(key: string): boolean {
    return this.timers.has(key);
  }

  /** Adds after a delay (keeps only the earliest pending timer per key). */
  addAfter(key: string, ms: number): void {
    if (this.stopped || this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, t);
  }

  get length(): number {
    return this.order.length;
  }

  private pump(): void {
    while (!this.stopped && this.running < this.opts.concurrency && this.order.length > 0) {
      const key = this.order.shift()!;
      this.queued.delete(key);
      this.inFlight.add(key);
      this.running++;
      void this.worker(key)
        .then(
          () => this.failures.delete(key),
          (err: unknown) => {
            const n = this.failures.get(key) ?? 0;
            this.failures.set(key, n + 1);
            const wait = backoffMs(n, this.opts.maxBackoffMs);
            this.opts.onError?.(key, err, wait);
            this.addAfter(key, wait);
          },
        )
        .finally(() => {
          this.running--;
          this.inFlight.delete(key);
          if (this.dirty.delete(key)) this.add(key);
          if (this.running === 0 && (this.order.length === 0 || this.stopped)) for (const f of this.idle.splice(0)) f();
          this.pump();
        });
    }
  }

  /** Stops taking work and waits for in-flight items to finish. */
  async drain(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.order.length = 0;
    this.queued.clear();
    if (this.running === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }
}
