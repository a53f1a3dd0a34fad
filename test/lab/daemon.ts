// Moved to scripts/lab/ (shared with `flotilla demo --members real`); re-exported for tests.
export * from '../../scripts/lab/daemon';
