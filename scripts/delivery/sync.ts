// Registry sync between sites: repositories of the source matching the mirror patterns, incremental
// (a tag already at the source's digest is skipped; blobs the target has are skipped), with a status
// file that `flotilla check` reads for the sync lag.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readSyncStatus, type SyncStatus, type SyncStatusFile } from '../../infra/day2/index';
import { pushGraph, registrySource, RegistryClient, type MountSources } from './oci';

export { readSyncStatus, type SyncStatus, type SyncStatusFile };

/** `platform/*` style patterns: `*` matches within one path segment, `**` across segments. */
export function repoMatcher(patterns: readonly string[]): (repo: string) => boolean {
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('**')
          .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
          .join('.*')}$`,
      ),
  );
  return (repo) => res.some((r) => r.test(repo));
}

export interface SyncOptions {
  readonly patterns: readonly string[];
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
}

export async function syncRegistries(source: RegistryClient, target: RegistryClient, o: SyncOptions): Promise<Omit<SyncStatus, 'lastSuccessAt'>> {
  const now = o.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const match = repoMatcher(o.patterns);
  const errors: string[] = [];
  const mountable: MountSources = new Map();
  const src = registrySource(source);
  let repositories = 0;
  let tags = 0;
  let upToDate = 0;
  let copied = 0;
  let repos: string[] = [];
  try {
    repos = (await source.catalog()).filter(match).sort();
  } catch (err) {
    errors.push(`list repositories of ${source.baseUrl}: ${(err as Error).message}`);
  }
  for (const repo of repos) {
    repositories++;
    let repoTags: string[] = [];
    try {
      repoTags = await source.tags(repo);
    } catch (err) {
      errors.push(`${repo}: ${(err as Error).message}`);
      continue;
    }
    for (const tag of repoTags) {
      tags++;
      try {
        const m = await source.getManifest(repo, tag);
        if ((await target.headManifest(repo, tag)) === m.digest) {
          upToDate++;
          continue;
        }
        await pushGraph(src, repo, target, repo, m, mountable, tag);
        copied++;
        o.log?.(`synced ${repo}:${tag} ${m.digest}`);
      } catch (err) {
        errors.push(`${repo}:${tag}: ${(err as Error).message}`);
      }
    }
  }
  return {
    source: source.baseUrl,
    target: target.baseUrl,
    startedAt,
    finishedAt: now().toISOString(),
    ok: errors.length === 0,
    repositories,
    tags,
    manifestsCopied: copied,
    tagsUpToDate: upToDate,
    blobsCopied: target.stats.blobsPushed,
    blobsMounted: target.stats.blobsMounted,
    blobsSkipped: target.stats.blobsSkipped,
    errors,
  };
}

/** The status file: one entry per source registry host. */
/** Records one source's run atomically, carrying `lastSuccessAt` over from the previous run on failure. */
export async function writeSyncStatus(file: string, sourceHost: string, run: Omit<SyncStatus, 'lastSuccessAt'>): Promise<SyncStatus> {
  const prev = await readSyncStatus(file);
  const status: SyncStatus = { ...run, lastSuccessAt: run.ok ? run.finishedAt : prev?.sources[sourceHost]?.lastSuccessAt };
  const doc: SyncStatusFile = { sources: { ...(prev?.sources ?? {}), [sourceHost]: status } };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return status;
}
