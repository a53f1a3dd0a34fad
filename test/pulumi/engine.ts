// The real Pulumi engine for tests: the `pulumi` CLI and the Kubernetes provider that
// scripts/pulumi-assets builds from the pinned Go modules. Programs run inline through the
// Automation API (the SDK serves the Node.js language host in-process), with a local file backend
// in a temp folder, a passphrase secrets provider, and the assets first on PATH so the engine uses
// those plugins ("ambient" plugins) and downloads nothing.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as automation from '@pulumi/pulumi/automation';
import type { TestContext } from 'vitest';
import { scriptAssets } from '../../scripts/lab/k8s-assets';
import { requireAssets } from '../lab/k8s-assets';

export const PULUMI_BINARIES = ['pulumi', 'pulumi-resource-kubernetes'] as const;

/** The directory holding the Pulumi engine binaries, or the reason there is none (with the fix). */
export const pulumiAssets = () => scriptAssets('pulumi-assets', PULUMI_BINARIES);

/** Opt-in switch of the real-engine tests (`FLOTILLA_REAL_PULUMI=1`): scripts/setup does not build the engine yet. */
export const REAL_PULUMI_ENV = 'FLOTILLA_REAL_PULUMI';

/**
 * Test guard: without FLOTILLA_REAL_PULUMI=1 the test is skipped with the reason (also under CI:
 * scripts/setup does not build the engine yet); with it, the engine binaries, else a failure under
 * CI=true and a recorded skip elsewhere.
 */
export function requirePulumi(ctx: TestContext): string {
  if (process.env[REAL_PULUMI_ENV] !== '1') {
    ctx.task.meta.skipReason = `real Pulumi engine tests are opt-in: run scripts/pulumi-assets --build, then set ${REAL_PULUMI_ENV}=1`;
    ctx.skip();
    return '';
  }
  return requireAssets(ctx, 'Pulumi engine binaries', pulumiAssets());
}
export const realPulumiWanted = (): boolean => process.env[REAL_PULUMI_ENV] === '1' && pulumiAssets().ok;

export interface InlineStack {
  readonly stack: automation.Stack;
  /** The backend folder (file://), holding the checkpoint. */
  readonly stateDir: string;
  /** Everything the engine printed during `up`/`destroy` calls so far. */
  readonly output: string[];
  up(): Promise<automation.UpResult>;
  /**
   * The checkpoint exactly as the backend stored it on disk (secrets as the engine wrote them). Not
   * `stack.exportStack()`: the Automation API runs `pulumi stack export --show-secrets`, which decrypts.
   */
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
    exportState: async () => {
      const stacks = join(stateDir, '.pulumi', 'stacks');
      const files = readdirSync(stacks, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json') && !f.includes('.bak'));
      if (files.length === 0) throw new Error(`no checkpoint under ${stacks}`);
      return files.map((f) => readFileSync(join(stacks, f), 'utf8')).join('\n');
    },
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
