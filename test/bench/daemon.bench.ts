// Daemon steady-state CPU: `cluster-mgr run` (a child process) over 20 simulated members × 500 apps.
// The simulator runs in this process; the daemon's own CPU time is read from /proc/<pid>/stat.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { BenchResult } from './run';
import { EXAMPLE_APP, federationDoc, startSim } from '../../cluster-mgr/sim/index';
import { startDaemon } from '../lab/daemon';
import { freePort } from '../lab/ports';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 20);
const APPS = Number(process.env.BENCH_APPS ?? 500);
const STEADY_S = 20;
const CONVERGE_LIMIT_S = 240;

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // utime + stime, clock ticks (USER_HZ 100)
}

/** The node process of the daemon: the bin's child of the spawned process, else the process itself. */
function mainPid(pid: number): number {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length ? Number(kids[0]) : pid;
  } catch {
    return pid;
  }
}

export default async function bench(): Promise<BenchResult[]> {
  const names = Array.from({ length: MEMBERS }, (_, i) => `m${String(i + 1).padStart(2, '0')}`);
  const sim = await startSim({ names, nodesPerMember: 10, nodeCpu: '32', nodeMemory: '128Gi', nodePods: 500, seedExample: false, bookmarkIntervalMs: 5000 });
  const doc = federationDoc(names) as { spec: Record<string, unknown> };
  doc.spec.health = { interval: '1s', timeout: '2s', failureThreshold: 3, successThreshold: 3, failbackAfter: '60s' };
  doc.spec.apps = Array.from({ length: APPS }, (_, i) => ({
    ...EXAMPLE_APP,
    name: `app-${i}`,
    replicas: 2 + (i % 3),
    propagate: [],
    template: { ...EXAMPLE_APP.template, metadata: { name: `app-${i}` } },
  }));
  const config = join(sim.outDir, 'bench.yaml');
  writeFileSync(config, stringify(doc, { aliasDuplicateObjects: false }));
  const port = await freePort();
  const d = startDaemon({ name: 'cm-bench', command: process.execPath, args: [join(process.cwd(), 'bin/cluster-mgr.mjs'), 'run', '--config', config, '--listen', `127.0.0.1:${port}`] });
  try {
    const expected = (doc.spec.apps as { replicas: number }[]).reduce((s, a) => s + a.replicas, 0);
    const t0 = performance.now();
    let placed = 0;
    while (performance.now() - t0 < CONVERGE_LIMIT_S * 1000) {
      placed = names.reduce((s, n) => s + sim.member(n).readyPods('shop'), 0);
      if (placed === expected) break;
      if (!d.isRunning()) throw new Error(`cluster-mgr exited:\n${d.logs().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const convergeS = (performance.now() - t0) / 1000;
    const pid = mainPid(d.pid);
    const c0 = cpuSeconds(pid);
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, STEADY_S * 1000));
    const cpu = (cpuSeconds(pid) - c0) / ((performance.now() - w0) / 1000);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return [
      { name: `daemon: converge ${MEMBERS} members × ${APPS} apps (${expected} replicas)`, value: convergeS, unit: 's', detail: `${placed}/${expected} ready` },
      { name: `daemon: steady-state CPU over ${STEADY_S} s`, value: cpu * 100, unit: '% core', detail: `RSS ${Math.round(rssKb / 1024)} MB` },
    ];
  } finally {
    await d.stop();
    await sim.stop();
  }
}
