// `flotilla image build [--out DIR] [--tag TAG]`: the cluster-mgr image as an OCI image layout, built
// from Debian packages and the official Node.js binary with no base image and no registry.
import type { Command } from 'commander';
import { buildClusterMgrImage } from '../image/build';
import { ExitCode } from '../cli/exit';
import { action } from '../cli/program';

export function registerImage(program: Command): void {
  const image = program.command('image').description('container images Flotilla ships (built without a registry)');
  image
    .command('build')
    .description('build the cluster-mgr image as an OCI image layout (reproducible: same inputs, same digest)')
    .option('--out <dir>', 'OCI image layout folder to write', 'out/images/cluster-mgr')
    .option('--tag <tag>', 'image tag (default: the package version)')
    .action(
      action(async (opts: { out: string; tag?: string }) => {
        process.stderr.write('image: bundling cluster-mgr, fetching Debian packages and Node.js (cached after the first build)…\n');
        const t0 = performance.now();
        const img = await buildClusterMgrImage({ out: opts.out, ...(opts.tag ? { tag: opts.tag } : {}) });
        process.stdout.write(`${img.reference}@${img.digest}\n  layout ${img.layout}\n  packages ${img.packages.map((p) => `${p.name}=${p.version}`).join(', ')}\n  built in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
        return ExitCode.Ok;
      }),
    );
}
