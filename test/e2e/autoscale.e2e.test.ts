// Autoscale wiring: the daemon evaluates each app's PromQL every `autoscale.interval` against the
// Prometheus HTTP API (here a loopback server answering /api/v1/query like Prometheus does), and the
// result becomes the total the spread divides: ceil(320 / 50) = 7; 1000 / 50 clamps to max 9; a
// failing query keeps the count and raises FederationAutoscaleQueryFailing (resolved when it works).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFederation } from '../../cluster-mgr/config/index';
import { runDaemon, type Running } from '../../cluster-mgr/daemon/main';
import { EXAMPLE_APP, federationDoc, startSim, type Sim } from '../../cluster-mgr/sim/index';
import { waitFor } from '../lab/index';

describe('autoscale loop in the daemon', () => {
  let sim: Sim | undefined;
  let cm: Running | undefined;
  let prom: Server | undefined;
  let answer: { status: number; value?: string } = { status: 200, value: '320' };
  const queries: string[] = [];

  beforeAll(async () => {
    prom = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      queries.push(u.searchParams.get('query') ?? '');
      if (answer.status !== 200) {
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify({ status: 'error', errorType: 'internal', error: 'simulated failure' }));
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, answer.value] }] } }));
    });
    await new Promise<void>((r) => prom!.listen(0, '127.0.0.1', () => r()));
    const dir = mkdtempSync(join(tmpdir(), 'cm-autoscale-'));
    sim = await startSim({ names: ['as-a', 'as-b'], outDir: dir, bookmarkIntervalMs: 1000 });
    const doc = federationDoc(['as-a', 'as-b']) as { spec: Record<string, unknown> };
    doc.spec.health = { interval: '250ms', timeout: '200ms', failureThreshold: 3, successThreshold: 2, failbackAfter: '1s' };
    doc.spec.prometheus = { url: `http://127.0.0.1:${(prom.address() as AddressInfo).port}` };
    doc.spec.apps = [{ ...EXAMPLE_APP, replicas: 4, autoscale: { query: 'sum(rate(cpu[1m])) * 100', targetPerReplica: 50, min: 2, max: 9, interval: '300ms', scaleDownStabilization: '0s' } }];
    const file = join(dir, 'federation.yaml');
    writeFileSync(file, stringify(doc));
    const fed = await loadFederation(file);
    if (!fed.ok) throw new Error(JSON.stringify(fed.errors));
    const log = pino({ level: 'warn' }, pino.destination({ dest: join(dir, 'cm.log'), sync: true }));
    cm = await runDaemon({ federation: fed.value, configFile: file, apps: fed.value.spec.apps, listen: { host: '127.0.0.1', port: 0 }, log });
  }, 30_000);

  afterAll(async () => {
    await cm?.stop();
    await sim?.stop();
    if (prom) await new Promise((r) => prom!.close(r));
  });

  const app = () => (cm!.daemon.state() as { apps: { desired: number; assignments: Record<string, number> }[] }).apps[0]!;
  const alerts = () => (cm!.daemon.state() as { alerts: { name: string }[] }).alerts.map((a) => a.name);
  const total = () => Object.values(app().assignments).reduce((a, b) => a + b, 0);

  it('the query result is the total the spread divides; clamp; a failing query keeps the count and alerts', async () => {
    await waitFor(() => app().desired === 7 && total() === 7, { what: 'ceil(320/50) = 7 replicas spread', timeoutMs: 10_000 });
    expect(queries[0]).toBe('sum(rate(cpu[1m])) * 100');

    answer = { status: 200, value: '1000' };
    await waitFor(() => app().desired === 9 && total() === 9, { what: 'clamped to max 9', timeoutMs: 5000 });

    answer = { status: 500 };
    const n = queries.length;
    await waitFor(() => alerts().includes('FederationAutoscaleQueryFailing'), { what: 'query-failing alert', timeoutMs: 5000 });
    await waitFor(() => queries.length >= n + 3, { what: 'more failing evaluations', timeoutMs: 5000 });
    expect(app().desired).toBe(9);
    expect(total()).toBe(9);

    answer = { status: 200, value: 'NaN' };
    await waitFor(() => queries.length >= n + 6, { what: 'NaN evaluations', timeoutMs: 5000 });
    expect(app().desired).toBe(9);

    answer = { status: 200, value: '100' };
    await waitFor(() => app().desired === 2 && total() === 2 && !alerts().includes('FederationAutoscaleQueryFailing'), { what: 'scaled to 2 and alert resolved', timeoutMs: 5000 });
  }, 40_000);
});
