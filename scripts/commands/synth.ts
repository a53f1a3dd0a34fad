// `flotilla synth FILE [--out DIR] [--air-gapped]`: validate the inventory, write the whole site
// (layout in DESIGN.md) and print a summary table site → cluster → component → object count.
import type { Command } from 'commander';
import { z } from 'zod';
import { formatError, loadSite } from '../../infra/site/index';
import { synthesizeSite, writeSiteTree, type SiteSynth } from '../../infra/synth/index';
import { ExitCode } from '../cli/exit';
import { action } from '../cli/program';

const Options = z.strictObject({ out: z.string().min(1).default('out'), airGapped: z.boolean().default(false) });

/** The summary table: one row per site/cluster/component with its object count. */
export function summaryTable(synth: SiteSynth, outDir: string): string {
  const rows: string[][] = [['SITE', 'CLUSTER', 'COMPONENT', 'OBJECTS', 'CHARTS']];
  for (const c of synth.clusters) {
    for (const m of c.components) {
      const charts = c.charts.filter((ch) => ch.component === m.component).map((ch) => ch.id);
      rows.push([synth.site, c.cluster, m.component, String(m.objects.length), charts.join(',') || '-']);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd());
  const total = synth.clusters.reduce((n, c) => n + c.components.reduce((k, m) => k + m.objects.length, 0), 0);
  lines.push(
    '',
    `${synth.site}: ${synth.clusters.length} cluster(s), ${total} objects, ${synth.clusters.reduce((n, c) => n + c.charts.length, 0)} chart releases, ${synth.hostFiles.length} host/network files, ${synth.images.length} images → ${outDir}/${synth.site}/`,
  );
  return `${lines.join('\n')}\n`;
}

/** Loads, validates, synthesizes and writes one inventory. Expected failures are values. */
export async function synthFile(file: string, out: string, airGapped: boolean): Promise<{ ok: true; synth: SiteSynth } | { ok: false; errors: string[]; inventory: boolean }> {
  const r = await loadSite(file);
  if (!r.ok) return { ok: false, errors: r.errors.map(formatError), inventory: true };
  const synth = synthesizeSite(r.value, { airGapped });
  try {
    await writeSiteTree(synth, out);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, errors: [`--out ${out}: cannot write ${err.path ?? out} (${err.code ?? err.message}); choose a writable folder`], inventory: false };
  }
  return { ok: true, synth };
}

export function registerSynth(program: Command): void {
  program
    .command('synth')
    .description('write every Kubernetes object, chart release and host config of a site; exit 0, 2 invalid input')
    .argument('<file>', 'Site inventory YAML')
    .option('--out <dir>', 'output folder', 'out')
    .option('--air-gapped', 'rewrite every image to the site registry', false)
    .action(
      action(async (file: string, raw: unknown) => {
        const opts = Options.safeParse(raw);
        if (!opts.success) {
          process.stderr.write(`error: invalid options: ${opts.error.issues.map((i) => i.message).join('; ')}\n`);
          return ExitCode.BadInput;
        }
        const result = await synthFile(file, opts.data.out, opts.data.airGapped);
        if (!result.ok) {
          for (const e of result.errors) process.stderr.write(`${e}\n`);
          if (result.inventory) process.stderr.write(`${file}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}\n`);
          return ExitCode.BadInput;
        }
        process.stdout.write(summaryTable(result.synth, opts.data.out));
        return ExitCode.Ok;
      }),
    );
}
