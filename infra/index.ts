// Pulumi program entry (Pulumi.yaml `main: infra/`): one stack = one site (or one environment of a
// site). Everything happens in infra/pulumi/: settings and inventory are validated, the site is
// synthesized (constructs + chart catalog + host renderers) and turned into components. Bad settings
// or inventory end the run with `FILE:LINE:COL PATH: message` lines (a pulumi.RunError, no trace).
import { runStack } from './pulumi/program';
import { renderHostFiles } from './render/index';
import { opsHostFiles, synthesizeCluster } from './synth/index';

// Host files: the nodes' and front hosts', plus cluster-mgr's unit and config on the ops host.
const stack = await runStack({ synthesizeCluster, renderHostFiles: (site) => [...renderHostFiles(site), ...opsHostFiles(site)] });

/** Site name and environment of this stack. */
export const site = stack.site;
export const environment = stack.environment;
/** True when charts and images come from the bundle and the site registry. */
export const airGapped = stack.airGapped;
export const registryUrl = stack.registryUrl;
/** Per cluster: API server, ingress VIPs, registry, Kibana, Grafana and cluster-mgr URLs. */
export const clusters = stack.clusters;
