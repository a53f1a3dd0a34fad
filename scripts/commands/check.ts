// `flotilla check FILE`: day-2 checks; exit 0 (warnings are printed), 3 problems found.
import type { Command } from 'commander';
import { z } from 'zod';
import { evaluateSync, probeCertificate, readSyncStatus, type CheckResult } from '../../infra/day2/index';
import { parseDuration } from '../../infra/lib/units';
import { ExitCode, UserError } from '../cli/exit';
import { parseBackupSpec, probeBackup, siteEndpoints, type BackupSpec } from '../delivery/check';
import { collect, siteAction, sshConfigFromSite } from '../delivery/common';
import { SshPool } from '../delivery/ssh';

const Options = z.strictObject({
  endpoint: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: 'expected HOST:PORT, e.g. registry.bj1.example.com:443' })).default([]),
  backup: z.array(z.string()).default([]),
  syncStatus: z.string().min(1).default('/var/lib/flotilla/registry-sync.json'),
  maxSyncLag: z.string().refine((d) => parseDuration(d) !== undefined, { error: 'expected a duration, e.g. 2h' }).default('2h'),
  timeout: z.string().refine((d) => parseDuration(d) !== undefined, { error: 'expected a duration, e.g. 5s' }).default('5s'),
  format: z.enum(['human', 'json']).default('human'),
  acceptNewHostKeys: z.boolean().default(false),
  tls: z.boolean().default(true),
});

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('day 2: TLS expiry of site endpoints, backup freshness, registry sync lag; exit 0 ok, 3 problems found')
    .argument('<file>', 'Site inventory YAML')
    .option('--endpoint <host:port>', 'check these TLS endpoints instead of the ones derived from the inventory (repeatable)', collect, [])
    .option('--backup <node:path:maxage>', 'backup folder on a node and its maximum age (repeatable)', collect, [])
    .option('--sync-status <file>', 'status file written by flotilla registry sync', '/var/lib/flotilla/registry-sync.json')
    .option('--max-sync-lag <duration>', 'oldest acceptable successful registry sync', '2h')
    .option('--timeout <duration>', 'per-endpoint TLS timeout', '5s')
    .option('--no-tls', 'skip the TLS expiry checks')
    .option('--accept-new-host-keys', 'pin unknown host keys (backup checks over SSH)')
    .option('--format <format>', 'human | json', 'human')
    .action(
      siteAction(Options, async (file, o, site) => {
        const now = new Date();
        const backups: BackupSpec[] = [];
        const nodes = new Map(site.spec.clusters.flatMap((c) => c.nodes).map((n) => [n.name, n.address]));
        for (const b of o.backup) {
          const spec = parseBackupSpec(b, parseDuration);
          if (typeof spec === 'string') throw new UserError(spec, ExitCode.BadInput);
          if (!nodes.has(spec.node)) throw new UserError(`--backup ${b}: node ${JSON.stringify(spec.node)} is not in ${file}: use a node name from spec.clusters[].nodes`, ExitCode.BadInput);
          backups.push(spec);
        }
        const endpoints = !o.tls ? [] : o.endpoint.length > 0 ? o.endpoint.map((e) => ({ host: e.slice(0, e.lastIndexOf(':')), port: Number(e.slice(e.lastIndexOf(':') + 1)) })) : siteEndpoints(site);
        const results: CheckResult[] = await Promise.all(endpoints.map((e) => probeCertificate(e.host, e.port, now, parseDuration(o.timeout))));
        if (backups.length > 0) {
          const pool = await SshPool.open(await sshConfigFromSite(site, file, { acceptNewHostKeys: o.acceptNewHostKeys }));
          try {
            results.push(...(await Promise.all(backups.map((b) => pool.limit(() => probeBackup(pool, nodes.get(b.node)!, b, now))))));
          } finally {
            pool.close();
          }
        }
        if (site.spec.registry.mirrors.length > 0) {
          const status = await readSyncStatus(o.syncStatus);
          for (const m of site.spec.registry.mirrors) results.push(evaluateSync(m.host, status, parseDuration(o.maxSyncLag)!, now));
        }
        const fails = results.filter((r) => r.severity === 'fail').length;
        const warns = results.filter((r) => r.severity === 'warn').length;
        if (o.format === 'json') process.stdout.write(`${JSON.stringify({ ok: fails === 0, results }, null, 2)}\n`);
        else {
          for (const r of results) process.stdout.write(`${r.severity.toUpperCase().padEnd(4)}  ${r.id.padEnd(16)}  ${r.target}: ${r.message}\n`);
          process.stdout.write(`check: ${results.length} checks, ${fails} failed, ${warns} warnings\n`);
        }
        return fails > 0 ? ExitCode.Problems : ExitCode.Ok;
      }),
    );
}
