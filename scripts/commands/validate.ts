// `flotilla validate FILE`: schema + cross-field checks of a Site inventory.
import type { Command } from 'commander';
import { z } from 'zod';
import { formatError, loadSite, summarizeSite } from '../../infra/site/index';
import { ExitCode } from '../cli/exit';
import { action } from '../cli/program';

const Options = z.strictObject({ format: z.enum(['human', 'json']).default('human') });

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a Site inventory (schema and cross-field rules); exit 0 ok, 2 invalid')
    .argument('<file>', 'Site inventory YAML')
    .option('--format <format>', 'human | json', 'human')
    .action(
      action(async (file: string, raw: unknown) => {
        const opts = Options.safeParse(raw);
        if (!opts.success) {
          process.stderr.write(`error: --format must be human or json\n`);
          return ExitCode.BadInput;
        }
        const result = await loadSite(file);
        if (opts.data.format === 'json') {
          process.stdout.write(
            `${JSON.stringify(result.ok ? { valid: true, summary: summarizeSite(result.value) } : { valid: false, errors: result.errors }, null, 2)}\n`,
          );
          return result.ok ? ExitCode.Ok : ExitCode.BadInput;
        }
        if (!result.ok) {
          for (const e of result.errors) process.stderr.write(`${formatError(e)}\n`);
          process.stderr.write(`${file}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}\n`);
          return ExitCode.BadInput;
        }
        process.stdout.write(`${file}: valid — ${summarizeSite(result.value)}\n`);
        return ExitCode.Ok;
      }),
    );
}
