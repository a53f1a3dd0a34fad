// Test lab helpers: network-namespace hosts, real daemons with teardown, deadlines, free ports,
// real Kubernetes control planes, the shared folder.
export * from './cleanup';
export * from './daemon';
export * from './exec';
export * from './netns';
export * from './ports';
export * from './tools';
export * from './wait';
export * from './k8s-assets';
export * from './controlplane';
export * from './shared';
