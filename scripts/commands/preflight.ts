// `flotilla preflight FILE`: host checks over SSH; exit 0 pass, 2 bad input, 3 any fail, 4 warnings only.
import type { Command } from 'commander';
import { z } from 'zod';
import { parseDuration } from '../../infra/lib/units';
import { ExitCode } from '../cli/exit';
import { collect, siteAction, sshConfigFromSite } from '../delivery/common';
import { runPreflight, type HostPreflight } from '../delivery/preflight';
import { SshPool } from '../delivery/ssh';

const Options = z.strictObject({
  format: z.enum(['human', 'json']).default('human'),
  acceptNewHostKeys: z.boolean().default(false),
  skip: z.array(z.string().min(1)).default([]),
  timeout: z.string().refine((d) => parseDuration(d) !== undefined, { error: 'expected a duration, e.g. 5s' }).optional(),
  verbose: z.boolean().default(false),
});

export function renderPreflight(hosts: readonly HostPreflight[], verbose: boolean): string {
  const out: string[] = [];
  for (const h of hosts) {
    out.push(`${h.status.toUpperCase().padEnd(4)}  ${h.node} (${h.address}, ${h.roles.join('+')})`);
    for (const c of h.checks) {
      if (!verbose && c.severity === 'pass') continue;
      out.push(`  ${c.severity.toUpperCase().padEnd(4)}  ${c.id}: ${c.message}${c.fix && c.severity !== 'skip' ? `\n        fix: ${c.fix}` : ''}`);
    }
  }
  const n = (s: string) => hosts.filter((h) => h.status === s).length;
  out.push(`preflight: ${hosts.length} hosts — ${n('pass')} pass, ${n('warn')} warn, ${n('fail')} fail`);
  return `${out.join('\n')}\n`;
}

export function exitCodeOf(hosts: readonly HostPreflight[]): number {
  if (hosts.some((h) => h.status === 'fail')) return ExitCode.Problems;
  if (hosts.some((h) => h.status === 'warn')) return ExitCode.Warnings;
  return ExitCode.Ok;
}

export function registerPreflight(program: Command): void {
  program
    .command('preflight')
    .description('host checks over SSH; exit 0 pass, 2 bad input, 3 any fail, 4 warnings only')
    .argument('<file>', 'Site inventory YAML')
    .option('--format <format>', 'human | json', 'human')
    .option('--accept-new-host-keys', 'pin unknown host keys into known_hosts (changed keys are still refused)')
    .option('--skip <check-id>', 'mark a check (or id prefix) as skipped, e.g. kernel.module.ip_vs (repeatable)', collect, [])
    .option('--timeout <duration>', 'per-host SSH connect timeout (default spec.ssh.timeout)')
    .option('--verbose', 'also list passing checks')
    .action(
      siteAction(Options, async (file, o, site) => {
        const cfg = await sshConfigFromSite(site, file, { acceptNewHostKeys: o.acceptNewHostKeys, timeoutMs: o.timeout ? parseDuration(o.timeout) : undefined });
        const pool = await SshPool.open(cfg);
        const tty = process.stderr.isTTY && o.format === 'human';
        try {
          const hosts = await runPreflight(site, pool, {
            skip: o.skip,
            onHostDone: (node, done, total) => {
              if (tty) process.stderr.write(`\r\x1b[Kpreflight: ${done}/${total} hosts checked (last: ${node})`);
            },
          });
          if (tty) process.stderr.write('\r\x1b[K');
          process.stdout.write(o.format === 'json' ? `${JSON.stringify({ hosts }, null, 2)}\n` : renderPreflight(hosts, o.verbose));
          return exitCodeOf(hosts);
        } finally {
          pool.close();
        }
      }),
    );
}
