// Where tests find the shared folder (contract examples, pinned CRDs): `../shared` beside the
// repository root (CI clones it there), or `FLOTILLA_SHARED` when set. Never an absolute path in
// a test, and never the working directory: the root is found from this file's location.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../../scripts/lab/k8s-assets';

export { REPO_ROOT };

/** The shared folder: `$FLOTILLA_SHARED` if set, else `<repo root>/../shared`; throws naming where it looked. */
export function sharedDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.FLOTILLA_SHARED;
  const dir = fromEnv ? resolve(REPO_ROOT, fromEnv) : resolve(REPO_ROOT, '..', 'shared');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    const how = fromEnv ? `FLOTILLA_SHARED=${fromEnv}` : `../shared beside the repository root ${REPO_ROOT} (set FLOTILLA_SHARED to override)`;
    throw new Error(`shared folder not found: looked at ${dir} (${how})`);
  }
  return dir;
}

/** A path inside the shared folder, e.g. `sharedPath('contract', 'federation.example.yaml')`. */
export function sharedPath(...parts: string[]): string {
  return join(sharedDir(), ...parts);
}
