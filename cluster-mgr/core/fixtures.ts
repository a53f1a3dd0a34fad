// Test fixtures for core's table tests (and the daemon's): one node snapshot with defaults, patched.
import type { NodeSnapshot } from './scheduling';

/** A Ready, untainted, schedulable worker `n1` (8 cpu, 16 memory, 110 pods; 2/4/3 in use), with `patch` applied. */
export const nodeSnapshot = (patch: Partial<NodeSnapshot> = {}): NodeSnapshot => ({
  name: 'n1',
  labels: { 'kubernetes.io/hostname': 'n1', zone: 'a', gen: '5' },
  taints: [],
  unschedulable: false,
  ready: true,
  allocatable: { cpu: 8, memory: 16, pods: 110 },
  allocated: { cpu: 2, memory: 4, pods: 3 },
  ...patch,
});
