// Pushes a bundle's OCI layout into the site registry: every image under its original repository
// path (`<site registry>/<path>:<tag>`), children first; blobs the registry has are skipped (HEAD),
// blobs already pushed to another repository are mounted; a tag already at the same digest is left alone.
import { OciLayout } from './bundle';
import pLimit from 'p-limit';
import { parseImageRef } from '../../infra/lib/image';
import { pushGraph, RegistryClient, type MountSources, type RegistryStats } from './oci';

export interface PushImageResult {
  readonly ref: string;
  readonly target: string;
  readonly digest: string;
  readonly status: 'unchanged' | 'pushed' | 'failed';
  readonly error?: string;
}

export interface PushResult {
  readonly images: PushImageResult[];
  readonly stats: RegistryStats;
}

/** Target `repo:tag` of a bundled image reference in the site registry. */
export function targetOf(ref: string): { repository: string; tag: string } | undefined {
  const r = parseImageRef(ref);
  if (!r) return undefined;
  return { repository: r.repository, tag: r.tag ?? '' };
}

export async function pushLayout(layoutDir: string, target: RegistryClient, opts: { dryRun?: boolean; concurrency?: number; log?: (l: string) => void } = {}): Promise<PushResult> {
  const layout = new OciLayout(layoutDir);
  const source = layout.source();
  const mountable: MountSources = new Map();
  const limit = pLimit(opts.concurrency ?? 4);
  const entries = await OciLayout.readIndex(layoutDir);
  const images = await Promise.all(
    entries.map(({ ref, descriptor }) =>
      limit(async (): Promise<PushImageResult> => {
        const t = targetOf(ref);
        if (!t) return { ref, target: '?', digest: descriptor.digest, status: 'failed', error: 'image reference missing or malformed in images/index.json' };
        const tagRef = t.tag || descriptor.digest;
        const targetName = `${t.repository}${t.tag ? `:${t.tag}` : `@${descriptor.digest}`}`;
        try {
          const current = await target.headManifest(t.repository, tagRef);
          if (current === descriptor.digest) {
            target.stats.manifestsSkipped++;
            return { ref, target: targetName, digest: descriptor.digest, status: 'unchanged' };
          }
          if (opts.dryRun) {
            opts.log?.(`would push ${targetName} ${descriptor.digest}`);
            return { ref, target: targetName, digest: descriptor.digest, status: 'pushed' };
          }
          const root = await source.manifest(t.repository, descriptor.digest);
          await pushGraph(source, t.repository, target, t.repository, root, mountable, tagRef);
          opts.log?.(`pushed ${targetName} ${descriptor.digest}`);
          return { ref, target: targetName, digest: descriptor.digest, status: 'pushed' };
        } catch (err) {
          return { ref, target: targetName, digest: descriptor.digest, status: 'failed', error: (err as Error).message };
        }
      }),
    ),
  );
  return { images, stats: target.stats };
}
