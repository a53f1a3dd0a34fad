// The synthesis the mocked program tests run with.
import { renderHostFiles } from '../../infra/render/index';
import type { ProgramDeps } from '../../infra/pulumi/program';
import { fixtureCharts, fixtureSynth } from './fixtures';

export const testDeps: ProgramDeps = { synthesizeCluster: fixtureSynth, renderHostFiles: (site) => renderHostFiles(site) };
/** The catalog the chart versions are compared with. */
export const catalog = fixtureCharts;
