// Test harness: simulated members (helper D's startSim) + cluster-mgr, in-process or as a child process.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { loadFederation, type Federation } from '../../cluster-mgr/config/index';
import { runDaemon, type Running } from '../../cluster-mgr/daemon/main';
import { EXAMPLE_APP, federationDoc, startSim, type Sim, type SimOptions } from '../../cluster-mgr/sim/index';
import { startDaemon, type Daemon as Proc } from '../lab/daemon';
import { waitFor } from '../lab/wait';

export { EXAMPLE_APP };

export interface Env {
  readonly sim: Sim;
  readonly configFile: string;
  readonly federation: Federation;
  readonly logFile: string;
}

/** Starts the simulator and writes a Federation file (health and spec overrides merged in). */
export async function startEnv(
  simOpts: SimOptions,
  spec: { health?: Record<string, unknown>; apps?: unknown[]; leaderElection?: Record<string, unknown> } = {},
): Promise<Env> {
  const outDir = mkdtempSync(join(tmpdir(), 'cm-it-'));
  const sim = await startSim({ bookmarkIntervalMs: 1000, ...simOpts, outDir });
  const names = sim.members.map((m) => m.name);
  const doc = federationDoc(names) as { spec: Record<string, unknown> };
  doc.spec.health = { ...(doc.spec.health as object), ...(spec.health ?? {}) };
  if (spec.apps) doc.spec.apps = spec.apps;
  if (spec.leaderElection) doc.spec.leaderElection = spec.leaderElection;
  const configFile = join(outDir, 'federation-test.yaml');
  writeFileSync(configFile, stringify(doc, { aliasDuplicateObjects: false }));
  const r = await loadFederation(configFile);
  if (!r.ok) throw new Error(`test federation invalid: ${JSON.stringify(r.errors)}`);
  return { sim, configFile, federation: r.value, logFile: join(outDir, 'cluster-mgr.log') };
}

/** cluster-mgr in this process (fast to start; logs to env.logFile). */
export async function startInProcess(env: Env): Promise<Running> {
  const log = pino({ level: 'debug', base: { svc: 'cluster-mgr' } }, pino.destination({ dest: env.logFile, sync: true, append: true }));
  return runDaemon({ federation: env.federation, configFile: env.configFile, apps: env.federation.spec.apps, listen: { host: '127.0.0.1', port: 0 }, log });
}

/** Writes the simulator's Federation for `names` with `spec` fields replaced (health, traffic, alerting …). */
export function writeFederation(file: string, names: readonly string[], spec: Record<string, unknown>): string {
  const doc = federationDoc([...names]) as { spec: Record<string, unknown> };
  Object.assign(doc.spec, spec);
  writeFileSync(file, stringify(doc, { aliasDuplicateObjects: false }));
  return file;
}

/**
 * `cluster-mgr run --config FILE` as a real child process through the package bin, on a free
 * loopback port; resolves once `ready(url)` holds (default: /healthz answers). Fails at once, with
 * its log, if the process exits (and stops it when it never gets ready).
 */
/** Stops what an e2e's beforeAll started: cluster-mgr first (10 s to exit), then the others in order. */
export async function stopAfterClusterMgr(cm: Proc | undefined, ...others: ({ stop(): Promise<unknown> } | undefined)[]): Promise<void> {
  await cm?.stop(10_000);
  for (const o of others) await o?.stop();
}

/**
 * The URL a cluster-mgr child is serving on, read from its own "listening" log line (loopback form
 * when it listens on a wildcard address). Children listen on port 0: a port picked beforehand and
 * released could be taken by another test's process before the child binds it, and the waiting
 * test would then talk to that other process.
 */
export async function listeningUrl(proc: Proc, timeoutMs = 30_000): Promise<string> {
  const re = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"listening"/;
  const found = await waitFor(
    () => {
      const m = re.exec(proc.logs());
      if (m) return m[1];
      if (!proc.isRunning()) throw new Error(`${proc.name} exited before listening:\n${proc.logs().slice(-2000)}`);
      return undefined;
    },
    { timeoutMs, intervalMs: 50, what: `${proc.name} to log its listening address` },
  );
  return found.replace(/^http:\/\/(0\.0\.0\.0|\[::\])/, (_all, h: string) => `http://${h === '[::]' ? '[::1]' : '127.0.0.1'}`);
}

export async function startClusterMgr(
  configFile: string,
  o: { name?: string; ready?: (url: string) => Promise<boolean | undefined>; what?: string; timeoutMs?: number } = {},
): Promise<{ proc: Proc; url: string }> {
  const name = o.name ?? 'cluster-mgr';
  const proc = startDaemon({ name, command: process.execPath, args: [join(process.cwd(), 'bin/cluster-mgr.mjs'), 'run', '--config', configFile, '--listen', '127.0.0.1:0'] });
  const ready = o.ready ?? (async (u: string) => (await fetch(`${u}/healthz`).catch(() => undefined))?.ok);
  let url = '';
  try {
    url = await listeningUrl(proc, o.timeoutMs ?? 30_000);
    await waitFor(
      async () => {
        if (!proc.isRunning()) throw new Error(`${name} exited:\n${proc.logs().slice(-2000)}`);
        return ready(url);
      },
      { timeoutMs: o.timeoutMs ?? 30_000, intervalMs: 100, what: o.what ?? `${name} to listen` },
    );
  } catch (err) {
    await proc.stop(10_000).catch(() => undefined);
    throw err;
  }
  return { proc, url };
}

/** cluster-mgr as a real child process through the package bin. */
export function startChild(env: Env, name: string): Promise<{ proc: Proc; url: string }> {
  return startClusterMgr(env.configFile, { name });
}

export interface AppState {
  key: string;
  desired: number;
  assignments: Record<string, number>;
  unschedulable: number;
}
export interface ClusterState {
  name: string;
  health: string;
  traffic: { state: string; weight: number };
}
export interface State {
  leader: boolean;
  clusters: ClusterState[];
  apps: AppState[];
  events: { type: string; member?: string }[];
}

export async function getState(url: string): Promise<State> {
  const r = await fetch(`${url}/api/state`, { signal: AbortSignal.timeout(3000) });
  return (await r.json()) as State;
}

/** Ready pods of the example app per member (from the simulator's own store). */
export function readyPods(sim: Sim, namespace = 'shop'): Record<string, number> {
  return Object.fromEntries(sim.members.map((m) => [m.name, sim.member(m.name).readyPods(namespace)]));
}

export function deploymentReplicas(sim: Sim, namespace = 'shop', name = 'web'): Record<string, number | undefined> {
  return Object.fromEntries(sim.members.map((m) => [m.name, sim.member(m.name).get('Deployment', namespace, name)?.spec?.replicas as number | undefined]));
}

export const sum = (r: Record<string, number | undefined>): number => Object.values(r).reduce<number>((a, b) => a + (b ?? 0), 0);
