// The kubeadm-HA API VIP end to end with the real daemons: three netns masters each run the rendered
// haproxy.cfg and keepalived.conf with the rendered check_apiserver.sh (bind-mounted at its default
// path in keepalived's private mount namespace) in front of an HTTPS stand-in for kube-apiserver on
// 6443. A client reaches /healthz through VIP:8443; losing the holder's apiserver does not move the
// VIP (its HAProxy balances to the others); losing the holder's HAProxy moves the VIP to the next
// master and the client is served again.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CHECK_APISERVER_PATH,
  keepalivedArgs,
  renderApiHaproxy,
  renderApiKeepalivedConf,
  renderCheckApiserver,
} from '../../infra/render/index';
import { createLab, makeDir, requireTools, runOk, startDaemon, waitFor, waitForLog, type Daemon, type LabHost } from '../lab/index';
import { labBase, makeSite } from './helpers';

const APISERVER = (cert: string, key: string, name: string) =>
  `require('https').createServer({cert:require('fs').readFileSync(${JSON.stringify(cert)}),key:require('fs').readFileSync(${JSON.stringify(key)})},` +
  `(q,s)=>s.end(q.url==='/healthz'?'ok ${name}':'')).listen(6443,'0.0.0.0',()=>console.log('listening'))`;

describe('API VIP on masters (kubeadm HA layout, real keepalived + HAProxy)', () => {
  it('serves /healthz through VIP:8443 and moves the VIP when the holder loses its HAProxy', async (ctx) => {
    requireTools(ctx, ['ip', 'keepalived', 'haproxy', 'curl', 'openssl', 'mount', 'node'], { root: true });
    const lab = await createLab();
    const daemons: Daemon[] = [];
    const work = makeDir('apivip');
    try {
      const masters = await Promise.all([lab.addHost('m1', 1), lab.addHost('m2', 2), lab.addHost('m3', 3)]);
      const client = await lab.addHost('client', 9);
      const base = labBase(masters[0].address);
      const vip = `${base}.10`;
      const site = makeSite((spec) => {
        spec.clusters = [
          {
            name: 'lab-a',
            kubeconfig: './kc',
            apiVIP: { address: `${vip}/24`, interface: 'eth0', virtualRouterId: 10 },
            nodes: masters.map((m, i) => ({ name: `lab-a-m${i + 1}`, address: m.address, roles: ['master'] })),
          },
        ];
      });
      const cluster = site.spec.clusters[0]!;
      const cert = join(work, 'tls.crt');
      const key = join(work, 'tls.key');
      await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=kube-apiserver', '-keyout', key, '-out', cert]);

      const apiservers = new Map<LabHost, Daemon>();
      const haproxies = new Map<LabHost, Daemon>();
      const keepaliveds = new Map<LabHost, Daemon>();
      for (const [i, m] of masters.entries()) {
        const node = cluster.nodes[i]!;
        const dir = join(work, m.name);
        const etc = join(dir, 'etc-keepalived');
        mkdirSync(etc, { recursive: true });
        writeFileSync(join(dir, 'haproxy.cfg'), renderApiHaproxy(site, cluster, node));
        writeFileSync(join(dir, 'keepalived.conf'), renderApiKeepalivedConf(site, cluster, node));
        writeFileSync(join(etc, 'check_apiserver.sh'), renderCheckApiserver(site, cluster, node));
        chmodSync(join(etc, 'check_apiserver.sh'), 0o755);

        const api = startDaemon({ name: `apiserver-${m.name}`, netns: m.netns, command: 'node', args: ['-e', APISERVER(cert, key, m.name)] });
        daemons.push(api);
        apiservers.set(m, api);
        const hap = startDaemon({ name: `haproxy-${m.name}`, netns: m.netns, command: 'haproxy', args: ['-db', '-f', join(dir, 'haproxy.cfg')] });
        daemons.push(hap);
        haproxies.set(m, hap);
        const args = keepalivedArgs({ configFile: join(dir, 'keepalived.conf'), pidFile: join(dir, 'keepalived.pid'), vrrpPidFile: join(dir, 'vrrp.pid') });
        const ka = startDaemon({
          name: `keepalived-${m.name}`,
          netns: m.netns,
          command: 'sh',
          // ip netns exec gives this process a private mount namespace: the bind mount stays in it.
          args: ['-c', `mount --bind '${etc}' '${join(DEFAULT_CHECK_APISERVER_PATH, '..')}' && exec keepalived ${args.map((a) => `'${a}'`).join(' ')}`],
        });
        daemons.push(ka);
        keepaliveds.set(m, ka);
        await waitForLog(api, 'listening');
      }
      await Promise.all([...keepaliveds.values()].map((d) => waitForLog(d, /Entering (BACKUP|MASTER) STATE/)));

      const holders = async () => {
        const out = await Promise.all(masters.map((m) => m.execOk('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'])));
        return masters.filter((_, i) => out[i]!.stdout.includes(` ${vip}/`)).map((m) => m.name);
      };
      const viaVip = () => client.exec('curl', ['-sfk', '--max-time', '2', `https://${vip}:8443/healthz`]);

      // Every master's track script must pass first: until then priorities still move as checks come up.
      await Promise.all([...keepaliveds.values()].map((d) => waitForLog(d, /check_apiserver.*succeeded/, 20_000)));
      await waitFor(async () => (await holders()).join() === 'm1', { timeoutMs: 15_000, what: 'm1 (first master) to be the only VIP holder' });
      await waitFor(async () => (await viaVip()).stdout.startsWith('ok '), { timeoutMs: 10_000, what: 'https://VIP:8443/healthz through HAProxy' });

      // The holder's apiserver dies: HAProxy on the holder balances to the other masters; the VIP stays.
      await apiservers.get(masters[0])!.stop();
      // Until HAProxy's health check marks m1's apiserver DOWN a request may still be sent there (TCP
      // mode: the client sees a reset); once it is, every request is served by m2/m3.
      const tenInARow = async () => {
        for (let i = 0; i < 10; i++) {
          const r = await viaVip();
          if (r.code !== 0 || !/^ok m[23]$/.test(r.stdout)) return false;
        }
        return true;
      };
      await waitFor(tenInARow, { timeoutMs: 15_000, what: '10 VIP requests in a row served by m2/m3' });
      expect(await holders()).toEqual(['m1']);

      // The holder's HAProxy dies: check_apiserver fails, the weight drops m1 below m2 and m3, m2 takes the VIP.
      await haproxies.get(masters[0])!.stop();
      await waitFor(async () => (await holders()).join() === 'm2', { timeoutMs: 15_000, what: 'the VIP to move to m2 after m1 lost HAProxy' });
      await waitFor(async () => /^ok m[23]$/.test((await viaVip()).stdout), { timeoutMs: 10_000, what: 'VIP requests served again via m2' });
      expect(keepaliveds.get(masters[0])!.isRunning()).toBe(true);
    } finally {
      await Promise.all(daemons.map((d) => d.stop()));
      await lab.destroy();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
