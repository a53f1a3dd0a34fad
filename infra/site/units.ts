// Re-export for cluster-mgr, which imports the parsers from here today.
// TODO(cluster-mgr engineer): import '../../infra/lib/units' in cluster-mgr, then delete this file.
export { parseDuration, parseQuantity } from '../lib/units';
