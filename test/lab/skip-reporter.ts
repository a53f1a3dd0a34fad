// Prints, after the run, how many tests were skipped and why, plus a plain closing line
// `tests: N passed, N failed, N skipped` that CI can read.
import type { Reporter, RunnerTestFile, RunnerTask } from 'vitest';

function* allTests(tasks: readonly RunnerTask[]): Generator<RunnerTask> {
  for (const t of tasks) {
    if (t.type === 'suite') yield* allTests(t.tasks);
    else yield t;
  }
}

export default class SkipReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = []): void {
    let passed = 0;
    let failed = 0;
    const skipped: { name: string; reason: string }[] = [];
    for (const f of files) {
      if (f.result?.state === 'fail' && f.tasks.length === 0) failed++;
      for (const t of allTests(f.tasks)) {
        const state = t.result?.state;
        if (state === 'pass') passed++;
        else if (state === 'fail') failed++;
        else if (t.mode === 'skip' || t.mode === 'todo' || state === 'skip') {
          skipped.push({ name: `${f.name} > ${t.name}`, reason: t.meta?.skipReason ?? 'skipped in code' });
        }
      }
    }
    const out: string[] = [];
    if (skipped.length > 0) {
      const byReason = new Map<string, number>();
      for (const s of skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
      out.push(`\nskipped: ${skipped.length} test(s)`);
      for (const [reason, n] of byReason) out.push(`  ${n} × ${reason}`);
      for (const s of skipped) out.push(`    - ${s.name}`);
    }
    out.push(`tests: ${passed} passed, ${failed} failed, ${skipped.length} skipped`);
    process.stdout.write(`${out.join('\n')}\n`);
  }
}
