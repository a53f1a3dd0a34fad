// `flotilla bundle FILE --out BUNDLE` and `flotilla bundle verify BUNDLE`.
import type { Command } from 'commander';
import { rm } from 'node:fs/promises';
import { z } from 'zod';
import { ExitCode, UserError } from '../cli/exit';
import { action } from '../cli/program';
import { buildBundle, loadPrivateKey, loadPublicKey, readImagesTxt, verifyBundle } from '../delivery/bundle';
import { parseImageRef } from '../../infra/lib/image';
import { FLOTILLA_BUILT_IMAGES } from '../image/build';
import { collect, endpointsFrom, parseOptions, runSynth, siteAction, siteDirOf } from '../delivery/common';

const BuildOptions = z.strictObject({
  out: z.string().min(1, { error: 'required: the bundle folder to write' }),
  signingKey: z.string({ error: 'required: an ed25519 private key (PEM), e.g. from openssl genpkey -algorithm ed25519' }).min(1),
  synthDir: z.string().min(1).optional(),
  chartCache: z.string().min(1).optional(),
  registryEndpoint: z.array(z.string()).default([]),
  concurrency: z.coerce.number().int().min(1).max(64).default(4),
});
const VerifyOptions = z.strictObject({
  publicKey: z.string({ error: 'required: the ed25519 public key (PEM) matching the signing key' }).min(1),
  format: z.enum(['human', 'json']).default('human'),
});

async function key<T>(what: string, path: string, load: (p: string) => Promise<T>): Promise<T> {
  try {
    return await load(path);
  } catch (err) {
    throw new UserError(`${what} ${path}: ${(err as Error).message.split('\n')[0]}`, ExitCode.BadInput);
  }
}

export function registerBundle(program: Command): void {
  const cmd = program
    .command('bundle')
    .description('build an air-gap bundle (charts, images as one OCI layout, manifests, checksums, ed25519 signature); exit 0, 1 a source failed, 2 bad input')
    .argument('<file>', 'Site inventory YAML')
    .option('--out <dir>', 'bundle folder to write (replaced)')
    .option('--signing-key <pem>', 'ed25519 private key (PEM) that signs bundle.json')
    .option('--synth-dir <dir>', 'existing `flotilla synth --out` folder (default: run flotilla synth)')
    .option('--chart-cache <dir>', 'folder of <chart>-<version>.tgz tried before the chart repositories')
    .option('--registry-endpoint <host=url>', 'reach registry HOST at URL (repeatable)', collect, [])
    .option('--concurrency <n>', 'images pulled at once', '4')
    .action(
      siteAction(BuildOptions, async (file, o, site) => {
        const signingKey = await key('--signing-key', o.signingKey, loadPrivateKey);
        const endpoints = endpointsFrom(o.registryEndpoint);
        const synthDir = o.synthDir ?? (await runSynth(file));
        try {
          const siteDir = siteDirOf(synthDir, site.metadata.name);
          const own = (await readImagesTxt(siteDir)).filter((ref) => parseImageRef(ref)?.registry === site.spec.registry.host);
          if (own.length > 0 && !endpoints.has(site.spec.registry.host)) {
            throw new UserError(
              `${siteDir}/images.txt references the site registry (${own[0]}${own.length > 1 ? ` and ${own.length - 1} more` : ''}): the bundle pulls upstream images; use a plain \`flotilla synth\` output (without --air-gapped) — containerd's mirror config makes nodes pull them from ${site.spec.registry.host}`,
              ExitCode.BadInput,
            );
          }
          const t0 = performance.now();
          let r;
          try {
            r = await buildBundle({
              siteDir,
              site: site.metadata.name,
              out: o.out,
              signingKey,
              endpoints,
              chartCache: o.chartCache,
              concurrency: o.concurrency,
              // cluster-mgr and keepalived: no registry has them, they are built here (reproducibly)
              builders: FLOTILLA_BUILT_IMAGES,
              log: (l) => process.stderr.write(`  ${l}\n`),
            });
          } catch (err) {
            throw new UserError(`bundle failed: ${(err as Error).message}`, ExitCode.Failed);
          }
          process.stdout.write(
            `bundle ${o.out}: ${r.files} files, ${r.images} images (${r.built > 0 ? `${r.built} built in ${r.buildSeconds.toFixed(1)} s, ` : ''}${r.blobsWritten} blobs, ${r.blobsDeduplicated} deduplicated), ${r.charts} charts, ${(r.bytes / 1048576).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s\ndigest ${r.digest}\n`,
          );
          return ExitCode.Ok;
        } finally {
          if (!o.synthDir) await rm(synthDir, { recursive: true, force: true }); // our temporary synth output
        }
      }),
    );
  cmd
    .command('verify')
    .description('check the signature and every file of a bundle; exit 0 ok, 1 verify failed, 2 bad input')
    .argument('<bundle>', 'bundle folder')
    .option('--public-key <pem>', 'ed25519 public key (PEM)')
    .option('--format <format>', 'human | json', 'human')
    .action(
      action(async (dir: string, raw: unknown) => {
        const o = parseOptions(VerifyOptions, raw);
        const pub = await key('--public-key', o.publicKey, loadPublicKey);
        const r = await verifyBundle(dir, pub);
        if (o.format === 'json') {
          process.stdout.write(`${JSON.stringify(r.ok ? { ok: true, digest: r.digest, files: r.index.files.length } : r, null, 2)}\n`);
        } else if (r.ok) {
          process.stdout.write(`bundle ${dir}: OK — signature good, ${r.index.files.length} files match; digest ${r.digest}\n`);
        } else {
          for (const p of r.problems) process.stderr.write(`FAIL ${dir}/${p.file}: ${p.problem}\n`);
          process.stderr.write(`bundle ${dir}: verify failed (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'})\n`);
        }
        return r.ok ? ExitCode.Ok : ExitCode.Failed;
      }),
    );
}
