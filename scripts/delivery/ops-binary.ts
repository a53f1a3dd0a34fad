// cluster-mgr on the ops host, from the bundle: the built cluster-mgr image (scripts/image/build.ts)
// holds the Node.js binary and the daemon bundled into one file, and its entrypoint runs one with the
// other. `flotilla install` takes exactly those two files out of the image's layer (the entrypoint
// and environment read from the image config, so the ops host runs the daemon the Deployment runs)
// and writes them to /usr/local/lib/cluster-mgr/<version>/, plus /usr/local/bin/cluster-mgr, a small
// sh wrapper that finds them relative to its own path (so a --host-root prefix works too). The
// wrapper is checked on the host (`cluster-mgr --help` through the new wrapper) before it replaces the
// old one; a new version gets a folder of its own, so the running daemon's files are never touched.
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CLUSTER_MGR_IMAGE } from '../../constructs/federation-control';
import { HOST_PATHS } from '../../infra/lib/host-files';
import { shq } from '../../infra/lib/shell';
import { OciLayout, type BundleIndex } from './bundle';
import type { ExtraFile } from './site-hosts';

/** Where the daemon's files go: one folder per version (the image layer's digest). */
export const CLUSTER_MGR_LIB_DIR = '/usr/local/lib/cluster-mgr';

/**
 * The regular files `names` of a tar archive (ustar/pax/GNU, as GNU tar writes image layers): name →
 * content. Leading `./` and `/` are ignored on both sides; a later entry of the same name wins (as
 * extraction would); pax `path` and GNU long names are honoured. Pure.
 */
export function tarFiles(tar: Uint8Array, names: readonly string[]): Map<string, Buffer> {
  const norm = (n: string) => n.replace(/^(\.\/|\/)+/, '');
  const wanted = new Set(names.map(norm));
  const out = new Map<string, Buffer>();
  const buf = Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength);
  const str = (off: number, len: number) => {
    const b = buf.subarray(off, off + len);
    const end = b.indexOf(0);
    return b.subarray(0, end < 0 ? len : end).toString('utf8');
  };
  let off = 0;
  let longName: string | undefined;
  // Bounded: every step moves forward by at least one 512-byte block.
  while (off + 512 <= buf.length) {
    if (buf.subarray(off, off + 512).every((b) => b === 0)) break; // end of archive
    const size = parseInt(str(off + 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0) throw new Error(`tar: bad size field at offset ${off}`);
    const type = str(off + 156, 1) || '0';
    const prefix = str(off + 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${str(off, 100)}` : str(off, 100));
    const data = buf.subarray(off + 512, off + 512 + size);
    if (data.length < size) throw new Error(`tar: ${name} is cut short`);
    longName = undefined;
    if (type === 'x') {
      // pax extended header: "<len> key=value\n" records; only `path` matters here
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (m) longName = m[1];
    } else if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
    } else if ((type === '0' || type === '7') && wanted.has(norm(name))) {
      out.set(norm(name), Buffer.from(data));
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** The wrapper at /usr/local/bin/cluster-mgr: the image's environment, then its entrypoint from `../lib/cluster-mgr/<version>/`. */
export function renderClusterMgrWrapper(o: { ref: string; digest: string; version: string; entrypoint: readonly string[]; env: readonly string[]; files: readonly string[] }): string {
  const env = o.env.filter((e) => !e.startsWith('PATH=') && /^[A-Za-z_][A-Za-z0-9_]*=/.test(e));
  const rel = posix.relative(posix.dirname(HOST_PATHS.clusterMgrBinary), `${CLUSTER_MGR_LIB_DIR}/${o.version}`);
  return [
    '#!/bin/sh',
    `# cluster-mgr from the bundle's image ${o.ref} (${o.digest}), written by flotilla install:`,
    `# the image's entrypoint (${o.entrypoint.join(' ')}) with the files next to this script.`,
    `d="$(dirname "$(readlink -f "$0")")/${rel}"`,
    ...env.map((e) => `export ${e.slice(0, e.indexOf('='))}=${shq(e.slice(e.indexOf('=') + 1))}`),
    `exec ${o.files.map((f) => `"$d/${f}"`).join(' ')} "$@"`,
    '',
  ].join('\n');
}

export type OpsBinary =
  | { readonly ok: true; readonly files: ExtraFile[]; readonly version: string; readonly ref: string }
  | { readonly ok: false; readonly missing: string };

interface ImageConfig {
  readonly config?: { readonly Entrypoint?: readonly string[]; readonly Env?: readonly string[] };
}

/**
 * The files that put the bundle's cluster-mgr daemon on the ops host (at their host paths; install
 * applies its host root): the entrypoint's files (Node.js and the bundled daemon) and the wrapper, which restarts the
 * unit when it changes and is checked with `--help` before it replaces the old one. `missing` when
 * the bundle has no built cluster-mgr image.
 */
export async function opsBinaryFromBundle(bundleDir: string, index: Pick<BundleIndex, 'images'>): Promise<OpsBinary> {
  const img = index.images.find((i) => i.ref === CLUSTER_MGR_IMAGE && i.built);
  if (!img) return { ok: false, missing: `the bundle has no built ${CLUSTER_MGR_IMAGE} image (flotilla bundle builds it when the synth output's images.txt lists it)` };
  const layout = new OciLayout(join(bundleDir, 'images'));
  const blob = (digest: string) => readFile(layout.blobPath(digest));
  const manifest = JSON.parse((await blob(img.digest)).toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
  const config = JSON.parse((await blob(manifest.config.digest)).toString('utf8')) as ImageConfig;
  const entrypoint = config.config?.Entrypoint ?? [];
  if (entrypoint.length < 1 || !entrypoint.every((p) => p.startsWith('/'))) throw new Error(`${img.ref}: the image's entrypoint ${JSON.stringify(entrypoint)} is not a list of absolute paths (the interpreter and its script)`);
  // Later layers win, as in the container.
  const found = new Map<string, Buffer>();
  for (const l of manifest.layers) for (const [k, v] of tarFiles(gunzipSync(await blob(l.digest)), entrypoint)) found.set(k, v);
  const absent = entrypoint.filter((p) => !found.has(p.replace(/^\/+/, '')));
  if (absent.length > 0) throw new Error(`${img.ref}: ${absent.join(', ')} of its entrypoint are not regular files in its layers`);
  const version = manifest.layers.map((l) => l.digest.split(':')[1]!.slice(0, 12)).join('-');
  const names = entrypoint.map((p) => posix.basename(p));
  if (new Set(names).size !== names.length) throw new Error(`${img.ref}: the entrypoint's files ${entrypoint.join(', ')} share a name`);
  const dir = `${CLUSTER_MGR_LIB_DIR}/${version}`;
  const files: ExtraFile[] = entrypoint.map((p, i) => ({ dest: `${dir}/${names[i]}`, mode: i === 0 ? '0755' : '0644', data: found.get(p.replace(/^\/+/, ''))!, restart: 'cluster-mgr' }));
  const wrapper = renderClusterMgrWrapper({ ref: img.ref, digest: img.digest, version, entrypoint, env: config.config?.Env ?? [], files: names });
  files.push({ dest: HOST_PATHS.clusterMgrBinary, mode: '0755', data: Buffer.from(wrapper), restart: 'cluster-mgr', check: 'cluster-mgr', early: false });
  return { ok: true, files, version, ref: img.ref };
}

/** Removes the other versions' folders (after the new wrapper is in place). */
export function pruneOldVersionsScript(version: string, at: (p: string) => string = (p) => p): string {
  const lib = at(CLUSTER_MGR_LIB_DIR);
  return `for d in ${shq(lib)}/*/; do [ -d "$d" ] || continue; [ "$(basename "$d")" = ${shq(version)} ] || rm -rf "$d"; done`;
}
