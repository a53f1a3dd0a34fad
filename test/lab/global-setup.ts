// Runs once before the suite: removes namespaces left by crashed earlier runs (only those whose
// owning process is gone, so concurrent runs are untouched).
import { sweepStaleNamespaces } from './netns';

export default function setup(): void {
  if (process.getuid?.() !== 0) return;
  const removed = sweepStaleNamespaces();
  if (removed.length > 0) console.log(`lab: removed ${removed.length} stale namespace(s) from earlier runs`);
}
