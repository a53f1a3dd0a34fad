// Test lab helpers: network-namespace hosts, real daemons with teardown, deadlines, free ports.
export * from './cleanup';
export * from './daemon';
export * from './exec';
export * from './netns';
export * from './ports';
export * from './tools';
export * from './wait';
export * from './shared';
