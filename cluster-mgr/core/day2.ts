// What a day-2 check result means (pure): its status on the dashboard and metrics, and which alerts
// should fire or be resolved. The daemon applies the alert decision through its fire-once /
// resolve-once tracking (leader only), so re-applying the same verdict every run is harmless.
//
//   severity │ status  │ fire                       │ resolve
//   ─────────┼─────────┼────────────────────────────┼──────────────────────────────────────
//   pass     │ ok      │ –                          │ Day2CheckWarning, Day2CheckFailed
//   warn     │ warn    │ Day2CheckWarning (warning) │ Day2CheckFailed   (de-escalation)
//   fail     │ fail    │ Day2CheckFailed (critical) │ Day2CheckWarning  (escalation)
//   skip     │ unknown │ –                          │ – (not reachable: what fires keeps firing)
import type { Severity } from '../../infra/day2/evaluate';
import { alerts } from '../contracts/alerts';
import type { Alert } from '../contracts/index';

export type Day2Status = 'ok' | 'warn' | 'fail' | 'unknown';
export const DAY2_STATUSES: readonly Day2Status[] = ['ok', 'warn', 'fail', 'unknown'];

export interface Day2Result {
  /** The check's name (spec.day2.checks[].name). */
  readonly check: string;
  readonly kind: string;
  readonly target: string;
  readonly severity: Severity;
  readonly message: string;
}

export interface Day2Verdict {
  readonly status: Day2Status;
  /** Resolve these first (only those firing are sent). */
  readonly resolve: readonly Alert[];
  /** Then fire this (once: nothing is sent while it already fires). */
  readonly fire?: Alert;
}

export function judgeDay2(r: Day2Result): Day2Verdict {
  const warning = alerts.day2CheckWarning(r.check, r.kind, r.target, r.message);
  const failed = alerts.day2CheckFailed(r.check, r.kind, r.target, r.message);
  switch (r.severity) {
    case 'pass':
      return { status: 'ok', resolve: [warning, failed] };
    case 'warn':
      return { status: 'warn', resolve: [failed], fire: warning };
    case 'fail':
      return { status: 'fail', resolve: [warning], fire: failed };
    case 'skip':
      return { status: 'unknown', resolve: [] };
  }
}
