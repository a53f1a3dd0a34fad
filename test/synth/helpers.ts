// Test helpers: build constructs in a fresh chart and get their objects; walk pod specs.
import { App, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { readdirSync } from 'node:fs';
import { loadSite, type Site } from '../../infra/site/index';
import type { K8sObject } from '../../infra/synth/types';

/** Objects a construct builder creates, as cdk8s synthesizes them. */
export function objectsOf(build: (scope: Construct) => void): K8sObject[] {
  const app = new App({ outdir: '/nonexistent' });
  const chart = new Chart(app, 'test', { disableResourceNameHashes: true });
  build(chart);
  return chart.toJson() as K8sObject[];
}

export const ofKind = (objects: readonly K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
export const spec = (o: K8sObject | undefined) => (o as { spec: Record<string, any> } | undefined)?.spec ?? {}; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface PodSpecAt {
  readonly where: string;
  readonly podSpec: Record<string, unknown>;
}

/** Every pod spec in workload objects (Deployment, DaemonSet, StatefulSet, Job, CronJob). */
export function podSpecs(objects: readonly K8sObject[]): PodSpecAt[] {
  const out: PodSpecAt[] = [];
  for (const o of objects) {
    const s = (o as { spec?: Record<string, any> }).spec; // eslint-disable-line @typescript-eslint/no-explicit-any
    const where = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (['Deployment', 'DaemonSet', 'StatefulSet', 'Job'].includes(o.kind)) out.push({ where, podSpec: s?.template?.spec });
    if (o.kind === 'CronJob') out.push({ where, podSpec: s?.jobTemplate?.spec?.template?.spec });
  }
  return out;
}

/** The bundled examples' file names (`examples/*.yaml`), sorted. */
export const exampleFiles = (): string[] => readdirSync('examples').filter((f) => f.endsWith('.yaml')).sort();

/** Loads every bundled example into `into` (file name → validated Site); throws on an invalid one. */
export async function loadExamples(into: Map<string, Site>): Promise<void> {
  for (const f of exampleFiles()) {
    const r = await loadSite(`examples/${f}`);
    if (!r.ok) throw new Error(`${f} invalid`);
    into.set(f, r.value);
  }
}
