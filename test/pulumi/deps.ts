// The synthesis the mocked program tests run with: the real constructs, catalog and renderers.
import { chartsFor } from '../../infra/catalog/charts';
import type { ProgramDeps } from '../../infra/pulumi/program';
import { renderHostFiles } from '../../infra/render/index';
import { opsHostFiles, synthesizeCluster } from '../../infra/synth/index';

export const testDeps: ProgramDeps = { synthesizeCluster, renderHostFiles: (site) => [...renderHostFiles(site), ...opsHostFiles(site)] };
/** The catalog the chart versions are compared with. */
export const catalog = chartsFor;
