// nginx as the traffic layer of the REAL daemon: `cluster-mgr run` (child) with `traffic.nginx`
// (upstream file, `nginx -t`, reload, per-member `servers`) in front of `cluster-mgr sim` members'
// ingress endpoints. A member taken down is marked `down` in the upstream file and nginx reloaded;
// a client that retries idempotent requests on connection reset sees no failure; recovery puts it back.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterMgr, stopAfterClusterMgr, writeFederation } from '../cluster-mgr/harness';
import { parseUpstream, renderUpstream } from '../../cluster-mgr/adapters/nginx';
import { startSim, type Sim } from '../../cluster-mgr/sim/index';
import { freePort, missingTools, requireTools, startDaemon, waitFor, waitForPort, type Daemon } from '../lab/index';
import { runLoad } from '../traffic/helpers';

describe('nginx traffic switch driven by the daemon', () => {
  let sim: Sim | undefined;
  let nginx: Daemon | undefined;
  let cm: Daemon | undefined;
  let upstreamFile = '';
  let frontUrl = '';
  let apiUrl = '';
  const servers: Record<string, string> = {};

  beforeAll(async () => {
    if (missingTools(['nginx']).length > 0) return;
    const dir = mkdtempSync(join(tmpdir(), 'e2e-nginx-'));
    mkdirSync(join(dir, 'tmp'));
    sim = await startSim({ names: ['ng-a', 'ng-b'], outDir: dir, bookmarkIntervalMs: 1000 });
    for (const m of sim.members) servers[m.name] = new URL(m.ingress).host;
    const port = await freePort();
    frontUrl = `http://127.0.0.1:${port}/`;
    upstreamFile = join(dir, 'upstream.conf');
    writeFileSync(upstreamFile, renderUpstream('web', Object.values(servers).map((address) => ({ address, state: 'ready' as const, weight: 100 }))));
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      `user root;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents { worker_connections 512; }\nhttp {\n  access_log off;\n  client_body_temp_path ${dir}/tmp/body;\n  proxy_temp_path ${dir}/tmp/proxy;\n  fastcgi_temp_path ${dir}/tmp/fastcgi;\n  uwsgi_temp_path ${dir}/tmp/uwsgi;\n  scgi_temp_path ${dir}/tmp/scgi;\n  include ${upstreamFile};\n  server {\n    listen 127.0.0.1:${port};\n    location / {\n      proxy_pass http://web;\n      proxy_http_version 1.1;\n      proxy_set_header Connection "";\n      proxy_next_upstream error timeout http_503;\n      proxy_connect_timeout 300ms;\n    }\n  }\n}\n`,
    );
    const args = ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')];
    nginx = startDaemon({ name: 'nginx', command: 'nginx', dir, args: [...args, '-g', 'daemon off;'] });
    await waitForPort('127.0.0.1', port, { timeoutMs: 5000 });

    const configFile = writeFederation(join(dir, 'federation-nginx.yaml'), ['ng-a', 'ng-b'], {
      health: { interval: '250ms', timeout: '200ms', failureThreshold: 3, successThreshold: 2, failbackAfter: '1s' },
      traffic: { nginx: { upstreamFile, upstream: 'web', test: ['nginx', ...args, '-t'], reload: ['nginx', ...args, '-s', 'reload'], servers } },
    });
    ({ proc: cm, url: apiUrl } = await startClusterMgr(configFile, {
      ready: async () => {
        const up = parseUpstream(readFileSync(upstreamFile, 'utf8'), 'web');
        return up.length === 2 && up.every((u) => !u.down && u.weight === 256);
      },
      what: 'cluster-mgr to set both upstream servers to weight 256',
    }));
  }, 60_000);

  afterAll(() => stopAfterClusterMgr(cm, nginx, sim), 30_000);

  const upstream = () => Object.fromEntries(parseUpstream(readFileSync(upstreamFile, 'utf8'), 'web').map((u) => [u.address, u]));

  it('a downed member is marked down and reloaded; retrying clients see no failure; it returns after recovery', async (ctx) => {
    requireTools(ctx, ['nginx']);
    let faulted = false;
    const load = runLoad({
      url: frontUrl,
      concurrency: 6,
      spreadOverMs: 4000,
      retries: 2,
      at: {
        index: 300,
        run: async () => {
          await sim!.setFault('ng-a', 'down');
          faulted = true;
        },
      },
    });
    await waitFor(() => faulted, { what: 'fault injected', timeoutMs: 10_000 });
    const t0 = performance.now();
    await waitFor(() => upstream()[servers['ng-a']!]?.down === true, { what: 'ng-a down in the upstream file', timeoutMs: 5000, intervalMs: 20 });
    console.log(`nginx: ng-a marked down ${Math.round(performance.now() - t0)} ms after the fault`);
    expect(upstream()[servers['ng-b']!]).toMatchObject({ down: false, weight: 256 });
    const r = await load;
    console.log(`nginx: ${r.ok} ok, ${r.failed} failed`);
    expect(r.errors).toEqual([]);
    expect(r.failed).toBe(0);
    expect(r.ok).toBe(2000);
    await sim!.setFault('ng-a', 'none');
    await waitFor(() => upstream()[servers['ng-a']!]?.down === false && upstream()[servers['ng-a']!]?.weight === 256, { what: 'ng-a back at weight 256', timeoutMs: 20_000, intervalMs: 50 });
    const st = (await (await fetch(`${apiUrl}/api/state`)).json()) as { trafficSwitch: { kind: string } };
    expect(st.trafficSwitch.kind).toBe('nginx');
  }, 60_000);
});
