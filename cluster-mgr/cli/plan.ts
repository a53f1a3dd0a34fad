// `cluster-mgr plan --config F --capacity C`: the replica split cluster-mgr would make, as JSON.
// Never touches a cluster. Exit 0, or 2 on bad input.
import type { Command } from 'commander';
import { z } from 'zod';
import { action, badInput, ExitCode } from './exit';
import { loadAppsDir, loadCapacity, loadFederation } from '../config/index';
import { planAll } from '../core/plan';

const Options = z.strictObject({ config: z.string().min(1), capacity: z.string().min(1), apps: z.string().min(1).optional() });

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('what-if: the replica split per app for a capacity snapshot, as JSON (never touches a cluster); exit 0, 2 bad input')
    .requiredOption('--config <file>', 'Federation YAML')
    .requiredOption('--capacity <file>', 'capacity snapshot (JSON): per member health, allocatable, allocated; current split')
    .option('--apps <dir>', 'folder of FederatedApp documents (added to the Federation file apps)')
    .action(
      action(async (raw: unknown) => {
        const opts = Options.parse(raw);
        const fed = await loadFederation(opts.config);
        if (!fed.ok) return badInput(fed.errors, opts.config);
        const members = fed.value.spec.members;
        const names = members.map((m) => m.name);
        const apps = [...fed.value.spec.apps];
        if (opts.apps) {
          const more = await loadAppsDir(opts.apps, names);
          if (!more.ok) return badInput(more.errors, opts.apps);
          apps.push(...more.value);
        }
        const cap = await loadCapacity(opts.capacity, names);
        if (!cap.ok) return badInput(cap.errors, opts.capacity);
        process.stdout.write(`${JSON.stringify(Object.fromEntries(planAll(apps, members, cap.value)), null, 2)}\n`);
        return ExitCode.Ok;
      }),
    );
}
