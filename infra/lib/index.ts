// The leaf helpers module: pure helpers every layer may use — image references, IPv4/CIDR, DNS
// names, units, host-file destinations, pod requests, canonical JSON, shell quoting, line framing. It imports
// nothing of this project (node built-ins only), so the site model, constructs, renderers,
// synthesis, the CLI and cluster-mgr can all depend on it without a cycle. It lives in infra/
// because the top-level folders are fixed (DESIGN "The map") and infra/ is where the layers that
// need it start; test/imports.test.ts keeps it a leaf.
export * from './acme';
export * from './canonical';
export * from './dns';
export * from './host-files';
export * from './image';
export * from './lines';
export * from './net';
export * from './pod-requests';
export * from './shell';
export * from './units';
export * from './canary';
export * from './pod-logs';
