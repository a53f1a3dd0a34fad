// The real Pulumi engine for tests: the `pulumi` CLI and the Kubernetes provider that
// scripts/pulumi-assets builds from the pinned Go modules. Programs run inline through the
// Automation API (the SDK serves the Node.js language host in-process), with a local file backend
// in a temp folder, a passphrase secrets provider, and the assets first on PATH so the engine uses
// those plugins ("ambient" plugins) and downloads nothing.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as automation from '@pulumi/pulumi/automation';
import type { TestContext } from 'vitest';
import { REPO_ROOT } from '../../scripts/lab/k8s-assets';
import { isCI } from '../lab/tools';

export const PULUMI_BINARIES = ['pulumi', 'pulumi-resource-kubernetes'] as const;

type AssetsResult = { readonly ok: true; readonly dir: string } | { readonly ok: false; readonly message: string };
let cached: AssetsResult | undefined;

/** The directory holding the Pulumi engine binaries, or the reason there is none (with the fix). */
export function pulumiAssets(): AssetsResult {
  if (cached) return cached;
  try {
    const dir = execFileSync(join(REPO_ROOT, 'scripts', 'pulumi-assets'), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    for (const b of PULUMI_BINARIES) accessSync(join(dir, b), constants.X_OK);
    cached = { ok: true, dir };
  } catch (err) {
    const e = err as { stderr?: Buffer | string; message: string };
    cached = { ok: false, message: (e.stderr ? String(e.stderr) : e.message).trim() || 'scripts/pulumi-assets failed' };
  }
  return cached;
}

/** Test guard: the engine binaries, else a failure under CI=true and a recorded skip elsewhere. */
export function requirePulumi(ctx: TestContext): string {
  const a = pulumiAssets();
  if (a.ok) return a.dir;
  const reason = `Pulumi engine binaries missing: ${a.message.split('\n')[0]} (run scripts/setup)`;
  if (isCI()) throw new Error(`required under CI=true: ${reason}`);
  ctx.task.meta.skipReason = reason;
  ctx.skip();
  return '';
}

export interface InlineStack {
  readonly stack: automation.Stack;
  /** The backend folder (file://), holding the checkpoint. */
  readonly stateDir: string;
  /** Everything the engine printed during `up`/`destroy` calls so far. */
  readonly output: string[];
  up(): Promise<automation.UpResult>;
  /** `pulumi stack export` as text. */
  exportState(): Promise<string>;
  /** Destroys the stack's resources and removes the backend folder. */
  dispose(opts?: { destroy?: boolean }): Promise<void>;
}

/** A fresh stack with a local backend running `program` inline on the real engine in `assets`. */
export async function inlineStack(assets: string, project: string, program: automation.PulumiFn): Promise<InlineStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'flotilla-pulumi-state-'));
  const home = mkdtempSync(join(tmpdir(), 'flotilla-pulumi-home-'));
  const path = `${assets}:${process.env.PATH ?? ''}`;
  process.env.PATH = path; // the Automation API runs the `pulumi` found on PATH
  const envVars: Record<string, string> = {
    PATH: path,
    PULUMI_HOME: home,
    PULUMI_CONFIG_PASSPHRASE: 'flotilla-test-passphrase',
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
  };
  const pulumiCommand = await automation.PulumiCommand.get({ skipVersionCheck: true });
  const stack = await automation.LocalWorkspace.createOrSelectStack(
    { stackName: 'test', projectName: project, program },
    { workDir: stateDir, envVars, pulumiCommand, projectSettings: { name: project, runtime: 'nodejs', backend: { url: `file://${stateDir}` } } },
  );
  const output: string[] = [];
  const onOutput = (s: string) => output.push(s);
  return {
    stack,
    stateDir,
    output,
    up: () => stack.up({ onOutput, color: 'never' }),
    exportState: async () => JSON.stringify(await stack.exportStack()),
    dispose: async (opts = {}) => {
      try {
        if (opts.destroy !== false) await stack.destroy({ onOutput, color: 'never' });
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
        rmSync(home, { recursive: true, force: true });
      }
    },
  };
}
