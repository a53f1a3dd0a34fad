// `flotilla registry sync FILE`: copy the site's mirrored repositories from the other sites' registries.
import type { Command } from 'commander';
import { z } from 'zod';
import { ExitCode, UserError } from '../cli/exit';
import { collect, endpointsFrom, siteAction } from '../delivery/common';
import { RegistryClient, registryUrl } from '../delivery/oci';
import { syncRegistries, writeSyncStatus } from '../delivery/sync';

const SyncOptions = z.strictObject({
  status: z.string().min(1).default('/var/lib/flotilla/registry-sync.json'),
  registryEndpoint: z.array(z.string()).default([]),
  format: z.enum(['human', 'json']).default('human'),
});

export function registerRegistry(program: Command): void {
  const reg = program.command('registry').description('site registry operations');
  reg
    .command('sync')
    .description('incremental copy of spec.registry.mirrors[] repositories into this site registry; exit 0, 1 errors, 2 bad input')
    .argument('<file>', 'Site inventory YAML')
    .option('--status <file>', 'status file written after each run (read by flotilla check)', '/var/lib/flotilla/registry-sync.json')
    .option('--registry-endpoint <host=url>', 'reach registry HOST at URL (repeatable)', collect, [])
    .option('--format <format>', 'human | json', 'human')
    .action(
      siteAction(SyncOptions, async (file, o, site) => {
        const endpoints = endpointsFrom(o.registryEndpoint);
        if (site.spec.registry.mirrors.length === 0) throw new UserError(`${file}: spec.registry.mirrors is empty: nothing to sync`, ExitCode.BadInput);
        const target = new RegistryClient(registryUrl(site.spec.registry.host, endpoints));
        let ok = true;
        const results = [];
        for (const m of site.spec.registry.mirrors) {
          const source = new RegistryClient(registryUrl(m.host, endpoints));
          const run = await syncRegistries(source, target, { patterns: m.repositories, log: (l) => process.stderr.write(`  ${l}\n`) });
          const status = await writeSyncStatus(o.status, m.host, run);
          results.push(status);
          ok &&= status.ok;
          if (o.format === 'human') {
            process.stdout.write(
              `${m.host} → ${site.spec.registry.host}: ${status.repositories} repositories, ${status.tags} tags, ${status.manifestsCopied} copied, ${status.tagsUpToDate} up to date; blobs ${status.blobsCopied} copied, ${status.blobsMounted} mounted, ${status.blobsSkipped} present${status.manifestsCopied === 0 && status.ok ? ' — nothing to do' : ''}\n`,
            );
            for (const e of status.errors) process.stderr.write(`FAIL ${e}\n`);
          }
        }
        if (o.format === 'json') process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        return ok ? ExitCode.Ok : ExitCode.Failed;
      }),
    );
}
