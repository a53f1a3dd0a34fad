// Platform constructs: one per component (see docs/synth.md).
export * from './calico-network';
export * from './cert-manager-issuers';
export * from './common';
export * from './edge-gateway';
export * from './federation-control';
export * from './istio-mesh';
export * from './logging';
export * from './monitoring';
export * from './monitoring-dashboards';
export * from './registry';
export * from './storage';
export * from './app';
