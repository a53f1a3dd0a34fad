// `flotilla demo` (what `npm start` runs): the main job on the bundled examples.
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { formatError, loadSite, summarizeSite } from '../../infra/site/index';
import { synthesizeSite, writeSiteTree } from '../../infra/synth/index';
import { ExitCode } from '../cli/exit';
import { action } from '../cli/program';
import { summaryTable } from './synth';
import { startDemoFederation } from '../demo/federation';
import { realMembersUnavailable, startRealDemo } from '../demo/real-members';
import type { Site } from '../../infra/site/index';

/** The example site whose clusters become the demo's simulated members. */
const DEMO_SITE = 'sh1.yaml';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job on the bundled examples (what `npm start` runs)')
    .option('--examples <dir>', 'folder of example inventories', 'examples')
    .option('--out <dir>', 'where the synthesized sites go', 'out')
    .option('--no-serve', 'only synthesize (also FLOTILLA_DEMO_ONESHOT=1): no simulated members, no cluster-mgr')
    .option('--port <n>', 'dashboard port to try first (the next free one is used when taken)', '9464')
    .option('--members <kind>', 'member clusters: sim (simulated, starts in a second) or real (control planes with kwok nodes from scripts/setup)', 'sim')
    .action(
      action(async (opts: { examples: string; out: string; serve: boolean; port: string; members: string }) => {
        if (opts.members !== 'sim' && opts.members !== 'real') {
          process.stderr.write(`error: --members ${JSON.stringify(opts.members)} is not a member kind; use sim or real\n`);
          return ExitCode.BadInput;
        }
        if (opts.members === 'real' && opts.serve && process.env.FLOTILLA_DEMO_ONESHOT !== '1') {
          const why = realMembersUnavailable();
          if (why) {
            process.stderr.write(`error: --members real: ${why}\n`);
            return ExitCode.BadInput;
          }
        }
        const files = (await readdir(opts.examples)).filter((f) => f.endsWith('.yaml')).sort();
        let bad = 0;
        process.stdout.write(`Flotilla — bundled example sites (${opts.examples}/)\n\n`);
        for (const f of files) {
          const file = join(opts.examples, f);
          const r = await loadSite(file);
          if (!r.ok) {
            bad++;
            for (const e of r.errors) process.stderr.write(`${formatError(e)}\n`);
            continue;
          }
          process.stdout.write(`✔ ${file}\n  ${summarizeSite(r.value)}\n`);
          for (const c of r.value.spec.clusters) {
            const vips = c.edge.vips.map((v) => `${v.name}=${v.address.split('/')[0]}:${v.ports.join(',')}`).join(' ');
            process.stdout.write(`    cluster ${c.name}: ${c.nodes.length} nodes, API VIP ${c.apiVIP.address.split('/')[0]}${vips ? `, edge ${vips}` : ''}\n`);
          }
          const synth = synthesizeSite(r.value);
          await writeSiteTree(synth, opts.out);
          process.stdout.write(`\n${summaryTable(synth, opts.out).replace(/^/gm, '    ').replace(/ +$/gm, '')}`);
          const root = join(opts.out, synth.site);
          process.stdout.write(
            [
              `    manifests      ${root}/clusters/<cluster>/<component>.k8s.yaml`,
              `    host configs   ${root}/hosts/<host>/  (keepalived, HAProxy static pods, containerd hosts.toml)`,
              `    ToR BGP        ${root}/network/<router>.bird.conf`,
              `    front LB       ${root}/front/haproxy.cfg`,
              `    charts/images  ${root}/charts.json, ${root}/images.txt; summary ${root}/summary.json`,
              '',
              '',
            ].join('\n'),
          );
        }
        if (bad > 0) return ExitCode.BadInput;
        if (!opts.serve || process.env.FLOTILLA_DEMO_ONESHOT === '1') return ExitCode.Ok;
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          process.stderr.write(`error: --port ${JSON.stringify(opts.port)} is not a port number (1..65535)\n`);
          return ExitCode.BadInput;
        }
        return serveFederation(opts.examples, opts.out, port, opts.members === 'real');
      }),
    );
}

/** Simulated members named after the example site's clusters + front HAProxy + cluster-mgr, until Ctrl-C. */
async function serveFederation(examples: string, out: string, port: number, real: boolean): Promise<number> {
  const file = join(examples, DEMO_SITE);
  const r = await loadSite(file);
  if (!r.ok) {
    for (const e of r.errors) process.stderr.write(`${formatError(e)}\n`);
    return ExitCode.BadInput;
  }
  const dir = join(out, 'federation');
  process.stdout.write(`Federation demo — simulated members for the clusters of ${file}\n`);
  // Signals are caught from here on, so a Ctrl-C during start-up still stops what has started.
  let signalled = false;
  let wake: () => void = () => undefined;
  const onSignal = () => {
    signalled = true;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (real) return await serveReal(r.value, file, dir, port, () => signalled, (f) => (wake = f));
    const demo = await startDemoFederation({ site: r.value, dir, port });
    try {
      const rel = (p: string) => relative(process.cwd(), p) || p;
      const o = process.stdout;
      for (const m of demo.sim.members) o.write(`  member ${m.name}  api ${m.api}  ingress ${m.ingress}  fault ${m.fault}\n`);
      if (demo.frontUrl) o.write(`  front HAProxy   ${demo.frontUrl}  (config ${rel(demo.sim.haproxyFile!)}, rendered by renderFrontHaproxy)\n`);
      else o.write('  front HAProxy   not started (haproxy not installed); cluster-mgr runs without a traffic switch\n');
      o.write(`  federation      ${rel(join(dir, 'federation.yaml'))}; cluster-mgr log ${rel(demo.logFile)}\n\n`);
      o.write(`Dashboard: ${demo.dashboardUrl}\n`);
      o.write(`Try:\n  kubectl --kubeconfig ${join(dir, 'kubeconfigs', `${demo.sim.members[0]!.name}.yaml`)} get deploy -A\n`);
      o.write(`  curl -s -X POST -d '{"mode":"down"}' ${demo.sim.members[0]!.fault}    # fault a member (modes: down hang slow 5xx partition none)\n`);
      if (demo.frontUrl) o.write(`  curl -s ${demo.frontUrl}    # through the front\n`);
      o.write('Running; stop with Ctrl-C.\n');
      if (!signalled) await new Promise<void>((res) => (wake = res));
      o.write('stopping…\n');
    } finally {
      await demo.stop();
    }
    process.stdout.write('stopped\n');
    return ExitCode.Ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The same demo on real control planes (one per cluster of the site), until Ctrl-C. */
async function serveReal(site: Site, file: string, dir: string, port: number, signalled: () => boolean, onWake: (f: () => void) => void): Promise<number> {
  const o = process.stdout;
  o.write(`Federation demo — real control planes (etcd, kube-apiserver, controller-manager, scheduler, kwok) for the clusters of ${file}\n`);
  const t0 = performance.now();
  const demo = await startRealDemo({ site, dir, port });
  try {
    o.write(`  started ${demo.members.length} control planes in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    for (const m of demo.members) o.write(`  member ${m.name}  api ${m.server}  kube-apiserver pid ${m.apiserver.pid}  kubeconfig ${join(dir, 'kubeconfigs', `${m.name}.yaml`)}\n`);
    o.write(`  cluster-mgr log ${demo.logFile}\n\nDashboard: ${demo.dashboardUrl}\n`);
    const first = demo.members[0]!;
    o.write(`Try:\n  kubectl --kubeconfig ${join(dir, 'kubeconfigs', `${first.name}.yaml`)} get nodes,deploy,pods -A\n`);
    o.write(`  kill -STOP ${first.apiserver.pid}    # freeze ${first.name}'s API server (kill -CONT ${first.apiserver.pid} resumes it)\n`);
    o.write('Running; stop with Ctrl-C.\n');
    if (!signalled()) await new Promise<void>((res) => onWake(res));
    o.write('stopping…\n');
  } finally {
    for (const m of demo.members) m.apiserver.signal('SIGCONT');
    await demo.stop();
  }
  o.write('stopped\n');
  return ExitCode.Ok;
}
