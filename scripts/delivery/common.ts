// Shared pieces of the delivery commands: inventory loading, option parsing, the synth hand-off.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { formatError, loadSite, resolveFrom, type Site } from '../../infra/site/index';
import { parseDuration } from '../../infra/lib/units';
import { ExitCode, UserError } from '../cli/exit';
import { action } from '../cli/program';
import { parseEndpoints } from './oci';
import type { SshConfig } from './ssh';

/** Loads the inventory or throws a UserError (exit 2) listing every positioned error. */
export async function requireSite(file: string): Promise<Site> {
  const r = await loadSite(file);
  if (!r.ok) throw new UserError(`${file} is not a valid Site inventory:\n${r.errors.map(formatError).join('\n')}`, ExitCode.BadInput);
  return r.value;
}

/** Parses commander options with a zod schema; the first problem becomes a UserError naming the option. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const iss = r.error.issues[0]!;
    const key = String(iss.path[0] ?? '');
    const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const given = (raw as Record<string, unknown> | undefined)?.[key];
    const shown = given === undefined ? '' : ` ${JSON.stringify(Array.isArray(given) ? given[Number(iss.path[1] ?? 0)] : given)}`;
    throw new UserError(`${flag}${shown}: ${iss.message}`, ExitCode.BadInput);
  }
  return r.data;
}

/**
 * The commander action of a `<file> [options]` command: options parsed with `schema` (exit 2
 * naming the option), then the inventory loaded (exit 2 listing its errors), then `run`.
 */
export function siteAction<S extends z.ZodType>(schema: S, run: (file: string, o: z.output<S>, site: Site) => Promise<number | void>) {
  return action(async (file: string, raw: unknown) => {
    const o = parseOptions(schema, raw);
    return run(file, o, await requireSite(file));
  });
}

export function endpointsFrom(pairs: readonly string[]): Map<string, string> {
  const r = parseEndpoints(pairs);
  if (!r.ok) throw new UserError(r.error, ExitCode.BadInput);
  return r.map;
}

export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** `DIR/<site>` of a synth output (accepts the site folder itself too). */
export function siteDirOf(synthDir: string, site: string): string {
  const nested = join(synthDir, site);
  if (existsSync(nested)) return nested;
  if (existsSync(join(synthDir, 'images.txt')) || existsSync(join(synthDir, 'hosts'))) return synthDir;
  throw new UserError(`--synth-dir ${synthDir}: neither ${nested} nor a site folder (images.txt, hosts/) is there; run flotilla synth FILE --out ${synthDir}`, ExitCode.BadInput);
}

/** Runs `flotilla synth FILE --out TMP` as a subprocess (the CLI contract is the coupling). */
export async function runSynth(file: string): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'flotilla-synth-'));
  const bin = fileURLToPath(new URL('../../bin/flotilla.mjs', import.meta.url));
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'synth', file, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) await rm(out, { recursive: true, force: true });
  if (code !== 0) throw new UserError(`flotilla synth ${file} --out ${out} exited ${code}; fix it or pass --synth-dir`, code === 2 ? ExitCode.BadInput : ExitCode.Failed);
  return out;
}

/** SSH settings from the inventory (paths relative to the inventory file). */
export async function sshConfigFromSite(site: Site, inventoryFile: string, o: { acceptNewHostKeys?: boolean; timeoutMs?: number } = {}): Promise<SshConfig> {
  const s = site.spec.ssh;
  const keyFile = resolveFrom(inventoryFile, s.privateKeyFile);
  let privateKey: Buffer;
  try {
    privateKey = await readFile(keyFile);
  } catch (err) {
    throw new UserError(`spec.ssh.privateKeyFile ${JSON.stringify(s.privateKeyFile)}: cannot read ${keyFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): point it at the deployment key`, ExitCode.BadInput);
  }
  const knownHostsFile = resolveFrom(inventoryFile, s.knownHostsFile);
  if (!o.acceptNewHostKeys && !existsSync(knownHostsFile)) {
    throw new UserError(`spec.ssh.knownHostsFile ${JSON.stringify(s.knownHostsFile)}: ${knownHostsFile} does not exist: collect the host keys (ssh-keyscan, checked against the console) or pass --accept-new-host-keys`, ExitCode.BadInput);
  }
  return {
    user: s.user,
    port: s.port,
    privateKey,
    knownHostsFile,
    acceptNewHostKeys: o.acceptNewHostKeys,
    timeoutMs: o.timeoutMs ?? parseDuration(s.timeout) ?? 10_000,
    concurrency: s.concurrency,
    bastion: s.bastion ? { host: s.bastion.host, port: s.bastion.port, user: s.bastion.user ?? s.user } : undefined,
  };
}
