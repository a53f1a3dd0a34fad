// `flotilla demo` (what `npm start` runs): the main job on the bundled examples.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatError, loadSite, summarizeSite } from '../../infra/site/index';
import { synthesizeSite, writeSiteTree } from '../../infra/synth/index';
import { ExitCode } from '../cli/exit';
import { action } from '../cli/program';
import { summaryTable } from './synth';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job on the bundled examples (what `npm start` runs)')
    .option('--examples <dir>', 'folder of example inventories', 'examples')
    .option('--out <dir>', 'where the synthesized sites go', 'out')
    .action(
      action(async (opts: { examples: string; out: string }) => {
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
        return bad > 0 ? ExitCode.BadInput : ExitCode.Ok;
      }),
    );
}
