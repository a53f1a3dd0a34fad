// The live part of `flotilla demo` (`npm start`): simulated member clusters named after the bundled
// example site's clusters, a front HAProxy over their ingress endpoints (when haproxy is installed),
// and cluster-mgr with its dashboard — all on loopback, all stopped by `stop()`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { loadFederation } from '../../cluster-mgr/config/index';
import { runDaemon, type Running } from '../../cluster-mgr/daemon/main';
import { haproxyCommand } from '../../cluster-mgr/adapters/haproxy';
import { federationDoc, startSim, type Sim } from '../../cluster-mgr/sim/index';
import type { Site } from '../../infra/site/index';
import { renderFrontHaproxy } from '../../infra/render/front';

export interface DemoOptions {
  readonly site: Site;
  /** `out/federation`: kubeconfigs/, federation.yaml, sim.json, haproxy.cfg, logs. */
  readonly dir: string;
  /** Dashboard port to try first; the next free one is used when it is taken. @default 9464 */
  readonly port?: number;
  /** Start a front HAProxy when the binary exists. @default true */
  readonly haproxy?: boolean;
}

export interface DemoRunning {
  readonly sim: Sim;
  readonly dashboardUrl: string;
  readonly frontUrl?: string;
  readonly haproxyPid?: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

export async function firstFreePort(from: number, tries = 50): Promise<number> {
  for (let p = from; p < from + tries; p++) if (await portFree(p)) return p;
  throw new Error(`no free port on 127.0.0.1 in ${from}..${from + tries - 1}`);
}

async function until(cond: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * Writes the demo's Federation file (`DIR/federation.yaml`, with `note` in its header), loads it as
 * `cluster-mgr run` would, and starts the daemon with its dashboard on the first free port from
 * `port`; the log goes to `DIR/cluster-mgr.log`.
 */
export async function startDemoDaemon(dir: string, doc: unknown, note: string, port = 9464): Promise<{ running: Running; logFile: string }> {
  const configFile = join(dir, 'federation.yaml');
  writeFileSync(configFile, `# Written by \`flotilla demo\`: ${note}.\n${stringify(doc)}`);
  const fed = await loadFederation(configFile);
  if (!fed.ok) throw new Error(`demo federation invalid: ${fed.errors.map((e) => e.message).join('; ')}`);
  const logFile = join(dir, 'cluster-mgr.log');
  const log = pino({ base: { svc: 'cluster-mgr' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: logFile, sync: true, append: false }));
  const listen = { host: '127.0.0.1', port: await firstFreePort(port) };
  const running = await runDaemon({ federation: fed.value, configFile, apps: fed.value.spec.apps, listen, log });
  return { running, logFile };
}

export async function startDemoFederation(o: DemoOptions): Promise<DemoRunning> {
  const dir = resolve(o.dir);
  mkdirSync(dir, { recursive: true });
  const names = o.site.spec.clusters.map((c) => c.name);
  const sim = await startSim({ names, outDir: dir, podReadyDelayMs: 500, renderFront: renderFrontHaproxy });
  let haproxy: ChildProcess | undefined;
  const stops: (() => Promise<void>)[] = [async () => sim.stop()];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    // Front HAProxy (rendered by infra/render's renderFrontHaproxy inside the simulator).
    let socket: string | undefined;
    let frontUrl: string | undefined;
    const haveHaproxy = (o.haproxy ?? true) && sim.haproxyFile && spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;
    if (haveHaproxy && sim.haproxyFile) {
      const sock = join(dir, 'haproxy.sock');
      rmSync(sock, { force: true });
      const log = createWriteStream(join(dir, 'haproxy.log'));
      const child = spawn('haproxy', ['-db', '-f', sim.haproxyFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      haproxy = child;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      stops.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      });
      const up = await until(async () => existsSync(sock) && (await haproxyCommand(sock, 'show info').then((t) => t.includes('Pid:'), () => false)), 5000);
      if (up) {
        socket = sock;
        const bind = /bind\s+([\d.]+):(\d+)/.exec((await import('node:fs')).readFileSync(sim.haproxyFile, 'utf8'));
        if (bind) frontUrl = `http://${bind[1]}:${bind[2]}/`;
      }
    }
    // Federation for the demo: the simulator's, plus the front HAProxy as the traffic switch.
    const doc = federationDoc(names) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    doc.metadata.name = o.site.metadata.name;
    doc.spec.health = { interval: '1s', timeout: '800ms', failureThreshold: 3, successThreshold: 3, failbackAfter: '10s' };
    if (socket) doc.spec.traffic = { haproxy: { socket, backends: ['web'] } };
    const { running, logFile } = await startDemoDaemon(dir, doc, `members ${names.join(', ')} are simulated clusters on loopback`, o.port);
    stops.push(() => running.stop());
    return {
      sim,
      dashboardUrl: `${running.url}/`,
      ...(frontUrl ? { frontUrl } : {}),
      ...(haproxy?.pid ? { haproxyPid: haproxy.pid } : {}),
      logFile,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
