// The conformance suite against a real control plane: etcd + kube-apiserver + controller-manager (its
// namespace controller finalizes Terminating namespaces); no nodes are needed. One for the whole file.
import { runConformance } from './runner';
import { realTarget } from './targets';

runConformance({ kind: 'real', start: () => realTarget({ name: 'conformance', apiOnly: false, nodes: [] }), include: (c) => !c.ipv6 });
