// The conformance suite against a real control plane: etcd + kube-apiserver + controller-manager (its
// namespace controller finalizes Terminating namespaces); no nodes are needed. One for the whole file.
import { runConformance } from './runner';
import { realTarget } from './targets';

// etcd is compacted every 2 s and Secrets have no watch cache, so an old resourceVersion of a Secret
// watch expires (410) within the run (see the case in suite.ts).
runConformance({
  kind: 'real',
  start: () => realTarget({ name: 'conformance', apiOnly: false, nodes: [], apiserverArgs: ['--etcd-compaction-interval=2s', '--watch-cache-sizes=secrets#0'] }),
  include: (c) => !c.ipv6,
});
