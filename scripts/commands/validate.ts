// `flotilla validate FILE...`: schema + cross-field checks of Site inventories; with several files
// (the sites of one federation) also no pod or service range shared between their clusters.
import type { Command } from 'commander';
import { z } from 'zod';
import { formatError, loadSites, summarizeSite } from '../../infra/site/index';
import { ExitCode } from '../cli/exit';
import { action } from '../cli/program';

const Options = z.strictObject({ format: z.enum(['human', 'json']).default('human') });

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check Site inventories (schema and cross-field rules; several files: also no range shared across sites); exit 0 ok, 2 invalid')
    .argument('<files...>', 'Site inventory YAML (one per site of a federation)')
    .option('--format <format>', 'human | json', 'human')
    .action(
      action(async (files: string[], raw: unknown) => {
        const opts = Options.safeParse(raw);
        if (!opts.success) {
          process.stderr.write(`error: --format must be human or json\n`);
          return ExitCode.BadInput;
        }
        const result = await loadSites(files);
        if (opts.data.format === 'json') {
          const summaries = result.ok ? result.value.map(summarizeSite) : [];
          // One file keeps the single-site shape ({ valid, summary }); several give one summary per file.
          const ok = files.length === 1 ? { summary: summaries[0] } : { summaries: files.map((file, i) => ({ file, summary: summaries[i] })) };
          process.stdout.write(`${JSON.stringify(result.ok ? { valid: true, ...ok } : { valid: false, errors: result.errors }, null, 2)}\n`);
          return result.ok ? ExitCode.Ok : ExitCode.BadInput;
        }
        if (!result.ok) {
          for (const e of result.errors) process.stderr.write(`${formatError(e)}\n`);
          const where = files.length === 1 ? files[0] : `${files.length} files`;
          process.stderr.write(`${where}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}\n`);
          return ExitCode.BadInput;
        }
        result.value.forEach((site, i) => process.stdout.write(`${files[i]}: valid — ${summarizeSite(site)}\n`));
        if (files.length > 1) process.stdout.write(`${files.length} sites: no pod or service range shared between their clusters\n`);
        return ExitCode.Ok;
      }),
    );
}
