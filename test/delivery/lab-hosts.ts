// Netns hosts running the real Debian sshd with generated keys: each sshd gets its own UTS namespace
// (so `hostname` is per host) and mount namespace (so a tool can be hidden on one host honestly).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, runOk, startDaemon, waitFor, type Daemon, type Lab, type LabHost } from '../lab/index';

export interface SshHostSpec {
  readonly name: string;
  readonly index: number;
  /** Hostname inside the host (default: name). */
  readonly hostname?: string;
  /** Executables hidden from this host (bind-mounted over with /dev/null in its mount namespace). */
  readonly hide?: readonly string[];
  /** net.ipv4.ip_forward value (default 1). */
  readonly ipForward?: 0 | 1;
  /** Files bind-mounted in this host's mount namespace (`src` over `dest`, e.g. a staged /etc/hosts). */
  readonly binds?: readonly { src: string; dest: string }[];
}

export interface SshLab {
  readonly lab: Lab;
  readonly ctl: LabHost;
  readonly hosts: Map<string, LabHost>;
  readonly daemons: Daemon[];
  /** Folder with id_ed25519, known_hosts, per-host host keys. */
  readonly dir: string;
  hostKeyPub(name: string): string;
  stop(): Promise<void>;
}

export async function startSshLab(dir: string, specs: readonly SshHostSpec[]): Promise<SshLab> {
  mkdirSync('/run/sshd', { recursive: true });
  const lab = await createLab();
  const daemons: Daemon[] = [];
  const hosts = new Map<string, LabHost>();
  try {
    const ctl = await lab.addHost('ctl', 1);
    await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'flotilla-test', '-f', join(dir, 'id_ed25519')]);
    const known: string[] = [];
    for (const s of specs) {
      const h = await lab.addHost(s.name, s.index);
      hosts.set(s.name, h);
      const hd = join(dir, `host-${s.name}`);
      mkdirSync(hd, { recursive: true });
      await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', s.name, '-f', join(hd, 'hostkey')]);
      writeFileSync(join(hd, 'authorized_keys'), readFileSync(join(dir, 'id_ed25519.pub')));
      writeFileSync(
        join(hd, 'sshd_config'),
        [
          `ListenAddress ${h.address}:22`,
          `HostKey ${hd}/hostkey`,
          `PidFile ${hd}/sshd.pid`,
          `AuthorizedKeysFile ${hd}/authorized_keys`,
          'PermitRootLogin prohibit-password',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no',
          'MaxStartups 200:30:400',
          'MaxSessions 100',
          'LogLevel ERROR',
          '',
        ].join('\n'),
      );
      await h.execOk('sysctl', ['-qw', `net.ipv4.ip_forward=${s.ipForward ?? 1}`]);
      // This shared dev machine's /root/.bashrc runs `pyenv init` (≈0.5 s per SSH command under load);
      // customer hosts have a plain rc file, so each lab host gets an empty one in its mount namespace.
      const hide = ['/root/.bashrc', ...(s.hide ?? [])].filter((f) => existsSync(f)).map((t) => `mount --bind /dev/null ${t} && `).join('') + (s.binds ?? []).map((m) => `mount --bind ${m.src} ${m.dest} && `).join('');
      daemons.push(
        startDaemon({
          name: `sshd-${s.name}`,
          command: 'unshare',
          args: ['-u', '-m', 'sh', '-c', `hostname ${s.hostname ?? s.name} && ${hide}exec /usr/sbin/sshd -D -e -f ${hd}/sshd_config`],
          netns: h.netns,
          dir: hd,
          keepDir: true,
        }),
      );
      known.push(`${h.address} ${readFileSync(join(hd, 'hostkey.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}`);
    }
    writeFileSync(join(dir, 'known_hosts'), `${known.join('\n')}\n`);
    for (const s of specs) {
      const h = hosts.get(s.name)!;
      const d = daemons.find((x) => x.name === `sshd-${s.name}`)!;
      await waitFor(
        async () => {
          if (!d.isRunning()) throw new Error(`sshd on ${s.name} exited: ${d.logs()}`);
          return (await ctl.exec('bash', ['-c', `echo > /dev/tcp/${h.address}/22`], { timeoutMs: 2000 })).code === 0;
        },
        { timeoutMs: 10_000, what: `sshd on ${s.name}` },
      );
    }
    return {
      lab,
      ctl,
      hosts,
      daemons,
      dir,
      hostKeyPub: (name) => readFileSync(join(dir, `host-${name}`, 'hostkey.pub'), 'utf8'),
      async stop() {
        for (const d of daemons) await d.stop();
        await lab.destroy();
      },
    };
  } catch (err) {
    for (const d of daemons) await d.stop();
    await lab.destroy();
    throw err;
  }
}
