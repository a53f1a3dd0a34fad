// `cluster-mgr canary promote|rollback APP --config F`: moves an app's Istio weights between its
// stable and canary subsets in steps (cluster-mgr/core/canary.ts plans them), on every member that
// has the app's VirtualService. Before each step it waits — up to --step-timeout — until the side
// that is about to get more traffic is ready there (the canary Deployment for promote, the stable
// one for rollback). Exit 0 done (or nothing to do), 1 a step failed (the weights stay where the
// last finished step left them, printed), 2 bad input.
import type { Command } from 'commander';
import { z } from 'zod';
import { parseDuration } from '../../infra/lib/units';
import { canaryName } from '../../infra/lib/canary';
import { KubeClient, KubeError, objectPath, sleep } from '../adapters/kube';
import { loadAppsDir, loadFederation, resolveFrom } from '../config/index';
import { canaryPlan, checkSteps, DEFAULT_STEPS, deploymentReadiness, readWeights, type Direction, type VirtualServiceObject } from '../core/canary';
import { deploymentName } from '../daemon/context';
import { action, badInput, ExitCode, UserError } from './exit';

const VS = 'networking.istio.io/v1';

/** One member as the canary commands use it. */
export interface CanaryMember {
  readonly name: string;
  getVirtualService(namespace: string, name: string, signal: AbortSignal): Promise<VirtualServiceObject | undefined>;
  /** Replaces the object (its resourceVersion guards against concurrent edits); returns the stored object. */
  putVirtualService(obj: VirtualServiceObject, signal: AbortSignal): Promise<VirtualServiceObject>;
  getDeployment(namespace: string, name: string, signal: AbortSignal): Promise<Record<string, unknown> | undefined>;
}

export interface CanaryRun {
  readonly direction: Direction;
  readonly namespace: string;
  /** VirtualService and stable Deployment name (the canary Deployment is `<name>-canary`). */
  readonly name: string;
  readonly steps: readonly number[];
  readonly stepTimeoutMs: number;
  /** Readiness poll period. @default 500 */
  readonly pollMs?: number;
  readonly log: (line: string) => void;
  readonly signal: AbortSignal;
}

export type CanaryOutcome = { readonly ok: true; readonly weights: Record<string, number> } | { readonly ok: false; readonly error: string; readonly weights: Record<string, number> };

const clean = (o: VirtualServiceObject): VirtualServiceObject => {
  const meta = { ...(o.metadata ?? {}) };
  delete meta.managedFields;
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: meta, spec: o.spec };
};

/** Runs the plan on every member in lock-step rounds; see the file comment. */
export async function runCanary(members: readonly CanaryMember[], r: CanaryRun): Promise<CanaryOutcome> {
  const key = `${r.namespace}/${r.name}`;
  const plans = new Map<CanaryMember, VirtualServiceObject[]>();
  const weights: Record<string, number> = {};
  for (const m of members) {
    const vs = await m.getVirtualService(r.namespace, r.name, r.signal);
    if (!vs) continue;
    const plan = canaryPlan(clean(vs), r.direction, r.steps);
    if (!plan.ok) return { ok: false, error: `${m.name}: ${plan.error}`, weights };
    const w = readWeights(vs);
    weights[m.name] = w.ok ? w.value.canary : NaN;
    plans.set(m, plan.value);
  }
  if (plans.size === 0) {
    return { ok: false, error: `no member has the VirtualService ${key}: declare spec.canary on the FederatedApp (cluster-mgr creates it), or pass the right --namespace`, weights };
  }
  const rounds = Math.max(...[...plans.values()].map((p) => p.length));
  if (rounds === 0) r.log(`${key}: nothing to ${r.direction} (canary at ${JSON.stringify(weights)})`);
  const side = r.direction === 'promote' ? canaryName(r.name) : r.name;
  for (let i = 0; i < rounds; i++) {
    for (const [m, plan] of plans) {
      if (!plan[i]) continue;
      const err = await waitReady(m, r, side);
      if (err) {
        const where = Object.entries(weights).map(([n, w]) => `${n} canary ${w}%`).join(', ');
        const fix = r.direction === 'promote' ? `fix the canary (kubectl -n ${r.namespace} describe deployment ${side}) and promote again, or roll back: cluster-mgr canary rollback` : `fix the stable Deployment ${side} and run the rollback again`;
        return { ok: false, error: `${r.direction} of ${key} stopped before step ${i + 1} of ${rounds}: ${err}; the weights stay at ${where} — ${fix}`, weights };
      }
    }
    for (const [m, plan] of plans) {
      const next = plan[i];
      if (!next) continue;
      const current = await m.getVirtualService(r.namespace, r.name, r.signal);
      const rv = (current?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
      const stored = await m.putVirtualService({ ...next, metadata: { ...next.metadata, ...(rv ? { resourceVersion: rv } : {}) } }, r.signal);
      const w = readWeights(stored);
      weights[m.name] = w.ok ? w.value.canary : NaN;
      r.log(`${m.name}: ${key} stable ${100 - weights[m.name]!}% / canary ${weights[m.name]}%`);
    }
  }
  return { ok: true, weights };
}

/** Polls until `deployment` is ready on `m`; an error text after the step timeout. */
async function waitReady(m: CanaryMember, r: CanaryRun, deployment: string): Promise<string | undefined> {
  const deadline = Date.now() + r.stepTimeoutMs;
  const polls = Math.ceil(r.stepTimeoutMs / (r.pollMs ?? 500)) + 1;
  let last = deploymentReadiness(undefined);
  let found = false;
  for (let i = 0; i < polls && !r.signal.aborted; i++) {
    const d = await m.getDeployment(r.namespace, deployment, r.signal);
    found = d !== undefined;
    last = deploymentReadiness(d);
    if (last.ready) return undefined;
    if (Date.now() >= deadline) break;
    await sleep(Math.min(r.pollMs ?? 500, Math.max(0, deadline - Date.now())), r.signal);
  }
  if (!found) return `on member ${m.name} there is no Deployment ${r.namespace}/${deployment}`;
  return `on member ${m.name} the Deployment ${r.namespace}/${deployment} has ${last.readyReplicas} of ${last.replicas} replicas ready after ${r.stepTimeoutMs / 1000}s`;
}

/** CanaryMember over a kubeconfig (client-node auth, bounded requests). */
export function kubeCanaryMember(name: string, kubeconfig: string, context: string | undefined, timeoutMs: number): CanaryMember {
  const client = new KubeClient({ name, kubeconfig, ...(context ? { context } : {}), timeoutMs });
  const get = async <T>(path: string, signal: AbortSignal): Promise<T | undefined> => {
    try {
      return await client.json<T>('GET', path, { signal });
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      throw err;
    }
  };
  return {
    name,
    getVirtualService: (ns, n, signal) => get(objectPath(VS, 'VirtualService', ns, n), signal),
    getDeployment: (ns, n, signal) => get(objectPath('apps/v1', 'Deployment', ns, n), signal),
    async putVirtualService(obj, signal) {
      const m = obj.metadata as { namespace: string; name: string };
      try {
        return await client.json<VirtualServiceObject>('PUT', objectPath(VS, 'VirtualService', m.namespace, m.name), { body: obj, signal });
      } catch (err) {
        if (err instanceof KubeError && err.status === 409) throw new Error(`VirtualService ${m.namespace}/${m.name} on ${name} was changed by someone else during the step: run the command again`);
        throw err;
      }
    },
  };
}

const Options = z.strictObject({
  config: z.string().min(1),
  apps: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  steps: z.string().optional(),
  stepTimeout: z.string().default('120s'),
});

function parseSteps(text: string | undefined): number[] {
  if (text === undefined) return [...DEFAULT_STEPS];
  const steps = text.split(',').map((s) => Number(s.trim()));
  const bad = checkSteps(steps);
  if (bad) throw new UserError(`--steps ${JSON.stringify(text)}: ${bad}`);
  return steps;
}

export function registerCanary(program: Command): void {
  const canary = program.command('canary').description("move an app's Istio traffic between its stable and canary versions, in steps");
  for (const direction of ['promote', 'rollback'] as const) {
    canary
      .command(`${direction} <app>`)
      .description(
        direction === 'promote'
          ? 'raise the canary weight step by step to 100, waiting before each step until the canary is ready on every member; exit 0, 1 failed, 2 bad input'
          : 'lower the canary weight step by step to where the last promote started (else 0), waiting for the stable Deployment; exit 0, 1 failed, 2 bad input',
      )
      .requiredOption('--config <file>', 'Federation YAML (the members)')
      .option('--apps <dir>', 'folder of FederatedApp documents (to find the app)')
      .option('-n, --namespace <ns>', "the app's namespace (when the app is not in the Federation file or --apps, e.g. a FederatedApp CR)")
      .option('--steps <list>', `canary weights, increasing, e.g. ${DEFAULT_STEPS.join(',')}`)
      .option('--step-timeout <duration>', 'how long each step waits for ready replicas', '120s')
      .action(
        action(async (app: string, raw: unknown) => {
          const opts = Options.parse(raw);
          const steps = parseSteps(opts.steps);
          const stepTimeoutMs = parseDuration(opts.stepTimeout);
          if (stepTimeoutMs === undefined || stepTimeoutMs <= 0) throw new UserError(`--step-timeout ${JSON.stringify(opts.stepTimeout)} is not a duration: expected e.g. 30s, 2m`);
          const fed = await loadFederation(opts.config);
          if (!fed.ok) return badInput(fed.errors, opts.config);
          const members = fed.value.spec.members;
          const known = [...fed.value.spec.apps];
          if (opts.apps) {
            const more = await loadAppsDir(opts.apps, members.map((m) => m.name));
            if (!more.ok) return badInput(more.errors, opts.apps);
            known.push(...more.value);
          }
          const found = known.find((a) => a.name === app && (opts.namespace === undefined || a.namespace === opts.namespace));
          const namespace = found?.namespace ?? opts.namespace ?? 'default';
          const name = found ? deploymentName(found) : app;
          const timeoutMs = Math.max(5000, parseDuration(fed.value.spec.health.requestTimeout ?? '5s') ?? 5000);
          const apis = members.map((m) => kubeCanaryMember(m.name, resolveFrom(opts.config, m.kubeconfig), m.context, timeoutMs));
          const ac = new AbortController();
          const stop = () => ac.abort();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          try {
            const out = await runCanary(apis, { direction, namespace, name, steps, stepTimeoutMs, signal: ac.signal, log: (l) => process.stdout.write(`${l}\n`) });
            if (!out.ok) throw new UserError(out.error, ExitCode.Failed);
            process.stdout.write(`${direction} of ${namespace}/${name} done: ${Object.entries(out.weights).map(([n, w]) => `${n} canary ${w}%`).join(', ')}\n`);
            return ExitCode.Ok;
          } finally {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
          }
        }),
      );
  }
}
