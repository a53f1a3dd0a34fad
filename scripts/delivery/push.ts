// Pushes a bundle's OCI layout into the site registry: every image under its original repository
// path (`<site registry>/<path>:<tag>`), children first; blobs the registry has are skipped (HEAD),
// blobs already pushed to another repository are mounted; a tag already at the same digest is left alone.
import { OciLayout } from './bundle';
import { parseImageRef, pushGraph, RegistryClient, type RegistryStats } from './oci';

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

export async function pushLayout(layoutDir: string, target: RegistryClient, opts: { dryRun?: boolean; log?: (l: string) => void } = {}): Promise<PushResult> {
  const layout = new OciLayout(layoutDir);
  const source = layout.source();
  const mountable = new Map<string, string>();
  const images: PushImageResult[] = [];
  for (const { ref, descriptor } of await OciLayout.readIndex(layoutDir)) {
    const t = targetOf(ref);
    if (!t) {
      images.push({ ref, target: '?', digest: descriptor.digest, status: 'failed', error: 'image reference missing or malformed in images/index.json' });
      continue;
    }
    const tagRef = t.tag || descriptor.digest;
    const targetName = `${t.repository}${t.tag ? `:${t.tag}` : `@${descriptor.digest}`}`;
    try {
      const current = await target.headManifest(t.repository, tagRef);
      if (current === descriptor.digest) {
        target.stats.manifestsSkipped++;
        images.push({ ref, target: targetName, digest: descriptor.digest, status: 'unchanged' });
        continue;
      }
      if (opts.dryRun) {
        images.push({ ref, target: targetName, digest: descriptor.digest, status: 'pushed' });
        opts.log?.(`would push ${targetName} ${descriptor.digest}`);
        continue;
      }
      const root = await source.manifest(t.repository, descriptor.digest);
      await pushGraph(source, t.repository, target, t.repository, root, mountable, tagRef);
      images.push({ ref, target: targetName, digest: descriptor.digest, status: 'pushed' });
      opts.log?.(`pushed ${targetName} ${descriptor.digest}`);
    } catch (err) {
      images.push({ ref, target: targetName, digest: descriptor.digest, status: 'failed', error: (err as Error).message });
    }
  }
  return { images, stats: target.stats };
}
