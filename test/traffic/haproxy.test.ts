// HaproxySwitch against a real HAProxy: drain/ready/maint and weights confirmed by
// `show servers state`, a killed backend seen DOWN by observe(), re-assert after a restart, and
// 0 failed requests out of 2,000 while a member is drained mid-load.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaproxySwitch, haproxyCommand, parseServersState } from '../../cluster-mgr/adapters/haproxy';
import { freePort, isCI, makeDir, missingTools, requireTools, startDaemon, waitFor, waitForPort, type Daemon } from '../lab/index';
import { get, runLoad, startBackend, type Backend } from './helpers';

function config(dir: string, front: number, a: number, b: number, admin: number): string {
  return `global
  stats socket ${dir}/admin.sock level admin
  stats socket ipv4@127.0.0.1:${admin} level admin
  pidfile ${dir}/haproxy.pid
defaults
  mode http
  timeout connect 500ms
  timeout client 10s
  timeout server 10s
  retries 3
  option redispatch
  retry-on all-retryable-errors
frontend front
  bind 127.0.0.1:${front}
  default_backend web
backend web
  balance roundrobin
  option httpchk GET /healthz
  server bj1-a 127.0.0.1:${a} check inter 200ms fall 2 rise 2 weight 100
  server sh1-a 127.0.0.1:${b} check inter 200ms fall 2 rise 2 weight 100
backend api
  balance roundrobin
  server bj1-a 127.0.0.1:${a} weight 100
  server sh1-a 127.0.0.1:${b} weight 100
`;
}

const available = missingTools(['haproxy']).length === 0;

describe('HAProxy traffic switch', () => {
  let haproxy: Daemon | undefined;
  let sw: HaproxySwitch;
  let front: number;
  let admin: number;
  let a: Backend;
  let b: Backend;
  let dir: string;

  const startHaproxy = async () => {
    haproxy = startDaemon({ name: 'haproxy', command: 'haproxy', args: ['-db', '-f', join(dir, 'haproxy.cfg')], dir });
    await waitForPort('127.0.0.1', front, { timeoutMs: 5000 });
    await waitFor(async () => (await haproxyCommand(join(dir, 'admin.sock'), 'show info')).includes('Pid:'), { what: 'haproxy runtime API', timeoutMs: 5000 });
  };

  beforeAll(async () => {
    if (!available && !isCI()) return;
    dir = makeDir('haproxy-sw');
    front = await freePort();
    admin = await freePort();
    a = await startBackend('bj1-a');
    b = await startBackend('sh1-a');
    writeFileSync(join(dir, 'haproxy.cfg'), config(dir, front, a.port, b.port, admin));
    await startHaproxy();
    sw = new HaproxySwitch({ socket: join(dir, 'admin.sock'), backends: ['web', 'api'] });
    await waitFor(async () => Object.values(await sw.observe()).every((m) => m.checkUp !== false), { what: 'both servers UP', timeoutMs: 5000 });
  });

  afterAll(async () => {
    await haproxy?.stop();
    await a?.close();
    await b?.close();
  });

  it('drains, readies and weights a member in every backend, confirmed by show servers state', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    await sw.set('bj1-a', 'drain');
    for (const be of ['web', 'api']) {
      const rows = parseServersState(await haproxyCommand(join(dir, 'admin.sock'), `show servers state ${be}`));
      expect(rows.find((r) => r.server === 'bj1-a')!.adminState & 0x08).toBe(0x08);
    }
    // Drained: new requests all go to the other member.
    for (let i = 0; i < 10; i++) expect(await get(`http://127.0.0.1:${front}/`)).toBe('sh1-a');
    expect((await sw.observe())['bj1-a']).toMatchObject({ state: 'drain', checkUp: true });

    await sw.set('bj1-a', 'ready', 64);
    await sw.set('sh1-a', 'ready', 192);
    const seen = await sw.observe();
    expect(seen['bj1-a']).toMatchObject({ state: 'ready', weight: 64 });
    expect(seen['sh1-a']).toMatchObject({ state: 'ready', weight: 192 });
    // Weighted round robin: 1:3 over 40 requests.
    const counts: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const body = await get(`http://127.0.0.1:${front}/`);
      counts[body] = (counts[body] ?? 0) + 1;
    }
    expect(counts['bj1-a']).toBe(10);
    expect(counts['sh1-a']).toBe(30);

    await sw.set('sh1-a', 'maint');
    expect((await sw.observe())['sh1-a']!.state).toBe('maint');
    await sw.set('sh1-a', 'ready', 100);
    await sw.set('bj1-a', 'ready', 100);
  });

  it('works over the TCP runtime API too', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    const tcp = new HaproxySwitch({ socket: { host: '127.0.0.1', port: admin }, backends: ['web'], servers: { east: 'sh1-a' } });
    await tcp.set('east', 'drain', 10);
    expect((await tcp.observe()).east).toMatchObject({ state: 'drain', weight: 10 });
    // The unix-socket view agrees (same HAProxy).
    expect((await sw.observe())['sh1-a']!.state).toBe('drain');
    await tcp.set('east', 'ready', 100);
  });

  it('rejects unknown servers and bad weights with a clear message', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    await expect(sw.set('nope', 'drain')).rejects.toThrow(/No such server/);
    await expect(sw.set('bj1-a', 'ready', 300)).rejects.toThrow(/0\.\.256/);
    const bad = new HaproxySwitch({ socket: join(dir, 'admin.sock'), backends: ['missing'] });
    await expect(bad.observe()).rejects.toThrow(/no backend "missing"/);
  });

  it('observe() sees a killed backend go DOWN (second vantage point)', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    const port = b.port;
    await b.close();
    try {
      await waitFor(async () => (await sw.observe())['sh1-a']?.checkUp === false, { what: 'sh1-a check DOWN', timeoutMs: 3000 });
      expect((await sw.observe())['bj1-a']!.checkUp).toBe(true);
    } finally {
      b = await startBackend('sh1-a', port);
    }
    await waitFor(async () => (await sw.observe())['sh1-a']?.checkUp === true, { what: 'sh1-a check UP again', timeoutMs: 3000 });
  });

  it('re-asserts the drained state after an HAProxy restart', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    await sw.set('bj1-a', 'drain', 50);
    await haproxy!.stop();
    await startHaproxy();
    // A fresh HAProxy forgot the runtime change.
    expect((await sw.observe())['bj1-a']!.state).toBe('ready');
    expect(await sw.drift()).toEqual(['bj1-a']);
    expect(await sw.reassert()).toEqual(['bj1-a']);
    expect((await sw.observe())['bj1-a']).toMatchObject({ state: 'drain', weight: 50 });

    // The periodic loop does the same on its own after the next restart.
    await haproxy!.stop();
    await startHaproxy();
    const ac = new AbortController();
    const fixed: string[][] = [];
    try {
      sw.startReassert({ intervalMs: 100, signal: ac.signal, onReassert: (m) => fixed.push(m) });
      await waitFor(() => fixed.length > 0, { what: 'periodic re-assert', timeoutMs: 5000 });
      expect(fixed).toContainEqual(['bj1-a']);
      expect((await sw.observe())['bj1-a']).toMatchObject({ state: 'drain', weight: 50 });
    } finally {
      ac.abort();
    }
    await sw.set('bj1-a', 'ready', 100);
  });

  it('2,000 requests while a member is drained mid-load: 0 fail', async (ctx) => {
    requireTools(ctx, ['haproxy']);
    await waitFor(async () => Object.values(await sw.observe()).every((m) => m.checkUp === true && m.state === 'ready'), { what: 'both ready', timeoutMs: 5000 });
    let drainedAt = 0;
    const r = await runLoad({
      url: `http://127.0.0.1:${front}/`,
      spreadOverMs: 3000,
      at: {
        index: 700,
        run: async () => {
          await sw.set('bj1-a', 'drain');
          drainedAt = a.hits;
        },
      },
    });
    expect(r.sent).toBe(2000);
    expect(r.failed, r.errors.join('\n')).toBe(0);
    expect(r.ok).toBe(2000);
    // After the drain was confirmed, bj1-a got at most the requests already in flight (8 workers);
    // the end of the load went to sh1-a only.
    expect(a.hits - drainedAt).toBeLessThanOrEqual(8);
    expect(new Set(r.tail)).toEqual(new Set(['sh1-a']));
    expect(r.byBody['sh1-a']).toBeGreaterThan(1000);
    await sw.set('bj1-a', 'ready');
  });
});

