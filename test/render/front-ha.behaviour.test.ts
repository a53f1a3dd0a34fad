// The highly available front for real: two netns front hosts run the rendered front HAProxy (runtime
// API over TCP with mutual TLS + source ACL) and the rendered front keepalived; cluster-mgr's HAProxy
// adapter, in a third namespace, drains a member on both hosts through the TCP runtime APIs. The
// backup's HAProxy restarts (it forgets the drain), then the VIP holder's keepalived is killed: the
// VIP moves in ≤ 1 s and one pass of the adapter re-applies the drain to the new holder. A client
// with the wrong certificate CN, or from a source outside allowedSources, is refused. A stopped
// runtime API is reported per endpoint while the other host keeps being driven.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { frontKeepalivedInput, keepalivedArgs, renderFrontHostHaproxy, renderKeepalived } from '../../infra/render/index';
import { makeDir, requireTools, run, startDaemon, waitFor, type Daemon, type LabHost } from '../lab/index';
import { labBase, labCluster, makeSite, withLab } from './helpers';

function certs(dir: string, hosts: readonly string[]): void {
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  o(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=runtime-api-ca']);
  for (const h of hosts) {
    writeFileSync(join(dir, `${h}.ext`), `subjectAltName=IP:${h}\nextendedKeyUsage=serverAuth\n`);
    o(['req', ...ec, '-keyout', `${h}.key`, '-out', `${h}.csr`, '-subj', `/CN=${h}`]);
    o(['x509', '-req', '-in', `${h}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${h}.crt`, '-days', '2', '-extfile', `${h}.ext`]);
    execFileSync('sh', ['-c', `cat ${h}.crt ${h}.key > ${h}.pem`], { cwd: dir });
  }
  for (const cn of ['cluster-mgr', 'intruder']) {
    writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    o(['req', ...ec, '-keyout', `${cn}.key`, '-out', `${cn}.csr`, '-subj', `/CN=${cn}`]);
    o(['x509', '-req', '-in', `${cn}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${cn}.crt`, '-days', '2', '-extfile', 'client.ext']);
  }
}

/** The adapter in a namespace, request/reply over JSON lines. */
interface Reply {
  ok: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the reply's shape depends on the request
  v?: any;
  error?: string;
}

function driver(netns: string, cfg: unknown): { call: (r: unknown) => Promise<Reply>; child: ChildProcess } {
  const child = spawn('ip', ['netns', 'exec', netns, 'node', 'bin/run-ts.mjs', 'test/render/front-driver.ts', JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((l: string) => void)[] = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  let ready: Promise<string> | undefined = new Promise((r) => waiting.push(r));
  return {
    child,
    call: async (r) => {
      if (ready) {
        await ready;
        ready = undefined;
      }
      const reply = new Promise<string>((res) => waiting.push(res));
      child.stdin!.write(`${JSON.stringify(r)}\n`);
      return JSON.parse(await reply) as Reply;
    },
  };
}

describe('HA front (two netns front hosts: real HAProxy + keepalived, TCP runtime API with mTLS)', () => {
  it('drains through the TCP runtime API; the VIP moves in ≤ 1 s; the drain is re-applied to the new holder in one pass', async (ctx) => {
    requireTools(ctx, ['ip', 'haproxy', 'keepalived', 'curl', 'openssl', 'node'], { root: true });
    await withLab(async ({ lab, daemons, dirs }) => {
      const f1 = await lab.addHost('f1', 1);
      const f2 = await lab.addHost('f2', 2);
      const cm = await lab.addHost('cm', 3);
      const base = labBase(f1.address);
      const vip = `${base}.100`;
      const site = makeSite((spec) => {
        spec.clusters = [
          labCluster('lab-a', base, 0, { vips: [{ name: 'ingress', address: `${base}.50/24`, interface: 'eth0', virtualRouterId: 51, ports: [80] }] }),
          labCluster('lab-b', base, 1, {
            network: { podCIDR: '10.132.0.0/16', serviceCIDR: '10.112.0.0/16' },
            vips: [{ name: 'ingress', address: `${base}.60/24`, interface: 'eth0', virtualRouterId: 61, ports: [80] }],
          }),
        ];
        spec.front = {
          hosts: [
            { name: 'front-1', address: f1.address },
            { name: 'front-2', address: f2.address },
          ],
          vip: { address: `${vip}/24`, interface: 'eth0', virtualRouterId: 70 },
          runtimeApi: { port: 9999, allowedSources: [`${cm.address}/32`] },
        };
      });
      const dir = makeDir('front-ha');
      dirs.push(dir);
      certs(dir, [f1.address, f2.address]);
      const hosts: [string, LabHost][] = [['front-1', f1], ['front-2', f2]];
      const haproxy = new Map<string, Daemon>();
      const keepalived = new Map<string, Daemon>();
      const startHaproxy = async (name: string, host: LabHost) => {
        const d = startDaemon({ name: `haproxy-${name}`, netns: host.netns, command: 'haproxy', args: ['-db', '-f', join(dir, `${name}.cfg`)] });
        daemons.push(d);
        haproxy.set(name, d);
        await waitFor(async () => ((await host.exec('curl', ['-sf', '-m', '1', 'http://127.0.0.1:8405/healthz'])).code === 0 ? true : undefined), { timeoutMs: 15_000, what: `${name} HAProxy health endpoint` });
      };
      for (const [name, host] of hosts) {
        const cfg = renderFrontHostHaproxy(site, name, { socketPath: join(dir, `${name}.sock`), certFile: join(dir, `${host.address}.pem`), clientCaFile: join(dir, 'ca.crt') });
        expect(cfg).toContain(`bind ${host.address}:9999 ssl crt`);
        writeFileSync(join(dir, `${name}.cfg`), cfg);
        const check = await run('haproxy', ['-c', '-f', join(dir, `${name}.cfg`)]);
        expect(check.code, check.stdout + check.stderr).toBe(0);
        writeFileSync(join(dir, `${name}.keepalived.conf`), renderKeepalived(frontKeepalivedInput(site, name)));
        const kt = await host.exec('keepalived', ['-t', '-f', join(dir, `${name}.keepalived.conf`)]);
        expect(kt.code, kt.stdout + kt.stderr).toBe(0);
        await startHaproxy(name, host);
        const k = startDaemon({
          name: `keepalived-${name}`,
          netns: host.netns,
          command: 'keepalived',
          args: keepalivedArgs({ configFile: join(dir, `${name}.keepalived.conf`), pidFile: join(dir, `${name}.ka.pid`), vrrpPidFile: join(dir, `${name}.vrrp.pid`) }),
        });
        daemons.push(k);
        keepalived.set(name, k);
      }
      const holds = async (h: LabHost) => (await h.execOk('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(` ${vip}/24`);
      await waitFor(async () => ((await holds(f1)) && !(await holds(f2))) || undefined, { timeoutMs: 15_000, what: 'front-1 holds the front VIP' });

      const tls = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'cluster-mgr.crt'), keyFile: join(dir, 'cluster-mgr.key') };
      const d = driver(cm.netns, { addresses: [`${f1.address}:9999`, `${f2.address}:9999`], tls, backends: ['web'] });
      try {
        // cluster-mgr drains lab-a on both front hosts through the TCP runtime APIs.
        const set = await d.call({ op: 'set', member: 'lab-a', state: 'drain' });
        expect(set, JSON.stringify(set)).toMatchObject({ ok: true });
        expect((await d.call({ op: 'perHost', member: 'lab-a' })).v).toEqual({ [f1.address]: 'drain', [f2.address]: 'drain' });

        // Refused (closed without an answer): a certificate with another CN; the right certificate from a
        // source not allowed. The allowed client gets HAProxy's answer.
        const refused = (r: { ok: boolean; v?: { reply: string } }) => !r.ok || !/Name: HAProxy/.test(r.v!.reply);
        const allowed = await d.call({ op: 'raw', tls: { host: f1.address, port: 9999, tls } });
        expect(allowed.v.reply).toMatch(/Name: HAProxy/);
        const intruder = await d.call({ op: 'raw', tls: { host: f1.address, port: 9999, tls: { ...tls, certFile: join(dir, 'intruder.crt'), keyFile: join(dir, 'intruder.key') } } });
        expect(refused(intruder), JSON.stringify(intruder)).toBe(true);
        const other = driver(f2.netns, { addresses: [`${f1.address}:9999`], tls, backends: ['web'] });
        try {
          const r = await other.call({ op: 'raw', tls: { host: f1.address, port: 9999, tls } });
          expect(refused(r), JSON.stringify(r)).toBe(true);
        } finally {
          other.child.kill('SIGTERM');
        }

        // The backup's HAProxy restarts and forgets the drain; then the holder's keepalived dies.
        await haproxy.get('front-2')!.stop();
        await startHaproxy('front-2', f2);
        expect((await d.call({ op: 'perHost', member: 'lab-a' })).v).toEqual({ [f1.address]: 'drain', [f2.address]: 'ready' });
        const t0 = performance.now();
        process.kill(keepalived.get('front-1')!.pid, 'SIGKILL');
        await waitFor(async () => (await holds(f2)) || undefined, { timeoutMs: 5000, intervalMs: 20, what: 'front-2 takes the front VIP' });
        const moved = performance.now() - t0;
        console.log(`front VIP moved in ${moved.toFixed(0)} ms`);
        expect(moved).toBeLessThanOrEqual(1000);

        // One pass: observe sees front-2 behind and re-applies the drain to every host.
        const pass = await d.call({ op: 'pass' });
        expect(pass, JSON.stringify(pass)).toMatchObject({ ok: true, v: { reapplied: ['lab-a'] } });
        expect((await d.call({ op: 'perHost', member: 'lab-a' })).v).toEqual({ [f1.address]: 'drain', [f2.address]: 'drain' });

        // An unreachable runtime API: reported per endpoint; the other host is still driven.
        await haproxy.get('front-1')!.stop();
        const r = await d.call({ op: 'set', member: 'lab-b', state: 'drain' });
        expect(r.ok, JSON.stringify(r)).toBe(true);
        expect(r.v.endpoints).toEqual([
          { endpoint: `${f1.address}:9999`, up: false, error: expect.stringMatching(new RegExp(`runtime API ${f1.address.replaceAll('.', '\\.')}:9999: .*(ECONNREFUSED|no reply)`)) },
          { endpoint: `${f2.address}:9999`, up: true },
        ]);
      } finally {
        d.child.kill('SIGTERM');
      }
    });
  }, 120_000);
});
