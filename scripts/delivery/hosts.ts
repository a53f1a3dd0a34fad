// Host configuration from the synthesized host files (paths as infra/render's RenderedFile.hostPath):
// containerd mirror config on every node, then the API-VIP static pods (keepalived + haproxy) and
// their configs on masters, and the edge keepalived config on edge nodes. A file is written only
// when its sha256 differs from the host's copy (atomic temp file + rename), so a second run changes nothing.
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { sha256Hex, walk } from './bundle';
import { hostFileDestination, type HostFileDestination, type HostStep } from '../../infra/lib/host-files';
import { shq } from '../../infra/lib/shell';
import type { SshPool } from './ssh';

export interface HostFile extends HostFileDestination {
  /** Path relative to `site/hosts/<node>/`. */
  readonly src: string;
}

/** The plan for one node: containerd files first, then API-VIP files; sorted within a step. */
export function planHostFiles(srcs: readonly string[]): { files: HostFile[]; ignored: string[] } {
  const files: HostFile[] = [];
  const ignored: string[] = [];
  for (const src of srcs) {
    const d = hostFileDestination(src);
    if (d) files.push({ src, ...d });
    else ignored.push(src);
  }
  const order: Record<HostStep, number> = { containerd: 0, 'api-vip': 1, 'edge-vip': 2, front: 3 };
  files.sort((a, b) => order[a.step] - order[b.step] || a.dest.localeCompare(b.dest));
  return { files, ignored };
}

/** `{node}` in the host root is replaced by the node name (staging trees; tests). */
export function hostPath(root: string, node: string, dest: string): string {
  const r = root.replaceAll('{node}', node);
  return r === '/' ? dest : posix.join(r, dest);
}

export interface HostReport {
  readonly node: string;
  readonly address: string;
  readonly status: 'changed' | 'unchanged' | 'failed' | 'would change';
  readonly changed: string[];
  readonly unchanged: number;
  readonly error?: string;
}

/** Parses `sha256sum` output into path → hex. */
export function parseSha256sum(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const r = /^([a-f0-9]{64}) [ *](.+)$/.exec(line);
    if (r) m.set(r[2]!, r[1]!);
  }
  return m;
}

export async function configureHost(
  pool: SshPool,
  node: { name: string; address: string },
  siteDir: string,
  opts: { hostRoot?: string; dryRun?: boolean },
): Promise<HostReport> {
  const base = join(siteDir, 'hosts', node.name);
  let srcs: string[] = [];
  try {
    srcs = await walk(base);
  } catch {
    srcs = [];
  }
  const { files } = planHostFiles(srcs);
  const root = opts.hostRoot ?? '/';
  const report = (status: HostReport['status'], changed: string[], unchanged: number, error?: string): HostReport => ({ node: node.name, address: node.address, status, changed, unchanged, error });
  if (files.length === 0) return report('unchanged', [], 0);
  try {
    const local = await Promise.all(files.map(async (f) => ({ f, data: await readFile(join(base, f.src)), path: hostPath(root, node.name, f.dest) })));
    const sums = await pool.exec(node.address, `for f in ${local.map((l) => shq(l.path)).join(' ')}; do [ -f "$f" ] && sha256sum "$f"; done; true`);
    if (sums.code !== 0) throw new Error(`reading current files failed: ${sums.stderr.trim()}`);
    const remote = parseSha256sum(sums.stdout);
    const todo = local.filter((l) => remote.get(l.path) !== sha256Hex(l.data));
    if (todo.length === 0) return report('unchanged', [], local.length);
    if (opts.dryRun) return report('would change', todo.map((t) => t.path), local.length - todo.length);
    for (const t of todo) {
      const tmp = `${t.path}.flotilla-tmp`;
      const r = await pool.exec(node.address, `mkdir -p ${shq(posix.dirname(t.path))} && cat > ${shq(tmp)} && chmod ${t.f.mode} ${shq(tmp)} && mv -f ${shq(tmp)} ${shq(t.path)}`, { stdin: t.data });
      if (r.code !== 0) throw new Error(`writing ${t.path} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
    return report('changed', todo.map((t) => t.path), local.length - todo.length);
  } catch (err) {
    return report('failed', [], 0, (err as Error).message);
  }
}
