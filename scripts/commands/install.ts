// `flotilla install FILE --bundle BUNDLE`: verify, push images, configure hosts, apply; idempotent.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { ExitCode, UserError } from '../cli/exit';
import { loadPublicKey } from '../delivery/bundle';
import { collect, endpointsFrom, siteAction, sshConfigFromSite } from '../delivery/common';
import type { SiteCa } from '../delivery/bootstrap';
import { install, type InstallResult } from '../delivery/install';
import { SshPool } from '../delivery/ssh';

const Options = z.strictObject({
  bundle: z.string({ error: 'required: the bundle folder' }).min(1),
  publicKey: z.string({ error: 'required: the ed25519 public key (PEM) the bundle was signed for' }).min(1),
  registryEndpoint: z.array(z.string()).default([]),
  hostRoot: z.string().startsWith('/', { error: 'must be an absolute path (use {node} for the node name)' }).default('/'),
  dryRun: z.boolean().default(false),
  acceptNewHostKeys: z.boolean().default(false),
  images: z.boolean().default(true),
  hosts: z.boolean().default(true),
  pulumi: z.boolean().default(true),
  stack: z.string().regex(/^[\w.-]+$/, { error: 'expected a Pulumi stack name, e.g. bj1-pre' }).optional(),
  caCert: z.string().min(1).optional(),
  caKey: z.string().min(1).optional(),
  handover: z.boolean().default(false),
  format: z.enum(['human', 'json']).default('human'),
});

export function renderInstall(r: InstallResult, dryRun: boolean): string {
  const out: string[] = [];
  if (!r.verify.ok) {
    for (const p of r.verify.problems) out.push(`FAIL bundle file ${p.file}: ${p.problem}`);
    out.push('install stopped: the bundle did not verify');
    return `${out.join('\n')}\n`;
  }
  out.push(`bundle verified ${r.verify.digest}`);
  if (r.bootstrap) {
    const bs = r.bootstrap;
    const what = bs.status === 'failed' ? bs.error : bs.changed.length > 0 ? bs.changed.join(', ') : 'running, files up to date';
    out.push(`bootstrap registry: ${bs.node} ${bs.url}  ${bs.status.toUpperCase()}  ${what}`);
    if (bs.status === 'failed') {
      out.push('install stopped before pushing images or touching any node: fix the bootstrap registry and re-run');
      return `${out.join('\n')}\n`;
    }
  }
  if (r.imageTarget) out.push(`images → ${r.imageTarget}`);
  if (r.images) {
    const s = r.images.stats;
    const pushed = r.images.images.filter((i) => i.status === 'pushed').length;
    const same = r.images.images.filter((i) => i.status === 'unchanged').length;
    out.push(`images: ${pushed} ${dryRun ? 'would be pushed' : 'pushed'}, ${same} unchanged; blobs ${s.blobsPushed} pushed, ${s.blobsMounted} mounted, ${s.blobsSkipped} already present`);
    if (r.images.error) out.push(`FAIL registry: ${r.images.error}`);
    for (const i of r.images.images.filter((x) => x.status === 'failed')) out.push(`FAIL image ${i.target}: ${i.error}`);
  }
  if (r.hosts.length > 0) {
    out.push('hosts:');
    const w = Math.max(...r.hosts.map((h) => h.node.length));
    for (const h of r.hosts) {
      const detail = h.status === 'failed' ? h.error : h.changed.length > 0 ? `${h.changed.length} file(s): ${h.changed.join(', ')}` : `${h.unchanged} file(s) up to date`;
      out.push(`  ${h.node.padEnd(w)}  ${h.address.padEnd(15)}  ${h.status.toUpperCase().padEnd(12)}  ${detail}${h.restarted?.length ? `; restarted ${h.restarted.join(', ')}` : ''}`);
      for (const n of h.notes ?? []) out.push(`  ${' '.repeat(w)}  note: ${n}`);
    }
  }
  if (r.pulumi.ran) out.push(`pulumi up: ${r.pulumi.ok ? 'succeeded' : 'FAILED'} ${r.pulumi.summary ?? ''}`);
  else if (r.pulumi.next) {
    if (r.bootstrap && r.ok) out.push('cluster layer: every node now pulls the bundle images from the bootstrap registry; apply the cluster layer:');
    out.push(`next: ${r.pulumi.next}`);
    if (r.bootstrap && r.ok) out.push('then, once the in-cluster registry serves: the same install with --handover');
  }
  out.push(!r.ok ? 'install FAILED (see the report above; other hosts were completed)' : r.changed ? (dryRun ? 'dry run: the changes above would be made' : 'install complete') : 'no changes: the site already matches the bundle');
  return `${out.join('\n')}\n`;
}

export function registerInstall(program: Command): void {
  program
    .command('install')
    .description('push images to the site registry, configure hosts, apply; idempotent; exit 0, 1 failed (per-host report), 2 bad input')
    .argument('<file>', 'Site inventory YAML')
    .option('--bundle <dir>', 'bundle folder (from flotilla bundle)')
    .option('--public-key <pem>', 'ed25519 public key (PEM) to verify the bundle')
    .option('--registry-endpoint <host=url>', 'reach registry HOST at URL (repeatable)', collect, [])
    .option('--host-root <path>', 'prefix for every file written on hosts; {node} = node name (staging)', '/')
    .option('--dry-run', 'show what would change, change nothing')
    .option('--accept-new-host-keys', 'pin unknown host keys into known_hosts (changed keys are still refused)')
    .option('--no-images', 'skip pushing images')
    .option('--no-hosts', 'skip host configuration')
    .option('--no-pulumi', 'do not run pulumi up (print the next command)')
    .option('--stack <name>', 'Pulumi stack (default: the site name)')
    .option('--ca-cert <pem>', 'site CA certificate that signs the bootstrap registry certificate (with --ca-key)')
    .option('--ca-key <pem>', 'site CA private key (with --ca-cert); default: a bootstrap CA made by install')
    .option('--handover', 'after pulumi up: push into the in-cluster site registry and point the nodes back at it')
    .option('--format <format>', 'human | json', 'human')
    .action(
      siteAction(Options, async (file, o, site) => {
        let publicKey;
        try {
          publicKey = await loadPublicKey(o.publicKey);
        } catch (err) {
          throw new UserError(`--public-key ${o.publicKey}: ${(err as Error).message.split('\n')[0]}`, ExitCode.BadInput);
        }
        if ((o.caCert === undefined) !== (o.caKey === undefined)) throw new UserError(`${o.caCert ? '--ca-key' : '--ca-cert'}: required with ${o.caCert ? '--ca-cert' : '--ca-key'} (the site CA is a certificate and its key)`, ExitCode.BadInput);
        let ca: SiteCa | undefined;
        if (o.caCert !== undefined && o.caKey !== undefined) {
          const read = async (flag: string, path: string) => {
            try {
              return await readFile(path, 'utf8');
            } catch (err) {
              throw new UserError(`${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, ExitCode.BadInput);
            }
          };
          ca = { cert: await read('--ca-cert', o.caCert), key: await read('--ca-key', o.caKey) };
          if (!ca.cert.includes('BEGIN CERTIFICATE')) throw new UserError(`--ca-cert ${o.caCert}: not a PEM certificate`, ExitCode.BadInput);
          if (!/BEGIN (EC |RSA |ENCRYPTED )?PRIVATE KEY/.test(ca.key)) throw new UserError(`--ca-key ${o.caKey}: not a PEM private key`, ExitCode.BadInput);
        }
        const endpoints = endpointsFrom(o.registryEndpoint);
        const pool = o.hosts ? await SshPool.open(await sshConfigFromSite(site, file, { acceptNewHostKeys: o.acceptNewHostKeys })) : undefined;
        try {
          const r = await install({
            site,
            inventoryFile: file,
            bundleDir: o.bundle,
            publicKey,
            endpoints,
            pool,
            hostRoot: o.hostRoot,
            dryRun: o.dryRun,
            skipImages: !o.images,
            skipHosts: !o.hosts,
            skipPulumi: !o.pulumi,
            stack: o.stack,
            ca,
            handover: o.handover,
            log: (l) => process.stderr.write(`  ${l}\n`),
          });
          process.stdout.write(o.format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : renderInstall(r, o.dryRun));
          return r.ok ? ExitCode.Ok : ExitCode.Failed;
        } finally {
          pool?.close();
        }
      }),
    );
}
