// Alerting end to end: the Alertmanager adapter posts to a real Alertmanager (v2 API), which
// delivers to a test webhook receiver; resolve delivers a resolved notification. The plain webhook
// adapter posts its own payload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertmanagerAlerter, toPostableAlert } from '../../cluster-mgr/adapters/alertmanager';
import { WebhookAlerter, type WebhookPayload } from '../../cluster-mgr/adapters/webhook';
import { alerts, AlertName } from '../../cluster-mgr/contracts/alerts';
import { freePort, isCI, makeDir, missingTools, requireTools, waitFor, type Daemon } from '../lab/index';
import { startAlertmanager, startReceiver, type Receiver } from './receiver';

interface AmNotification {
  status: 'firing' | 'resolved';
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string>; endsAt: string }[];
}

const available = missingTools(['prometheus-alertmanager']).length === 0;

describe('Alertmanager alerter', () => {
  let am: Daemon | undefined;
  let amPort: number;
  let receiver: Receiver;

  beforeAll(async () => {
    if (!available && !isCI()) return;
    receiver = await startReceiver();
    const dir = makeDir('alertmanager');
    ({ daemon: am, port: amPort } = await startAlertmanager(dir, receiver.url));
  });

  afterAll(async () => {
    await am?.stop();
    await receiver?.close();
  });

  it('fires an alert that reaches the webhook receiver, then resolves it', async (ctx) => {
    requireTools(ctx, ['prometheus-alertmanager']);
    const alerter = new AlertmanagerAlerter({ url: `http://127.0.0.1:${amPort}`, labels: { federation: 'prod' } });
    const alert = alerts.memberUnhealthy('bj1-a', '3 probes of /readyz failed');
    await alerter.fire(alert);
    expect(alerter.firing()).toEqual(['FederationMemberUnhealthy{member=bj1-a}']);

    const notes = () => receiver.bodies as AmNotification[];
    const firing = await waitFor(() => notes().find((n) => n.status === 'firing' && n.alerts.some((a) => a.labels.member === 'bj1-a')), {
      what: 'firing notification at the receiver',
      timeoutMs: 10_000,
    });
    const a = firing.alerts[0]!;
    expect(a.labels).toMatchObject({ alertname: AlertName.MemberUnhealthy, severity: 'critical', member: 'bj1-a', federation: 'prod' });
    expect(a.annotations).toMatchObject({ summary: 'member bj1-a is unhealthy', description: '3 probes of /readyz failed' });

    // The v2 API lists it as active.
    const listed = (await (await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts?filter=member%3D%22bj1-a%22`)).json()) as { status: { state: string } }[];
    expect(listed[0]?.status.state).toBe('active');

    await alerter.resolve(alert);
    expect(alerter.firing()).toEqual([]);
    const resolved = await waitFor(() => notes().find((n) => n.status === 'resolved'), { what: 'resolved notification', timeoutMs: 10_000 });
    expect(resolved.alerts[0]!.labels.member).toBe('bj1-a');
  });

  it('a bad Alertmanager URL rejects with the endpoint named', async () => {
    const port = await freePort();
    const alerter = new AlertmanagerAlerter({ url: `http://user:secret@127.0.0.1:${port}`, timeoutMs: 1000 });
    const err = await alerter.fire(alerts.memberRecovered('x')).catch((e: Error) => e);
    expect(String(err)).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/api\/v2\/alerts failed/);
    expect(String(err)).not.toContain('secret');
  });

  it('resendActive re-posts only the alerts still firing, with their original startsAt', async () => {
    const sink = await startReceiver();
    try {
      let now = Date.UTC(2026, 0, 1);
      const alerter = new AlertmanagerAlerter({ url: sink.url.replace(/\/hook$/, ''), clock: { now: () => now } });
      await alerter.fire(alerts.memberUnhealthy('a', 'x'));
      now += 1000;
      await alerter.fire(alerts.memberUnhealthy('b', 'y'));
      await alerter.resolve(alerts.memberUnhealthy('a', 'x'));
      now += 60_000;
      await alerter.resendActive();
      const last = sink.bodies.at(-1) as { labels: Record<string, string>; startsAt: string; endsAt?: string }[];
      expect(last).toHaveLength(1);
      expect(last[0]!.labels.member).toBe('b');
      expect(last[0]!.startsAt).toBe('2026-01-01T00:00:01.000Z');
      expect(last[0]!.endsAt).toBeUndefined();
    } finally {
      await sink.close();
    }
  });

  it('maps an alert to the v2 postable shape', () => {
    const p = toPostableAlert(alerts.failoverBlocked('sh1-a', 'last serving member'), Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1, 0, 5));
    expect(p).toEqual({
      labels: { alertname: 'FederationFailoverBlocked', severity: 'critical', member: 'sh1-a' },
      annotations: { summary: 'failover away from sh1-a blocked', description: 'last serving member' },
      startsAt: '2026-01-01T00:00:00.000Z',
      endsAt: '2026-01-01T00:05:00.000Z',
    });
  });
});

describe('webhook alerter', () => {
  it('posts firing and resolved payloads with the same startsAt', async () => {
    const receiver = await startReceiver();
    try {
      let now = Date.UTC(2026, 0, 1);
      const hook = new WebhookAlerter({ url: receiver.url, clock: { now: () => now } });
      const alert = alerts.replicasUnschedulable('shop', 'web', 3, 'no member has 500m cpu free');
      await hook.fire(alert);
      now += 60_000;
      await hook.resolve(alert);
      const [fired, resolved] = receiver.bodies as WebhookPayload[];
      expect(fired).toMatchObject({ status: 'firing', alertname: 'FederationReplicasUnschedulable', labels: { namespace: 'shop', app: 'web' }, startsAt: '2026-01-01T00:00:00.000Z' });
      expect(fired!.endsAt).toBeUndefined();
      expect(resolved).toMatchObject({ status: 'resolved', startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2026-01-01T00:01:00.000Z' });
    } finally {
      await receiver.close();
    }
  });
});
