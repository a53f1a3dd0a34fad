// Day-2 checks shared by `flotilla check` and cluster-mgr: pure evaluations and thin probes.
// A leaf: imports nothing from the rest of the repository (test/imports.test.ts checks it).
export * from './evaluate';
export * from './probe';
