// Day-2 checks inside the Daemon, with injected fakes (scheduler, probe, members, alerter): each run
// becomes a metric, an /api/state row and an alert decision; alerts fire once, escalate, resolve on
// pass; only the leader sends them (a new leader re-asserts at once); stop() stops every job.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../infra/day2/evaluate';
import { parseFederation, type Federation } from '../../cluster-mgr/config/index';
import { Daemon } from '../../cluster-mgr/daemon/index';
import type { Alert, Alerter, ClusterApi, KubeObject, ScheduledJob, Scheduler } from '../../cluster-mgr/contracts/index';
import { waitFor } from '../lab/index';

const log = pino({ level: 'silent' });

function fakeMember(name: string, host?: { leaseFree: boolean }): ClusterApi {
  const zero = { cpu: 0, memory: 0, pods: 0 };
  return {
    name,
    start: () => undefined,
    synced: () => true,
    capacity: () => ({ allocatable: zero, allocated: zero, readyNodes: 0, nodes: 0 }),
    owned: () => [],
    findOwned: () => undefined,
    probe: async () => ({ ok: true }),
    apply: async () => undefined,
    // A Lease held by someone else (never expires on the test's clock) until the test frees it.
    get: async (_v, kind): Promise<KubeObject | undefined> =>
      kind === 'Lease' && host ? { metadata: { resourceVersion: host.leaseFree ? '2' : '1' }, spec: { holderIdentity: host.leaseFree ? '' : 'other', leaseDurationSeconds: 3600 } } : undefined,
    write: async () => !!host?.leaseFree,
    delete: async () => undefined,
  };
}

class FakeScheduler implements Scheduler {
  readonly jobs = new Map<string, ScheduledJob & { run: () => Promise<void> }>();
  schedule(name: string, expression: string, run: () => Promise<void>, signal: AbortSignal): ScheduledJob {
    let stopped = false;
    signal.addEventListener('abort', () => (stopped = true), { once: true });
    const job = { name, expression, run, nextRun: () => (stopped ? undefined : new Date(0)), trigger: () => (stopped ? Promise.resolve() : run()), stopped: () => stopped, stop: () => void (stopped = true) };
    this.jobs.set(name, job);
    return job;
  }
}

class RecordingAlerter implements Alerter {
  readonly calls: string[] = [];
  async fire(a: Alert) {
    this.calls.push(`fire ${a.name} ${a.labels.target}`);
  }
  async resolve(a: Alert) {
    this.calls.push(`resolve ${a.name} ${a.labels.target}`);
  }
}

function federation(extra = ''): Federation {
  const r = parseFederation(`apiVersion: flotilla.dev/v1alpha1
kind: Federation
metadata: { name: lab }
spec:
  members: [{ name: m1, kubeconfig: ./m1.yaml }]
  health: { interval: 100ms }
${extra}  day2:
    checks:
      - { name: registry-tls, kind: certExpiry, schedule: "*/5 * * * *", endpoints: ["10.0.0.5:443", "10.0.0.6:443"] }
      - { name: etcd, kind: etcdSnapshot, schedule: "0 * * * *", path: /var/backups/etcd, maxAge: 2h }
`);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

interface Row {
  check: string;
  target: string | null;
  status: string;
  message: string;
  seconds: number | null;
  lastRun: string | null;
}

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

function setup(o: { federation?: Federation; host?: { leaseFree: boolean } } = {}) {
  const scheduler = new FakeScheduler();
  const alerter = new RecordingAlerter();
  const results = new Map<string, CheckResult[] | Error>();
  const probed: string[] = [];
  const fed = o.federation ?? federation();
  daemon = new Daemon({
    federation: fed,
    apps: [],
    members: new Map([['m1', fakeMember('m1')]]),
    ...(o.host ? { host: fakeMember('host', o.host) } : {}),
    log,
    alerter,
    scheduler,
    day2Probe: async (c) => {
      probed.push(c.name);
      const r = results.get(c.name) ?? [];
      if (r instanceof Error) throw r;
      return r;
    },
  });
  daemon.start();
  const d = daemon;
  const set = (check: string, ...r: [string, CheckResult['severity'], number?][]) =>
    results.set(check, r.map(([target, severity, seconds]) => ({ id: 'x', target, severity, message: `${target} is ${severity}`, ...(seconds !== undefined ? { seconds } : {}) })));
  const rows = () => (d.state().day2 as Row[]).filter((x) => x.target !== null);
  return { scheduler, alerter, set, rows, probed, d, results };
}

describe('Daemon day-2 checks', () => {
  it('schedules one job per check with its expression; before any run each check has a pending row', () => {
    const { scheduler, d } = setup();
    expect([...scheduler.jobs.values()].map((j) => [j.name, j.expression])).toEqual([
      ['day2:registry-tls', '*/5 * * * *'],
      ['day2:etcd', '0 * * * *'],
    ]);
    expect((d.state().day2 as Row[]).map((r) => [r.check, r.target, r.status, r.lastRun])).toEqual([
      ['registry-tls', null, 'pending', null],
      ['etcd', null, 'pending', null],
    ]);
  });

  it('a run → metric, state row and alert; fired once; escalation and de-escalation swap alerts; a pass resolves; skip keeps', async () => {
    const { scheduler, alerter, set, rows, d } = setup();
    const run = () => scheduler.jobs.get('day2:registry-tls')!.run();
    set('registry-tls', ['10.0.0.5:443', 'warn', 20 * 86400], ['10.0.0.6:443', 'pass', 90 * 86400]);
    await run();
    expect(rows().map((r) => [r.target, r.status, r.seconds])).toEqual([
      ['10.0.0.5:443', 'warn', 20 * 86400],
      ['10.0.0.6:443', 'ok', 90 * 86400],
    ]);
    expect(rows()[0]!.message).toBe('10.0.0.5:443 is warn');
    expect(rows()[0]!.lastRun).not.toBeNull();
    expect(alerter.calls).toEqual(['fire FederationDay2CheckWarning 10.0.0.5:443']);
    const text = await d.metrics.registry.metrics();
    expect(text).toContain('cluster_mgr_day2_check_status{check="registry-tls",kind="certExpiry",target="10.0.0.5:443",status="warn"} 1');
    expect(text).toContain('cluster_mgr_day2_check_status{check="registry-tls",kind="certExpiry",target="10.0.0.5:443",status="ok"} 0');
    expect(text).toContain(`cluster_mgr_day2_check_value_seconds{check="registry-tls",kind="certExpiry",target="10.0.0.6:443"} ${90 * 86400}`);
    expect(text).toMatch(/cluster_mgr_day2_check_runs_total\{check="registry-tls",kind="certExpiry"\} 1/);

    await run(); // same result: nothing new is sent
    expect(alerter.calls).toHaveLength(1);

    set('registry-tls', ['10.0.0.5:443', 'fail'], ['10.0.0.6:443', 'pass']);
    await run();
    expect(alerter.calls.slice(1)).toEqual(['resolve FederationDay2CheckWarning 10.0.0.5:443', 'fire FederationDay2CheckFailed 10.0.0.5:443']);
    expect((d.state().alerts as { name: string }[]).map((a) => a.name)).toEqual(['FederationDay2CheckFailed']);

    set('registry-tls', ['10.0.0.5:443', 'skip'], ['10.0.0.6:443', 'pass']);
    await run();
    expect(alerter.calls).toHaveLength(3);
    expect(rows()[0]!.status).toBe('unknown');

    set('registry-tls', ['10.0.0.5:443', 'pass'], ['10.0.0.6:443', 'pass']);
    await run();
    expect(alerter.calls.slice(3)).toEqual(['resolve FederationDay2CheckFailed 10.0.0.5:443']);
    expect(d.state().alerts).toEqual([]);
    const events = (d.state().events as { type: string; message: string }[]).map((e) => e.type);
    expect(events).toEqual(expect.arrayContaining(['day2-warn', 'day2-fail', 'day2-unknown', 'day2-ok']));
  });

  it('a probe that throws is a failed result naming the check, not a crash', async () => {
    const { scheduler, alerter, rows, results } = setup();
    results.set('etcd', new Error('EMFILE'));
    await scheduler.jobs.get('day2:etcd')!.run();
    expect(rows()).toEqual([expect.objectContaining({ check: 'etcd', target: 'etcd', status: 'fail', message: 'check could not run: EMFILE' })]);
    expect(alerter.calls).toEqual(['fire FederationDay2CheckFailed etcd']);
  });

  it('a follower records results but sends no alert; on becoming leader it fires what fails at once', async () => {
    const host = { leaseFree: false };
    const { scheduler, alerter, set, rows, d } = setup({
      federation: federation('  leaderElection: { leaseDuration: 4s, renewDeadline: 3s, retryPeriod: 50ms }\n'),
      host,
    });
    await waitFor(async () => (await d.metrics.registry.metrics()).includes('cluster_mgr_leader 0'), { what: 'follower', timeoutMs: 5000 });
    expect(d.isLeader()).toBe(false);
    set('etcd', ['/var/backups/etcd', 'fail']);
    await scheduler.jobs.get('day2:etcd')!.run();
    expect(rows().map((r) => r.status)).toEqual(['fail']);
    expect(alerter.calls).toEqual([]);
    host.leaseFree = true;
    await waitFor(() => alerter.calls.length > 0, { what: 'the new leader to fire the failing check', timeoutMs: 5000 });
    expect(d.isLeader()).toBe(true);
    expect(alerter.calls).toEqual(['fire FederationDay2CheckFailed /var/backups/etcd']);
  });

  it('stop() stops every scheduled job (the root AbortController) and no run happens after', async () => {
    const { scheduler, probed, d } = setup();
    await d.stop();
    expect([...scheduler.jobs.values()].every((j) => j.stopped())).toBe(true);
    await scheduler.jobs.get('day2:etcd')!.run(); // a late tick from a scheduler that ignores stop
    expect(probed).toEqual([]);
  });

  it('with the real node-cron scheduler, stop() leaves no task behind', async () => {
    const fed = federation();
    daemon = new Daemon({ federation: fed, apps: [], members: new Map([['m1', fakeMember('m1')]]), log, day2Probe: async () => [] });
    daemon.start();
    const jobs = daemon.day2Jobs();
    expect(jobs.map((j) => j.stopped())).toEqual([false, false]);
    expect(jobs[0]!.nextRun()).toBeInstanceOf(Date);
    await daemon.stop();
    expect(jobs.map((j) => j.stopped())).toEqual([true, true]);
    const { getTasks } = await import('node-cron');
    expect([...getTasks().values()].filter((t) => t.name?.startsWith('day2:'))).toEqual([]);
  });
});
