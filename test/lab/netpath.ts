// A TCP path to a loopback service that runs through two network namespaces the path creates, so a
// test can cut it the way a network does — the far side's address dropped: packets vanish,
// connections time out, nothing is reset — and restore it. The service itself (e.g. a control
// plane's kube-apiserver, with its own components on loopback) stays where it is.
//
//   client ─TCP─► 127.0.0.1:port ─► socat ─unix─► socat in netns "near" ─TCP over the lab bridge─►
//   socat in netns "far" on FAR_ADDRESS:6443 ─unix─► socat ─TCP─► target
//
// Unix sockets are the only hops across namespaces (the file system is shared); TLS stays end to
// end, so a certificate for 127.0.0.1 still verifies. stop() (or the lab's cleanup on worker exit)
// removes the namespaces and every socat.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeDir, startDaemon, type Daemon } from './daemon';
import { createLab, type Lab, type LabHost } from './netns';
import { freePort } from './ports';
import { waitFor, waitForPort } from './wait';

export interface CutPath {
  /** Where clients connect (loopback, root namespace). */
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The far namespace's address on the lab bridge (dropped by cut()). */
  readonly farAddress: string;
  /** Drops the far side's address: established and new connections stall (timeouts, no resets). */
  cut(): Promise<void>;
  /** Puts the address back. */
  restore(): Promise<void>;
  stop(): Promise<void>;
}

const FAR_PORT = 6443;

export async function startCutPath(target: { host: string; port: number }, name = 'path'): Promise<CutPath> {
  const dir = makeDir(`cutpath-${name}`);
  const nearSock = join(dir, 'near.sock');
  const farSock = join(dir, 'far.sock');
  const daemons: Daemon[] = [];
  let lab: Lab | undefined;
  const stop = async () => {
    for (const d of daemons.reverse()) await d.stop(1000);
    await lab?.destroy();
  };
  try {
    lab = await createLab();
    const near: LabHost = await lab.addHost('near', 1);
    const far: LabHost = await lab.addHost('far', 2);
    const socat = (which: string, args: string[], netns?: string) => {
      const d = startDaemon({ name: `socat-${name}-${which}`, command: 'socat', args, ...(netns ? { netns } : {}) });
      daemons.push(d);
      return d;
    };
    const sockReady = (path: string, d: Daemon) =>
      waitFor(
        () => {
          if (!d.isRunning()) throw new Error(`${d.name} exited: ${d.logs().slice(-500)}`);
          return existsSync(path);
        },
        { timeoutMs: 5000, what: `${d.name} listening on ${path}` },
      );
    const exit = socat('exit', [`UNIX-LISTEN:${farSock},fork`, `TCP:${target.host}:${target.port}`]);
    await sockReady(farSock, exit);
    const farD = socat('far', [`TCP-LISTEN:${FAR_PORT},reuseaddr,fork`, `UNIX-CONNECT:${farSock}`], far.netns);
    await waitFor(
      async () => {
        if (!farD.isRunning()) throw new Error(`${farD.name} exited: ${farD.logs().slice(-500)}`);
        return (await far.exec('ss', ['-Hltn', `sport = :${FAR_PORT}`])).stdout.trim() !== '';
      },
      { timeoutMs: 5000, what: `socat listening on ${far.address}:${FAR_PORT} in ${far.netns}` },
    );
    const nearD = socat('near', [`UNIX-LISTEN:${nearSock},fork`, `TCP:${far.address}:${FAR_PORT}`], near.netns);
    await sockReady(nearSock, nearD);
    const port = await freePort();
    socat('entry', [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${nearSock}`]);
    await waitForPort('127.0.0.1', port, { timeoutMs: 5000 });
    const addr = `${far.address}/${lab.prefix}`;
    let isCut = false;
    return {
      host: '127.0.0.1',
      port,
      farAddress: far.address,
      async cut() {
        if (isCut) return;
        await far.execOk('ip', ['addr', 'del', addr, 'dev', far.iface]);
        isCut = true;
      },
      async restore() {
        if (!isCut) return;
        await far.execOk('ip', ['addr', 'add', addr, 'dev', far.iface]);
        isCut = false;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
