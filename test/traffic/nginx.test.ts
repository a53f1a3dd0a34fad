// NginxSwitch against a real nginx: the upstream is switched by the adapter (atomic rewrite, nginx -t,
// reload); a client that retries idempotent requests on connection reset sees no failure during the
// switch; a config that fails `nginx -t` keeps the previous file and raises NginxConfigError.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NginxConfigError, NginxSwitch, parseUpstream, renderUpstream } from '../../cluster-mgr/adapters/nginx';
import { freePort, isCI, makeDir, missingTools, requireTools, startDaemon, waitFor, waitForPort, type Daemon } from '../lab/index';
import { get, runLoad, startBackend, type Backend } from './helpers';

const available = missingTools(['nginx']).length === 0;

describe('nginx traffic switch', () => {
  let dir: string;
  let port: number;
  let a: Backend;
  let b: Backend;
  let nginx: Daemon | undefined;
  let conf: string;
  let upstreamFile: string;
  let nginxArgs: string[];

  beforeAll(async () => {
    if (!available && !isCI()) return;
    dir = makeDir('nginx-sw');
    mkdirSync(join(dir, 'tmp'));
    port = await freePort();
    a = await startBackend('bj1-a');
    b = await startBackend('sh1-a');
    conf = join(dir, 'nginx.conf');
    upstreamFile = join(dir, 'upstream.conf');
    writeFileSync(upstreamFile, renderUpstream('web', [{ address: `127.0.0.1:${a.port}`, state: 'ready', weight: 100 }, { address: `127.0.0.1:${b.port}`, state: 'ready', weight: 100 }]));
    writeFileSync(
      conf,
      `user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_timeout 30s;
  include ${upstreamFile};
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://web;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
    }
  }
}
`,
    );
    nginxArgs = ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')];
    nginx = startDaemon({ name: 'nginx', command: 'nginx', dir, args: [...nginxArgs, '-g', 'daemon off;'] });
    await waitForPort('127.0.0.1', port, { timeoutMs: 5000 });
  });

  afterAll(async () => {
    await nginx?.stop();
    await a?.close();
    await b?.close();
  });

  const makeSwitch = (servers?: Record<string, string>) =>
    new NginxSwitch({
      upstreamFile,
      upstream: 'web',
      servers: servers ?? { 'bj1-a': `127.0.0.1:${a.port}`, 'sh1-a': `127.0.0.1:${b.port}` },
      test: ['nginx', ...nginxArgs, '-t'],
      reload: ['nginx', ...nginxArgs, '-s', 'reload'],
    });

  /** Waits until every answer over `n` fresh requests is `want` (reload is asynchronous in nginx). */
  const allGoTo = (want: string, n = 10) =>
    waitFor(
      async () => {
        for (let i = 0; i < n; i++) if ((await get(`http://127.0.0.1:${port}/`)) !== want) return false;
        return true;
      },
      { what: `all requests to reach ${want}`, timeoutMs: 5000 },
    );

  it('switches the upstream: drain, weights, restore', async (ctx) => {
    requireTools(ctx, ['nginx']);
    const sw = makeSwitch();
    await sw.set('bj1-a', 'drain');
    expect(readFileSync(upstreamFile, 'utf8')).toContain(`server 127.0.0.1:${a.port} down;`);
    expect(await sw.observe()).toEqual({ 'bj1-a': { state: 'drain', weight: 0 }, 'sh1-a': { state: 'ready', weight: 100 } });
    await allGoTo('sh1-a');

    await sw.set('bj1-a', 'ready', 30);
    await sw.set('sh1-a', 'ready', 10);
    expect(parseUpstream(readFileSync(upstreamFile, 'utf8'), 'web')).toEqual([
      { address: `127.0.0.1:${a.port}`, weight: 30, down: false },
      { address: `127.0.0.1:${b.port}`, weight: 10, down: false },
    ]);
    await sw.set('sh1-a', 'drain');
    await allGoTo('bj1-a');
    await sw.set('sh1-a', 'ready', 100);
    await sw.set('bj1-a', 'ready', 100);
  });

  it('a retrying client sees no failure while the upstream is switched under load', async (ctx) => {
    requireTools(ctx, ['nginx']);
    const sw = makeSwitch();
    const hitsBefore = a.hits;
    const r = await runLoad({
      url: `http://127.0.0.1:${port}/`,
      deadlineMs: 60_000,
      retries: 3,
      spreadOverMs: 4000,
      at: {
        index: 600,
        run: async () => {
          await sw.set('bj1-a', 'drain');
        },
      },
    });
    expect(r.sent).toBe(2000);
    expect(r.failed, r.errors.join('\n')).toBe(0);
    expect(a.hits).toBeGreaterThan(hitsBefore);
    // nginx reload is asynchronous (old workers finish their connections); by the end of the load
    // everything goes to sh1-a.
    expect(new Set(r.tail)).toEqual(new Set(['sh1-a']));
    await sw.set('bj1-a', 'ready', 100);
  });

  it('a config that fails nginx -t keeps the old file and throws NginxConfigError', async (ctx) => {
    requireTools(ctx, ['nginx']);
    const before = readFileSync(upstreamFile, 'utf8');
    const broken = makeSwitch({ 'bj1-a': `127.0.0.1:${a.port}`, 'sh1-a': '127.0.0.1:not-a-port' });
    const err = await broken.set('bj1-a', 'drain').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NginxConfigError);
    expect((err as Error).message).toMatch(/config test failed after setting bj1-a drain; kept the previous/);
    expect(readFileSync(upstreamFile, 'utf8')).toBe(before);
    // nginx still serves with the old upstream.
    expect(['bj1-a', 'sh1-a']).toContain(await get(`http://127.0.0.1:${port}/`));
  });

  it('unknown members are refused with the known ones listed', async (ctx) => {
    requireTools(ctx, ['nginx']);
    await expect(makeSwitch().set('zz', 'drain')).rejects.toThrow(/member zz has no server .* \(known: bj1-a, sh1-a\)/);
  });
});

describe('upstream rendering', () => {
  it('down vs remove drain modes', () => {
    const ms = [
      { address: '127.0.0.1:1', state: 'ready' as const, weight: 25 },
      { address: '127.0.0.1:2', state: 'drain' as const, weight: 0 },
    ];
    expect(renderUpstream('web', ms)).toContain('server 127.0.0.1:1 weight=25;\n    server 127.0.0.1:2 down;');
    expect(renderUpstream('web', ms, { drainMode: 'remove' })).not.toContain('127.0.0.1:2');
  });
});
