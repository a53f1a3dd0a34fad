// Alerter over a plain JSON webhook (chat bridges, ticketing): one POST per fire/resolve.
import { alertKey } from '../contracts/alerts';
import { systemClock, type Alert, type Alerter, type Clock } from '../contracts/index';
import { postJson } from './http';

export interface WebhookOptions {
  readonly url: string;
  /** Extra headers, e.g. `{ authorization: 'Bearer …' }` (never logged). */
  readonly headers?: Record<string, string>;
  /** @default 5000 */
  readonly timeoutMs?: number;
  readonly clock?: Clock;
}

/** The JSON body posted for each event. */
export interface WebhookPayload {
  readonly status: 'firing' | 'resolved';
  readonly alertname: string;
  readonly severity: Alert['severity'];
  readonly labels: Record<string, string>;
  readonly summary: string;
  readonly description?: string;
  readonly startsAt: string;
  readonly endsAt?: string;
}

export function toWebhookPayload(alert: Alert, status: WebhookPayload['status'], startsAt: number, endsAt?: number): WebhookPayload {
  return {
    status,
    alertname: alert.name,
    severity: alert.severity,
    labels: { ...alert.labels },
    summary: alert.summary,
    ...(alert.description ? { description: alert.description } : {}),
    startsAt: new Date(startsAt).toISOString(),
    ...(endsAt !== undefined ? { endsAt: new Date(endsAt).toISOString() } : {}),
  };
}

export class WebhookAlerter implements Alerter {
  private readonly started = new Map<string, number>();
  private readonly clock: Clock;

  constructor(private readonly opts: WebhookOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  async fire(alert: Alert, signal?: AbortSignal): Promise<void> {
    const key = alertKey(alert);
    const startsAt = this.started.get(key) ?? this.clock.now();
    this.started.set(key, startsAt);
    await this.send(toWebhookPayload(alert, 'firing', startsAt), signal);
  }

  async resolve(alert: Alert, signal?: AbortSignal): Promise<void> {
    const key = alertKey(alert);
    const now = this.clock.now();
    const startsAt = this.started.get(key) ?? now;
    this.started.delete(key);
    await this.send(toWebhookPayload(alert, 'resolved', startsAt, now), signal);
  }

  private send(body: WebhookPayload, signal?: AbortSignal): Promise<void> {
    return postJson(this.opts.url, body, { timeoutMs: this.opts.timeoutMs ?? 5000, headers: this.opts.headers, signal });
  }
}

/** Sends to several alerters; one failing does not stop the others (the first error is rethrown). */
export class FanoutAlerter implements Alerter {
  constructor(private readonly targets: readonly Alerter[]) {}
  fire(alert: Alert, signal?: AbortSignal): Promise<void> {
    return this.all((t) => t.fire(alert, signal));
  }
  resolve(alert: Alert, signal?: AbortSignal): Promise<void> {
    return this.all((t) => t.resolve(alert, signal));
  }
  private async all(fn: (t: Alerter) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(this.targets.map(fn));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
