// Running a built OCI image layout under runc (Debian's OCI runtime) in tests: unpack the single
// layer into a bundle's rootfs and write the runtime spec — read-only root filesystem, the image's
// user, only the given capabilities, no new privileges. crun refuses this kernel's hybrid cgroup
// mounts ("cgroups in hybrid mode not supported"); runc runs on them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { BuiltImage } from '../../scripts/image/build';
import { makeDir } from '../lab/index';

export const RUNTIME = 'runc';

export interface ImageConfig {
  readonly User: string;
  readonly Entrypoint: string[];
  readonly Cmd?: string[];
  readonly Env: string[];
  readonly Labels: Record<string, string>;
}

/** The image config (`config` of the OCI image configuration) of a built image. */
export function imageConfig(img: BuiltImage): ImageConfig {
  const blob = (d: string) => readFileSync(join(img.layout, 'blobs', 'sha256', d.slice(7)), 'utf8');
  const manifest = JSON.parse(blob(img.digest)) as { config: { digest: string } };
  return (JSON.parse(blob(manifest.config.digest)) as { config: ImageConfig }).config;
}

export interface ContainerSpec {
  readonly args: readonly string[];
  readonly uid: number;
  readonly gid: number;
  /** Capabilities kept (bounding = effective = permitted). @default - none */
  readonly capabilities?: readonly string[];
  /** Extra mounts after /proc, /dev and /tmp (tmpfs). */
  readonly mounts?: readonly { destination: string; type: string; source: string; options?: string[] }[];
  /** Join this network namespace (`/var/run/netns/<name>`). @default - the host's network */
  readonly netnsPath?: string;
  readonly env?: readonly string[];
}

/** Writes `dir/config.json` and `dir/rootfs/` (the image's layer) for `runc run --bundle dir`. */
export function writeRuncBundle(img: BuiltImage, dir: string, c: ContainerSpec): void {
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(img.layout, 'blobs', 'sha256', img.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
  execFileSync('tar', ['-xzf', join(img.layout, 'blobs', 'sha256', manifest.layers[0]!.digest.slice(7)), '-C', rootfs]);
  const caps = [...(c.capabilities ?? [])];
  const spec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: c.uid, gid: c.gid },
      args: c.args,
      env: c.env ?? imageConfig(img).Env,
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: [] },
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'flotilla-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=16m'] },
      ...(c.mounts ?? []),
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, ...(c.netnsPath ? [{ type: 'network', path: c.netnsPath }] : [])],
    },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
}

/** `runc delete -f` that ignores a container already gone. */
export function deleteContainer(id: string): void {
  try {
    execFileSync(RUNTIME, ['delete', '-f', id], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

export interface TwoBuilds {
  a?: BuiltImage;
  b?: BuiltImage;
  readonly dir: string;
}

/**
 * Builds one image twice from scratch into a test folder (the reproducibility check compares them),
 * in the file's beforeAll; afterAll runs `cleanup` and removes the folder.
 */
export function buildTwice(name: string, build: (o: { out: string }) => Promise<BuiltImage>, timeoutMs: number, cleanup: () => void = () => {}): TwoBuilds {
  const built: TwoBuilds = { dir: makeDir(name) };
  beforeAll(async () => {
    built.a = await build({ out: join(built.dir, 'a') });
    built.b = await build({ out: join(built.dir, 'b') });
  }, timeoutMs);
  afterAll(() => {
    cleanup();
    rmSync(built.dir, { recursive: true, force: true });
  });
  return built;
}
