// `flotilla install` use case: verify → push images → containerd mirror config on every node →
// API-VIP static pods on masters → pulumi up (Automation API) or the exact next command.
// A failing host never stops the others; the result carries a per-host report.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import type { Site } from '../../infra/site/index';
import { verifyBundle, type VerifyProblem } from './bundle';
import { configureHost, type HostReport } from './hosts';
import { RegistryClient, registryUrl, type EndpointMap } from './oci';
import { pushLayout, type PushResult } from './push';
import type { SshPool } from './ssh';

export interface InstallOptions {
  readonly site: Site;
  readonly inventoryFile: string;
  readonly bundleDir: string;
  readonly publicKey: KeyObject;
  readonly endpoints?: EndpointMap;
  readonly pool?: SshPool;
  readonly hostRoot?: string;
  readonly dryRun?: boolean;
  readonly skipImages?: boolean;
  readonly skipHosts?: boolean;
  readonly skipPulumi?: boolean;
  /** Pulumi stack (stacks/Pulumi.<stack>.yaml). @default - the site name */
  readonly stack?: string;
  readonly log?: (line: string) => void;
}

export interface InstallResult {
  readonly verify: { ok: true; digest: string } | { ok: false; problems: VerifyProblem[] };
  readonly images?: PushResult & { error?: string };
  readonly hosts: HostReport[];
  readonly pulumi: { ran: boolean; ok: boolean; next?: string; summary?: string };
  readonly changed: boolean;
  readonly ok: boolean;
}

/** The exact next command when the pulumi CLI is absent. */
export function pulumiNextCommand(stack: string, inventoryFile: string, bundleDir: string): string {
  const project = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
  return `pulumi up --cwd ${project} --stack ${stack} --config flotilla:inventory=${resolve(inventoryFile)} --config flotilla:bundle=${resolve(bundleDir)}`;
}

function pulumiOnPath(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v pulumi'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function install(o: InstallOptions): Promise<InstallResult> {
  const log = o.log ?? (() => undefined);
  const v = await verifyBundle(o.bundleDir, o.publicKey);
  const verify = v.ok ? { ok: true as const, digest: v.digest } : v;
  const empty = { hosts: [], pulumi: { ran: false, ok: false }, changed: false, ok: false };
  if (!v.ok) return { verify, ...empty };
  log(`verified bundle ${v.digest}`);

  let images: InstallResult['images'];
  if (!o.skipImages && v.index.images.length > 0) {
    const target = new RegistryClient(registryUrl(o.site.spec.registry.host, o.endpoints));
    try {
      images = await pushLayout(join(o.bundleDir, 'images'), target, { dryRun: o.dryRun, log });
    } catch (err) {
      images = { images: [], stats: target.stats, error: (err as Error).message };
    }
  }

  const hosts: HostReport[] = [];
  if (!o.skipHosts && o.pool) {
    const pool = o.pool;
    const nodes = o.site.spec.clusters.flatMap((c) => c.nodes);
    const reports = await Promise.all(
      nodes.map((n) =>
        pool.limit(async () => {
          const r = await configureHost(pool, n, join(o.bundleDir, 'site'), { hostRoot: o.hostRoot, dryRun: o.dryRun });
          log(`${n.name}: ${r.status}${r.error ? ` — ${r.error}` : ''}`);
          return r;
        }),
      ),
    );
    hosts.push(...reports);
  }

  const imagesFailed = !!images && (!!images.error || images.images.some((i) => i.status === 'failed'));
  const hostsFailed = hosts.some((h) => h.status === 'failed');
  let pulumi: InstallResult['pulumi'] = { ran: false, ok: true, next: pulumiNextCommand(o.stack ?? o.site.metadata.name, o.inventoryFile, o.bundleDir) };
  if (!o.skipPulumi && !o.dryRun && !imagesFailed && !hostsFailed && pulumiOnPath()) {
    const project = fileURLToPath(new URL('../..', import.meta.url));
    if (existsSync(join(project, 'Pulumi.yaml'))) {
      try {
        const { LocalWorkspace } = await import('@pulumi/pulumi/automation');
        const stack = await LocalWorkspace.selectStack({ stackName: o.stack ?? o.site.metadata.name, workDir: project });
        await stack.setConfig('flotilla:inventory', { value: resolve(o.inventoryFile) });
        await stack.setConfig('flotilla:bundle', { value: resolve(o.bundleDir) });
        const up = await stack.up({ onOutput: (s) => log(s.trimEnd()) });
        pulumi = { ran: true, ok: up.summary.result === 'succeeded', summary: JSON.stringify(up.summary.resourceChanges ?? {}) };
      } catch (err) {
        pulumi = { ran: true, ok: false, summary: (err as Error).message.split('\n')[0], next: pulumi.next };
      }
    }
  }
  const changed =
    (images?.images.some((i) => i.status === 'pushed') ?? false) || hosts.some((h) => h.status === 'changed' || h.status === 'would change');
  return { verify, images, hosts, pulumi, changed, ok: !imagesFailed && !hostsFailed && pulumi.ok };
}
