// cluster-mgr's alerts end to end: a real `cluster-mgr run` child (sim + front HAProxy) with
// `alerting.alertmanager` = a real Alertmanager that delivers to a test webhook receiver, and
// `alerting.webhooks` = a second receiver called directly. A member fault → FederationMemberUnhealthy
// and FederationFailoverDone arrive at both; recovery → the unhealthy alert is delivered as resolved.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools, requireTools, waitFor, type Daemon } from '../lab/index';
import { startAlertmanager, startReceiver, type Receiver } from '../traffic/receiver';
import { startStack, type Stack } from './stack';

const TOOLS = ['haproxy', 'prometheus-alertmanager'];

interface AmNotification {
  status: 'firing' | 'resolved';
  alerts: { status: string; labels: Record<string, string> }[];
}
interface HookPayload {
  status: 'firing' | 'resolved';
  alertname: string;
  labels: Record<string, string>;
}

describe('alerting end to end (cluster-mgr run → Alertmanager → receiver; plain webhook)', () => {
  let am: Daemon | undefined;
  let amReceiver: Receiver | undefined;
  let hook: Receiver | undefined;
  let stack: Stack | undefined;

  beforeAll(async () => {
    if (missingTools(TOOLS).length > 0) return;
    amReceiver = await startReceiver();
    hook = await startReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'e2e-am-'));
    const started = await startAlertmanager(dir, amReceiver.url);
    am = started.daemon;
    const amPort = started.port;
    stack = await startStack({
      health: { interval: '250ms', timeout: '200ms', failureThreshold: 3, successThreshold: 2, failbackAfter: '1s' },
      alerting: { alertmanager: { url: `http://127.0.0.1:${amPort}` }, webhooks: [{ url: hook.url }] },
    });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await am?.stop();
    await amReceiver?.close();
    await hook?.close();
  }, 30_000);

  it('member unhealthy and failover done reach both receivers; recovery resolves', async (ctx) => {
    requireTools(ctx, TOOLS);
    const s = stack!;
    const amNotes = () => amReceiver!.bodies as AmNotification[];
    const hooks = () => hook!.bodies as HookPayload[];
    const amHas = (status: string, name: string) => amNotes().some((n) => n.status === status && n.alerts.some((a) => a.labels.alertname === name && a.labels.member === 'sh1-a' && a.status === status));
    const hookHas = (status: string, name: string) => hooks().some((p) => p.status === status && p.alertname === name && p.labels.member === 'sh1-a');

    await s.sim.setFault('sh1-a', 'down');
    try {
      await waitFor(() => amHas('firing', 'FederationMemberUnhealthy') && amHas('firing', 'FederationFailoverDone'), { what: 'Alertmanager delivered MemberUnhealthy + FailoverDone', timeoutMs: 20_000 });
      await waitFor(() => hookHas('firing', 'FederationMemberUnhealthy') && hookHas('firing', 'FederationFailoverDone'), { what: 'webhook got MemberUnhealthy + FailoverDone', timeoutMs: 5000 });
      const a = amNotes().flatMap((n) => n.alerts).find((x) => x.labels.alertname === 'FederationMemberUnhealthy')!;
      expect(a.labels).toMatchObject({ severity: 'critical', member: 'sh1-a', federation: 'sim' });
      // Fired once: one webhook post per alert while it is firing.
      expect(hooks().filter((p) => p.status === 'firing' && p.alertname === 'FederationMemberUnhealthy').length).toBe(1);
    } finally {
      await s.sim.setFault('sh1-a', 'none');
    }
    await waitFor(() => amHas('resolved', 'FederationMemberUnhealthy') && hookHas('resolved', 'FederationMemberUnhealthy'), { what: 'MemberUnhealthy resolved at both', timeoutMs: 15_000 });
  }, 60_000);
});
