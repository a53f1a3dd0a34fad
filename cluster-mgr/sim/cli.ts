// `cluster-mgr sim`: start simulated member clusters and keep them running until SIGTERM/SIGINT.
import type { Command } from 'commander';
import { z } from 'zod';
// The CLI is the composition root: it injects the front renderer the simulator itself never imports.
import { renderFrontHaproxy } from '../../infra/render/front';
import { action, ExitCode, UserError } from '../cli/exit';
import { SimConfigError, startSim, type SimOptions } from './index';

const OptionsSchema = z.object({
  // Checked on the text as given, so the message shows it (a coerced "abc" would only be NaN).
  clusters: z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const n = Number(v);
      if (!/^\d+$/.test(String(v).trim()) || n < 1 || n > 50) {
        ctx.addIssue({ code: 'custom', message: `--clusters: got ${JSON.stringify(v)}, expected a whole number 1..50` });
        return z.NEVER;
      }
      return n;
    })
    .optional(),
  names: z.string().optional(),
  out: z.string().min(1).optional(),
  nodes: z.coerce.number().int().min(0).max(500).optional(),
  nodeCpu: z.string().optional(),
  nodeMemory: z.string().optional(),
  nodePods: z.coerce.number().int().min(1).optional(),
  podReadyDelay: z.coerce.number().int().min(0).optional(),
  slow: z.coerce.number().int().min(0).optional(),
});

export function simOptionsFromFlags(raw: Record<string, unknown>): SimOptions {
  const r = OptionsSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const flag = `--${String(i.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new UserError(i.message.startsWith('--') ? i.message : `${flag}: ${i.message}`, ExitCode.BadInput);
  }
  const o = r.data;
  const names = o.names?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return {
    ...(names ? { names } : { count: o.clusters ?? 2 }),
    ...(o.out ? { outDir: o.out } : {}),
    ...(o.nodes !== undefined ? { nodesPerMember: o.nodes } : {}),
    ...(o.nodeCpu ? { nodeCpu: o.nodeCpu } : {}),
    ...(o.nodeMemory ? { nodeMemory: o.nodeMemory } : {}),
    ...(o.nodePods ? { nodePods: o.nodePods } : {}),
    ...(o.podReadyDelay !== undefined ? { podReadyDelayMs: o.podReadyDelay } : {}),
    ...(o.slow !== undefined ? { slowMs: o.slow } : {}),
  };
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('simulated member clusters on loopback (Kubernetes API + ingress + fault API), with kubeconfigs and a Federation file')
    .option('--clusters <n>', 'number of members (sim-1..sim-N)', '2')
    .option('--names <a,b>', 'member names instead of sim-1..N')
    .option('--out <dir>', 'where kubeconfigs/, federation.yaml, sim.json go (default: a temp dir)')
    .option('--nodes <n>', 'nodes per member (default 3)')
    .option('--node-cpu <q>', 'allocatable cpu per node (default 4)')
    .option('--node-memory <q>', 'allocatable memory per node (default 8Gi)')
    .option('--node-pods <n>', 'allocatable pods per node (default 110)')
    .option('--pod-ready-delay <ms>', 'pods turn Ready this long after scheduling (default 0)')
    .option('--slow <ms>', 'delay of the "slow" fault (default 2000)')
    .action(
      action(async (flags: Record<string, unknown>, cmd: Command) => {
        const raw = { ...flags };
        if (cmd.getOptionValueSource('clusters') === 'default' && flags.names) delete raw.clusters;
        const opts = simOptionsFromFlags(raw);
        let sim;
        try {
          sim = await startSim({ ...opts, renderFront: renderFrontHaproxy });
        } catch (err) {
          if (err instanceof SimConfigError) throw new UserError(err.message, ExitCode.BadInput);
          throw err;
        }
        const out = process.stdout;
        out.write(`cluster-mgr sim: ${sim.members.length} simulated member(s) on loopback\n`);
        for (const m of sim.members) out.write(`  ${m.name}  api ${m.api}  ingress ${m.ingress}  fault ${m.fault}\n`);
        out.write(`wrote ${sim.federationFile}\n`);
        out.write(`wrote ${sim.simFile}\n`);
        for (const m of sim.members) out.write(`wrote ${m.kubeconfig}\n`);
        if (sim.haproxyFile) out.write(`wrote ${sim.haproxyFile} (front HAProxy over the ingress endpoints: haproxy -f ${sim.haproxyFile})\n`);
        else out.write(`haproxy.cfg not written: renderFrontHaproxy failed: ${sim.haproxyError ?? 'no output'}\n`);
        const m0 = sim.members[0]!;
        out.write(`try:\n  kubectl --kubeconfig ${m0.kubeconfig} get nodes\n`);
        out.write(`  curl -s -X POST -d '{"mode":"down"}' ${m0.fault}    # modes: none down hang slow 5xx partition\n`);
        out.write(`  cluster-mgr run --config ${sim.federationFile}\n`);
        out.write('running; stop with Ctrl-C or SIGTERM\n');
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        await sim.stop();
        out.write('cluster-mgr sim: stopped\n');
        return ExitCode.Ok;
      }),
    );
}
