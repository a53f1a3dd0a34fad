// Real sshd (Debian) in netns hosts with generated keys. The CLI itself runs inside a "control" lab
// namespace, so the whole SSH conversation stays on the lab bridge (never dialled from the root
// namespace). Preflight reports each injected problem; a changed host key is refused; an unreachable
// host is a FAIL, not a hang; install twice → the second run reports no changes.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, makeDir, missingTools, requireTools, runOk, startDaemon, type Daemon } from '../lab/index';
import { flotilla, writeInventory, writeKeys, writeSynthTree } from './fixtures';
import { startSshLab, type SshLab } from './lab-hosts';

const TOOLS = ['sshd', 'ssh-keygen', 'unshare', 'socat', 'ip', 'bash'];
const SKIP = ['--skip', 'kernel.module.ip_vs', '--skip', 'runtime.containerd']; // this kernel has no ip_vs; no containerd in the lab

type HostOut = { node: string; status: string; checks: { id: string; severity: string; message: string }[] };

describe('preflight and install over SSH on netns hosts', () => {
  let lab: SshLab | undefined;
  let listener: Daemon | undefined;
  let router: Daemon | undefined;
  const dir = makeDir('delivery-ssh');
  let inventory = '';
  const nodes = [
    { name: 'lab-m1', index: 11, roles: ['master'] },
    { name: 'lab-m2', index: 12, roles: ['master'] },
    { name: 'lab-w1', index: 21, roles: ['worker'] },
    { name: 'lab-w2', index: 22, roles: ['worker'] },
    { name: 'lab-e1', index: 31, roles: ['edge'] },
  ];
  let addr: (name: string) => string = () => '';
  let base = '';

  beforeAll(async () => {
    if (missingTools(TOOLS).length > 0 || !isRoot()) return;
    lab = await startSshLab(dir, [
      { name: 'lab-m1', index: 11 }, // clean
      { name: 'lab-m2', index: 12 }, // a port held open (kubelet's 10250)
      { name: 'lab-w1', index: 21, hide: ['/usr/bin/socat'] }, // a missing tool
      { name: 'lab-w2', index: 22, ipForward: 0 }, // a wrong sysctl
      { name: 'lab-e1', index: 31, hostname: 'lab-w2' }, // a duplicate hostname
    ]);
    addr = (n) => lab!.hosts.get(n)!.address;
    base = addr('lab-m1').split('.').slice(0, 3).join('.');
    listener = startDaemon({ name: 'hold-10250', command: 'socat', args: [`TCP-LISTEN:10250,bind=${addr('lab-m2')},fork,reuseaddr`, 'EXEC:cat'], netns: lab.hosts.get('lab-m2')!.netns });
    router = startDaemon({ name: 'tor-179', command: 'socat', args: [`TCP-LISTEN:179,bind=${lab.ctl.address},fork,reuseaddr`, 'EXEC:cat'], netns: lab.ctl.netns });
    inventory = writeInventory(dir, {
      nodes: [...nodes.map((n) => ({ name: n.name, address: addr(n.name), roles: n.roles })), { name: 'lab-gone', address: `${base}.99`, roles: ['worker'] }],
      routers: [{ name: 'tor-a', address: lab.ctl.address, asNumber: 65001 }],
      apiVip: `${base}.10/24`,
      timeout: '3s',
    });
  }, 120_000);

  afterAll(async () => {
    await listener?.stop();
    await router?.stop();
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const preflight = (inv: string, extra: string[] = []) => flotilla(['preflight', inv, '--format', 'json', ...SKIP, ...extra], { netns: lab!.ctl.netns });
  const check = (h: HostOut | undefined, id: string) => h?.checks.find((c) => c.id === id);

  it('passes a clean host and reports each injected problem with its severity; unreachable is a FAIL, not a hang', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    const t0 = performance.now();
    const r = await preflight(inventory);
    const wall = performance.now() - t0;
    expect(r.code, r.stderr).toBe(3);
    const hosts = new Map((JSON.parse(r.stdout).hosts as HostOut[]).map((h) => [h.node, h]));
    const m1 = hosts.get('lab-m1');
    expect(m1?.status, JSON.stringify(m1?.checks.filter((c) => c.severity !== 'pass'))).toBe('pass');
    expect(check(m1, 'net.reach.router')?.severity).toBe('pass');
    expect(check(m1, 'net.reach.master')).toMatchObject({ severity: 'pass', message: expect.stringContaining('lab-m2') });

    expect(check(hosts.get('lab-m2'), 'ports.free')).toMatchObject({ severity: 'fail', message: expect.stringContaining('10250') });
    expect(check(hosts.get('lab-w1'), 'tools.required')).toMatchObject({ severity: 'fail', message: 'missing socat' });
    expect(check(hosts.get('lab-w2'), 'sysctl.net.ipv4.ip_forward')).toMatchObject({ severity: 'fail', message: expect.stringContaining('= 0, expected 1') });
    expect(check(hosts.get('lab-e1'), 'hostname.unique')).toMatchObject({ severity: 'fail', message: expect.stringContaining('also used by lab-w2') });
    expect(check(hosts.get('lab-w2'), 'hostname.unique')?.severity).toBe('fail');
    // each injected problem only where injected
    for (const n of ['lab-m1', 'lab-w1', 'lab-w2', 'lab-e1']) expect(check(hosts.get(n), 'ports.free')?.severity, n).toBe('pass');
    for (const n of ['lab-m1', 'lab-m2', 'lab-w2', 'lab-e1']) expect(check(hosts.get(n), 'tools.required')?.severity, n).toBe('pass');

    const gone = hosts.get('lab-gone');
    expect(gone?.status).toBe('fail');
    expect(check(gone, 'ssh.connect')).toMatchObject({ severity: 'fail', message: expect.stringContaining('unreachable') });
    expect(wall).toBeLessThan(30_000); // 3 s connect timeout, not a hang (generous: the CI machine is shared)

    // only the clean host → exit 0; the human output shows PASS lines
    const clean = writeInventory(dir, { file: 'clean.yaml', nodes: [{ name: 'lab-m1', address: addr('lab-m1'), roles: ['master'] }], routers: [{ name: 'tor-a', address: lab!.ctl.address, asNumber: 65001 }], apiVip: `${base}.10/24` });
    const ok = await flotilla(['preflight', clean, ...SKIP], { netns: lab!.ctl.netns });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^PASS\s+lab-m1/m);
  }, 180_000);

  it('refuses a changed or unknown host key, showing its fingerprint; --accept-new-host-keys pins only unknown keys', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    const known = join(dir, 'known_hosts');
    const original = readFileSync(known, 'utf8');
    try {
      // pin another key for lab-m1
      const fake = lab!.hostKeyPub('lab-m2').split(' ').slice(0, 2).join(' ');
      writeFileSync(known, original.split('\n').map((l) => (l.startsWith(`${addr('lab-m1')} `) ? `${addr('lab-m1')} ${fake}` : l)).join('\n'));
      const inv = writeInventory(dir, { file: 'm1.yaml', nodes: [{ name: 'lab-m1', address: addr('lab-m1'), roles: ['master'] }], apiVip: `${base}.10/24` });
      const r = await preflight(inv);
      expect(r.code).toBe(3);
      const h = (JSON.parse(r.stdout).hosts as HostOut[])[0];
      const real = lab!.hostKeyPub('lab-m1').split(' ')[1]!;
      const { createHash } = await import('node:crypto');
      const fp = `SHA256:${createHash('sha256').update(Buffer.from(real, 'base64')).digest('base64').replace(/=+$/, '')}`;
      expect(check(h, 'ssh.host-key')).toMatchObject({ severity: 'fail', message: expect.stringContaining('HOST KEY CHANGED') });
      expect(check(h, 'ssh.host-key')?.message).toContain(fp);
      // --accept-new-host-keys does not override a changed key
      const again = await preflight(inv, ['--accept-new-host-keys']);
      expect(check((JSON.parse(again.stdout).hosts as HostOut[])[0], 'ssh.host-key')?.severity).toBe('fail');

      // an unknown host is refused with its fingerprint; --accept-new-host-keys pins it (trust on first use)
      writeFileSync(known, original.split('\n').filter((l) => !l.startsWith(`${addr('lab-m1')} `)).join('\n'));
      const unknown = await preflight(inv);
      expect(check((JSON.parse(unknown.stdout).hosts as HostOut[])[0], 'ssh.host-key')).toMatchObject({ severity: 'fail', message: expect.stringContaining(`host key is not in ${known}: ssh-ed25519 ${fp}`) });
      const tofu = await preflight(inv, ['--accept-new-host-keys']);
      expect(check((JSON.parse(tofu.stdout).hosts as HostOut[])[0], 'ssh.connect')?.severity).toBe('pass');
      expect(readFileSync(known, 'utf8')).toContain(`${addr('lab-m1')} ssh-ed25519 ${real}`);
      const pinned = await preflight(inv);
      expect(check((JSON.parse(pinned.stdout).hosts as HostOut[])[0], 'ssh.connect')?.severity).toBe('pass');
    } finally {
      writeFileSync(known, original);
    }
  }, 180_000);

  it('install writes host files once; a failing host does not stop the others; the second run reports no changes', async (ctx) => {
    requireTools(ctx, TOOLS, { root: true });
    const keys = writeKeys(dir);
    const synth = join(dir, 'synth');
    writeSynthTree(synth, 'lab', { images: [], charts: [], nodes: [...nodes, { name: 'lab-gone' }].map((n) => ({ name: n.name, master: n.name.includes('-m') })), registryHost: 'registry.lab.example.com' });
    const bundle = join(dir, 'bundle');
    const b = await flotilla(['bundle', inventory, '--out', bundle, '--signing-key', keys.priv, '--synth-dir', synth]);
    expect(b.code, b.stderr).toBe(0);
    const roots = join(dir, 'roots');
    const args = (inv: string, extra: string[] = []) => ['install', inv, '--bundle', bundle, '--public-key', keys.pub, '--host-root', `${roots}/{node}`, '--no-pulumi', ...extra];

    const first = await flotilla(args(inventory), { netns: lab!.ctl.netns });
    expect(first.code, first.stdout + first.stderr).toBe(1); // lab-gone fails …
    expect(first.stdout).toMatch(/lab-gone\s+\S+\s+FAILED\s+.*unreachable/);
    for (const n of nodes) expect(first.stdout, n.name).toMatch(new RegExp(`${n.name}\\s+\\S+\\s+CHANGED`)); // … the others complete
    expect(readFileSync(join(roots, 'lab-m1/etc/keepalived/keepalived.conf'), 'utf8')).toBe(readFileSync(join(synth, 'lab/hosts/lab-m1/keepalived.conf'), 'utf8'));
    expect(statSync(join(roots, 'lab-m2/etc/keepalived/check_apiserver.sh')).mode & 0o777).toBe(0o755);
    expect(existsSync(join(roots, 'lab-m1/etc/kubernetes/manifests/keepalived.yaml'))).toBe(true);
    expect(existsSync(join(roots, 'lab-w1/etc/containerd/certs.d/registry.lab.example.com/hosts.toml'))).toBe(true);
    expect(existsSync(join(roots, 'lab-w1/etc/keepalived'))).toBe(false);

    const reachable = writeInventory(dir, { file: 'reachable.yaml', nodes: nodes.map((n) => ({ name: n.name, address: addr(n.name), roles: n.roles })), apiVip: `${base}.10/24` });
    const second = await flotilla(args(reachable), { netns: lab!.ctl.netns });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    for (const n of nodes) expect(second.stdout).toMatch(new RegExp(`${n.name}\\s+\\S+\\s+UNCHANGED`));
    expect(second.stdout).toContain('no changes: the site already matches the bundle');

    // a drifted file is detected; --dry-run reports it and changes nothing
    const drifted = join(roots, 'lab-m2/etc/haproxy/haproxy.cfg');
    writeFileSync(drifted, 'edited by hand\n');
    const dry = await flotilla(args(reachable, ['--dry-run']), { netns: lab!.ctl.netns });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/lab-m2\s+\S+\s+WOULD CHANGE\s+1 file\(s\): .*haproxy\.cfg/);
    expect(readFileSync(drifted, 'utf8')).toBe('edited by hand\n');
  }, 180_000);

  it('reaches a host only through the bastion when direct SSH is blocked', async (ctx) => {
    requireTools(ctx, [...TOOLS, 'iptables'], { root: true });
    const w1 = lab!.hosts.get('lab-w1')!;
    await w1.execOk('iptables', ['-A', 'INPUT', '-s', lab!.ctl.address, '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
    try {
      const nodesInv = [{ name: 'lab-m1', address: addr('lab-m1'), roles: ['master'] }, { name: 'lab-w1', address: addr('lab-w1'), roles: ['worker'] }];
      const direct = writeInventory(dir, { file: 'direct.yaml', nodes: nodesInv, apiVip: `${base}.10/24`, timeout: '2s' });
      const viaBastion = writeInventory(dir, { file: 'bastion.yaml', nodes: nodesInv, apiVip: `${base}.10/24`, timeout: '2s', bastion: addr('lab-m1') });
      const d = await preflight(direct);
      const dh = new Map((JSON.parse(d.stdout).hosts as HostOut[]).map((h) => [h.node, h]));
      expect(check(dh.get('lab-w1'), 'ssh.connect')).toMatchObject({ severity: 'fail', message: expect.stringContaining('unreachable') });
      const b = await preflight(viaBastion);
      const bh = new Map((JSON.parse(b.stdout).hosts as HostOut[]).map((h) => [h.node, h]));
      expect(check(bh.get('lab-w1'), 'ssh.connect')?.severity).toBe('pass');
      // facts really come from lab-w1 (its hostname), not from the bastion
      expect(check(bh.get('lab-w1'), 'hostname.dns1123')?.message).toBe('lab-w1');
    } finally {
      await w1.exec('iptables', ['-D', 'INPUT', '-s', lab!.ctl.address, '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
    }
  }, 180_000);

  it('check: backup freshness on a host over SSH', async (ctx) => {
    requireTools(ctx, [...TOOLS, 'touch'], { root: true });
    const fresh = join(dir, 'backups-fresh');
    const stale = join(dir, 'backups-stale');
    mkdirSync(fresh);
    mkdirSync(stale);
    writeFileSync(join(fresh, 'gitlab.tar'), 'x');
    writeFileSync(join(stale, 'db.dump'), 'x');
    await runOk('touch', ['-d', '30 hours ago', join(stale, 'db.dump')]);
    const inv = writeInventory(dir, { file: 'check.yaml', nodes: [{ name: 'lab-m1', address: addr('lab-m1'), roles: ['master'] }], apiVip: `${base}.10/24` });
    const r = await flotilla(['check', inv, '--no-tls', '--backup', `lab-m1:${fresh}:26h`, '--backup', `lab-m1:${stale}:26h`], { netns: lab!.ctl.netns });
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(new RegExp(`^PASS\\s+backup\\.freshness\\s+lab-m1:${fresh}:`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^FAIL\\s+backup\\.freshness\\s+lab-m1:${stale}: newest backup is 30\\.\\d h old`, 'm'));
    const bad = await flotilla(['check', inv, '--no-tls', '--backup', 'nosuchnode:/x:1h'], { netns: lab!.ctl.netns });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('node "nosuchnode" is not in');
  }, 180_000);
});
