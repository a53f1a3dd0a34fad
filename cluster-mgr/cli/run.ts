// `cluster-mgr run --config FILE [--listen ADDR] [--apps DIR]`: the federation daemon. Runs until
// SIGTERM/SIGINT, then stops watches, drains workers, releases the lease and exits 0.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { isLoopback } from '../dashboard/auth';
import { z } from 'zod';
import { action, badInput, ExitCode } from './exit';
import { loadAppsDir, loadFederation } from '../config/index';
import { AdapterConfigError, runDaemon } from '../daemon/main';
import { parseListen } from '../server/index';

const Options = z.strictObject({ config: z.string().min(1), listen: z.string().default('127.0.0.1:9464'), apps: z.string().min(1).optional(), tokenFile: z.string().min(1).optional() });

/** The bearer token for a non-loopback listen address: --token-file, else $CLUSTER_MGR_TOKEN. */
async function readToken(tokenFile: string | undefined): Promise<{ ok: true; token?: string } | { ok: false; message: string }> {
  if (tokenFile) {
    try {
      const t = (await readFile(tokenFile, 'utf8')).trim();
      if (t.length < 16) return { ok: false, message: `--token-file ${tokenFile}: the token is shorter than 16 characters; use a long random one (e.g. openssl rand -hex 32)` };
      return { ok: true, token: t };
    } catch (err) {
      return { ok: false, message: `--token-file ${tokenFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
    }
  }
  const env = process.env.CLUSTER_MGR_TOKEN?.trim();
  if (env) {
    if (env.length < 16) return { ok: false, message: 'CLUSTER_MGR_TOKEN: the token is shorter than 16 characters; use a long random one (e.g. openssl rand -hex 32)' };
    return { ok: true, token: env };
  }
  return { ok: true };
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('the federation daemon: spreads replicas, propagates objects, fails over; runs until SIGTERM')
    .requiredOption('--config <file>', 'Federation YAML')
    .option('--listen <addr>', 'HTTP address for / /healthz /readyz /metrics /api/state', '127.0.0.1:9464')
    .option('--apps <dir>', 'folder of FederatedApp documents (watched)')
    .option('--token-file <file>', 'bearer token for /api/state and /metrics (required when --listen is not loopback; or set CLUSTER_MGR_TOKEN)')
    .action(
      action(async (raw: unknown) => {
        const opts = Options.parse(raw);
        const listen = parseListen(opts.listen);
        if (!listen) {
          process.stderr.write(`error: --listen ${JSON.stringify(opts.listen)} is not HOST:PORT (e.g. 127.0.0.1:9464)\n`);
          return ExitCode.BadInput;
        }
        const tok = await readToken(opts.tokenFile);
        if (!tok.ok) {
          process.stderr.write(`error: ${tok.message}\n`);
          return ExitCode.BadInput;
        }
        if (!isLoopback(listen.host) && !tok.token) {
          process.stderr.write(`error: --listen ${opts.listen} is not a loopback address: give a bearer token with --token-file FILE or CLUSTER_MGR_TOKEN (the dashboard is then opened as http://HOST:PORT/#token=TOKEN)\n`);
          return ExitCode.BadInput;
        }
        const fed = await loadFederation(opts.config, { deferMissingKubeconfigs: true });
        if (!fed.ok) return badInput(fed.errors, opts.config);
        const apps = [...fed.value.spec.apps];
        if (opts.apps) {
          const more = await loadAppsDir(opts.apps, fed.value.spec.members.map((m) => m.name));
          if (!more.ok) return badInput(more.errors, opts.apps);
          apps.push(...more.value);
        }
        let running;
        try {
          running = await runDaemon({ federation: fed.value, configFile: opts.config, apps, ...(opts.apps ? { appsDir: opts.apps } : {}), listen, ...(tok.token ? { token: tok.token } : {}) });
        } catch (err) {
          if (err instanceof AdapterConfigError) {
            for (const p of err.problems) process.stderr.write(`${opts.config}: ${p}\n`);
            return ExitCode.BadInput;
          }
          const e = err as NodeJS.ErrnoException;
          process.stderr.write(`error: cannot start: ${e.code === 'EADDRINUSE' ? `--listen ${opts.listen} is already in use` : e.message}\n`);
          return e.code === 'EADDRINUSE' ? ExitCode.BadInput : ExitCode.Failed;
        }
        await new Promise<void>((resolve) => {
          const onSignal = () => resolve();
          process.once('SIGTERM', onSignal);
          process.once('SIGINT', onSignal);
        });
        await running.stop();
        return ExitCode.Ok;
      }),
    );
}
