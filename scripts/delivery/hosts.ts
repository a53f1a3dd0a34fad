// Host configuration from the synthesized host files (destinations from infra/lib/host-files, the table
// the Pulumi host layer reads too): containerd mirror config on every node, then the API-VIP static
// pods (keepalived + haproxy) and their configs on masters, the edge keepalived config on edge nodes,
// the front HAProxy/keepalived on front hosts and cluster-mgr's unit on the ops host. A file is written
// only when its sha256 differs from the host's copy: every changed file goes to a temp file first; the
// extra files the configs refer to (CA, TLS) are renamed in, the new configs checked by their daemon
// (`haproxy -c`, `keepalived -t`; a rejection leaves the old ones), then renamed in at once, then each
// service whose files changed is restarted once. A second run changes nothing.
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { sha256Hex, walk } from './bundle';
import { CHECK_COMMANDS, hostFileDestination, restartScript, type HostFileDestination, type HostService, type HostStep } from '../../infra/lib/host-files';
import { shq } from '../../infra/lib/shell';
import { etcHostsWith } from '../../infra/render/bootstrap-registry';
import type { ExtraFile } from './site-hosts';
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
  const order: Record<HostStep, number> = { containerd: 0, 'api-vip': 1, 'edge-vip': 2, logs: 3, front: 4, ops: 5 };
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
  /** Services restarted (or reloaded) because their files changed. */
  readonly restarted?: string[];
  /** What the host still needs from someone else (the ops host: secrets `pulumi up` writes). */
  readonly notes?: string[];
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

export interface ConfigureOptions {
  readonly hostRoot?: string;
  readonly dryRun?: boolean;
  /** Rewrites a bundle file before it is compared and written (the bootstrap mirror in hosts.toml). */
  readonly transform?: (src: string, data: Buffer) => Buffer;
  /** Files that are not in the bundle, at their real host path (the bootstrap registry's CA). */
  readonly extra?: readonly ExtraFile[];
  /** The /etc/hosts line of the bootstrap registry (edited in place: /etc/hosts may be a bind mount); null removes it. */
  readonly etcHosts?: { path: string; entry: { address: string; host: string } | null };
}

export async function configureHost(pool: SshPool, node: { name: string; address: string }, siteDir: string, opts: ConfigureOptions): Promise<HostReport> {
  const base = join(siteDir, 'hosts', node.name);
  let srcs: string[] = [];
  try {
    srcs = await walk(base);
  } catch {
    srcs = [];
  }
  const { files } = planHostFiles(srcs);
  const root = opts.hostRoot ?? '/';
  const report = (status: HostReport['status'], changed: string[], unchanged: number, error?: string, restarted?: string[]): HostReport => ({
    node: node.name,
    address: node.address,
    status,
    changed,
    unchanged,
    ...(restarted?.length ? { restarted } : {}),
    ...(error !== undefined ? { error } : {}),
  });
  const eh = opts.etcHosts;
  if (files.length === 0 && !opts.extra?.length && !eh) return report('unchanged', [], 0);
  try {
    const local = [
      ...(opts.extra ?? []).map((e) => ({ mode: e.mode, data: e.data, path: e.dest, early: e.early ?? true, check: e.check, restart: e.restart })),
      ...(await Promise.all(
        files.map(async (f) => ({ mode: f.mode, data: (opts.transform ?? ((_s, d) => d))(f.src, await readFile(join(base, f.src))), path: hostPath(root, node.name, f.dest), check: f.check, restart: f.restart })),
      )),
    ] as { path: string; mode: string; data: Buffer; check?: HostFileDestination['check']; restart?: HostService; early?: boolean }[];
    const sums = await pool.exec(node.address, `for f in ${local.map((l) => shq(l.path)).join(' ')}; do [ -f "$f" ] && sha256sum "$f"; done; ${eh ? `echo @hosts; cat ${shq(eh.path)} 2>/dev/null; ` : ''}true`);
    if (sums.code !== 0) throw new Error(`reading current files failed: ${sums.stderr.trim()}`);
    const [sumText, hostsText] = sums.stdout.split('@hosts\n');
    const remote = parseSha256sum(sumText!);
    const todo = local.filter((l) => remote.get(l.path) !== sha256Hex(l.data));
    const hostsNext = eh ? etcHostsWith(hostsText ?? '', eh.entry ?? undefined) : undefined;
    const hostsChange = eh !== undefined && hostsNext !== (hostsText ?? '') && !(eh.entry === null && hostsText === undefined);
    const changed = [...todo.map((t) => t.path), ...(hostsChange ? [eh.path] : [])];
    const total = local.length + (eh ? 1 : 0);
    if (changed.length === 0) return report('unchanged', [], total);
    if (opts.dryRun) return report('would change', changed, total - changed.length);
    // 1. every changed file to a temp file next to it; the extra files (CA, TLS: what the configs refer
    //    to) renamed into place at once, so the checks below see them
    const tmpOf = (p: string) => `${p}.flotilla-tmp`;
    const dropTmps = (list: typeof todo) => (list.length ? pool.exec(node.address, `rm -f ${list.map((t) => shq(tmpOf(t.path))).join(' ')}`) : undefined);
    const moveIn = async (list: typeof todo) => {
      if (list.length === 0) return;
      const r = await pool.exec(node.address, list.map((t) => `mv -f ${shq(tmpOf(t.path))} ${shq(t.path)}`).join(' && '));
      if (r.code !== 0) throw new Error(`moving the new files into place failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    };
    for (const [i, t] of todo.entries()) {
      // large files (the cluster-mgr daemon's Node.js binary): a minute plus a second per MB
      const r = await pool.exec(node.address, `mkdir -p ${shq(posix.dirname(t.path))} && cat > ${shq(tmpOf(t.path))} && chmod ${t.mode} ${shq(tmpOf(t.path))}`, { stdin: t.data, timeoutMs: 60_000 + Math.ceil(t.data.byteLength / 1_000_000) * 1000 });
      if (r.code !== 0) {
        await dropTmps(todo.slice(0, i + 1));
        throw new Error(`writing ${t.path} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
      }
    }
    const early = todo.filter((t) => t.early);
    const rest = todo.filter((t) => !t.early);
    await moveIn(early);
    // 2. the daemons' own checks on the new configs (haproxy -c, keepalived -t): a rejection leaves the old ones in place
    for (const t of rest.filter((x) => x.check)) {
      const r = await pool.exec(node.address, CHECK_COMMANDS[t.check!](tmpOf(t.path)));
      if (r.code !== 0) {
        await dropTmps(rest);
        const lines = `${r.stderr.trim()}\n${r.stdout.trim()}`.trim().split('\n').filter(Boolean);
        const why = (lines.some((l) => /ALERT|error|invalid/i.test(l)) ? lines.filter((l) => /ALERT|error|invalid/i.test(l)) : lines.slice(-1)).slice(0, 3).join(' | ');
        throw new Error(`${t.check} rejects the new ${t.path}, the old config stays in place${early.length ? ` (written: ${early.map((e) => e.path).join(', ')})` : ''}: ${why || `exit ${r.code}`}`);
      }
    }
    // 3. the rest renamed into place at once
    await moveIn(rest);
    if (hostsChange) {
      // In place (same inode): /etc/hosts is often a bind mount (containers), which a rename would miss.
      const r = await pool.exec(node.address, `cat > ${shq(eh.path)}`, { stdin: hostsNext! });
      if (r.code !== 0) throw new Error(`writing ${eh.path} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
    // 4. each service whose files changed, once (haproxy and keepalived check their config again first)
    const restarted: string[] = [];
    const notes: string[] = [];
    for (const svc of [...new Set(todo.flatMap((t) => (t.restart ? [t.restart] : [])))]) {
      const r = await pool.exec(node.address, restartScript(svc, (p) => hostPath(root, node.name, p)));
      if (r.code !== 0) return report('failed', changed, total - changed.length, `files written, but restarting ${svc} failed: ${(r.stderr.trim() || `exit ${r.code}`).split('\n').slice(-3).join(' | ')}`);
      // a note on stderr: not restarted (no systemd for containerd, cluster-mgr without its secrets)
      if (r.stderr.trim()) notes.push(r.stderr.trim().split('\n').pop()!);
      else restarted.push(svc);
    }
    return { ...report('changed', changed, total - changed.length, undefined, restarted), ...(notes.length ? { notes } : {}) };
  } catch (err) {
    return report('failed', [], 0, (err as Error).message);
  }
}
