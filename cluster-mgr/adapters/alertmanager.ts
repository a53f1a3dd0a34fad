// Alerter over the Alertmanager v2 API: POST /api/v2/alerts. Fire sends the alert with startsAt
// (remembered per alert identity, so re-sends keep the same start); resolve re-sends the same
// labels with endsAt = now. Alertmanager forgets an alert after its resolve_timeout unless it is
// re-sent, so the daemon should call `resendActive()` periodically (e.g. every minute).
import { alertKey } from '../contracts/alerts';
import { systemClock, type Alert, type Alerter, type Clock } from '../contracts/index';
import { postJson } from './http';

export interface AlertmanagerOptions {
  /** Base URL, e.g. `http://127.0.0.1:9093`. */
  readonly url: string;
  /** Extra labels on every alert (e.g. `{ federation: 'prod' }`). */
  readonly labels?: Record<string, string>;
  /** Link back to cluster-mgr (dashboard). */
  readonly generatorURL?: string;
  /** @default 5000 */
  readonly timeoutMs?: number;
  /** Extra request headers (e.g. authorization for a proxy in front of Alertmanager). */
  readonly headers?: Record<string, string>;
  readonly clock?: Clock;
}

/** The Alertmanager v2 `postableAlert` shape. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

export function toPostableAlert(alert: Alert, startsAt: number, endsAt: number | undefined, opts: Pick<AlertmanagerOptions, 'labels' | 'generatorURL'> = {}): PostableAlert {
  const annotations: Record<string, string> = { summary: alert.summary };
  if (alert.description) annotations.description = alert.description;
  const out: PostableAlert = {
    labels: { ...opts.labels, ...alert.labels, alertname: alert.name, severity: alert.severity },
    annotations,
    startsAt: new Date(startsAt).toISOString(),
  };
  if (endsAt !== undefined) out.endsAt = new Date(endsAt).toISOString();
  if (opts.generatorURL) out.generatorURL = opts.generatorURL;
  return out;
}

export class AlertmanagerAlerter implements Alerter {
  private readonly active = new Map<string, { alert: Alert; startsAt: number }>();
  private readonly clock: Clock;
  private readonly endpoint: string;

  constructor(private readonly opts: AlertmanagerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.endpoint = `${opts.url.replace(/\/+$/, '')}/api/v2/alerts`;
  }

  async fire(alert: Alert, signal?: AbortSignal): Promise<void> {
    const key = alertKey(alert);
    const startsAt = this.active.get(key)?.startsAt ?? this.clock.now();
    this.active.set(key, { alert, startsAt });
    await this.post([toPostableAlert(alert, startsAt, undefined, this.opts)], signal);
  }

  async resolve(alert: Alert, signal?: AbortSignal): Promise<void> {
    const key = alertKey(alert);
    const now = this.clock.now();
    const startsAt = this.active.get(key)?.startsAt ?? now;
    this.active.delete(key);
    await this.post([toPostableAlert(alert, startsAt, now, this.opts)], signal);
  }

  /** Re-sends every firing alert (keeps them alive past Alertmanager's resolve_timeout). */
  async resendActive(signal?: AbortSignal): Promise<void> {
    if (this.active.size === 0) return;
    await this.post(
      [...this.active.values()].map((a) => toPostableAlert(a.alert, a.startsAt, undefined, this.opts)),
      signal,
    );
  }

  /** Identities of the alerts currently firing. */
  firing(): string[] {
    return [...this.active.keys()];
  }

  private post(body: PostableAlert[], signal?: AbortSignal): Promise<void> {
    return postJson(this.endpoint, body, { timeoutMs: this.opts.timeoutMs ?? 5000, headers: this.opts.headers, signal });
  }
}
