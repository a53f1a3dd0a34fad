// Alert names and builders cluster-mgr raises (pure data; used by core decisions and adapters).
// Names are stable: Alertmanager routes and silences match on them.
import type { Alert } from './index';

export const AlertName = {
  MemberUnhealthy: 'FederationMemberUnhealthy',
  MemberRecovered: 'FederationMemberRecovered',
  FailoverDone: 'FederationFailoverDone',
  FailoverBlocked: 'FederationFailoverBlocked',
  FailoverDegraded: 'FederationFailoverDegraded',
  FailbackDegraded: 'FederationFailbackDegraded',
  MemberAuthFailed: 'FederationMemberAuthFailed',
  ReplicasUnschedulable: 'FederationReplicasUnschedulable',
  AutoscaleQueryFailing: 'FederationAutoscaleQueryFailing',
  TrafficSwitchFailed: 'FederationTrafficSwitchFailed',
  TrafficEndpointUnreachable: 'FederationTrafficEndpointUnreachable',
  Day2CheckWarning: 'FederationDay2CheckWarning',
  Day2CheckFailed: 'FederationDay2CheckFailed',
  Forbidden: 'FederationForbidden',
  Unauthorized: 'FederationUnauthorized',
  MemberKubeconfigMissing: 'FederationMemberKubeconfigMissing',
} as const;
export type AlertName = (typeof AlertName)[keyof typeof AlertName];

export const alerts = {
  memberUnhealthy(member: string, reason: string): Alert {
    return {
      name: AlertName.MemberUnhealthy,
      severity: 'critical',
      labels: { member },
      summary: `member ${member} is unhealthy`,
      description: reason,
    };
  },
  memberRecovered(member: string): Alert {
    return { name: AlertName.MemberRecovered, severity: 'info', labels: { member }, summary: `member ${member} recovered` };
  },
  failoverDone(member: string, detail: string): Alert {
    return { name: AlertName.FailoverDone, severity: 'warning', labels: { member }, summary: `traffic and replicas moved away from ${member}`, description: detail };
  },
  /** Replicas moved away from `member` but some are not ready elsewhere after readyTimeout; `detail` names the stuck pods and why. */
  failoverDegraded(member: string, detail: string): Alert {
    return { name: AlertName.FailoverDegraded, severity: 'critical', labels: { member }, summary: `failover away from ${member} completed degraded: replicas not ready elsewhere`, description: detail };
  },
  /** Traffic returned to `member` after readyTimeout although some of its replicas are not ready; `detail` names them. */
  failbackDegraded(member: string, detail: string): Alert {
    return { name: AlertName.FailbackDegraded, severity: 'warning', labels: { member }, summary: `traffic returned to ${member} with replicas not ready (readyTimeout)`, description: detail };
  },
  /** The member answers but rejects cluster-mgr's credentials (401/403): no failover, fix the kubeconfig or RBAC. */
  memberAuthFailed(member: string, reason: string): Alert {
    return { name: AlertName.MemberAuthFailed, severity: 'critical', labels: { member }, summary: `cluster-mgr cannot authenticate to member ${member} (no failover)`, description: reason };
  },
  failoverBlocked(member: string, reason: string): Alert {
    return { name: AlertName.FailoverBlocked, severity: 'critical', labels: { member }, summary: `failover away from ${member} blocked`, description: reason };
  },
  replicasUnschedulable(namespace: string, app: string, count: number, reason: string): Alert {
    return {
      name: AlertName.ReplicasUnschedulable,
      severity: 'warning',
      labels: { namespace, app },
      summary: `${count} replica(s) of ${namespace}/${app} fit on no member`,
      description: reason,
    };
  },
  /**
   * The app's autoscale query failed (count kept), or — `partial` — failed on some members' Prometheis
   * (the sum of the others is a lower bound: it may scale up, never down). Same name and labels either way.
   */
  autoscaleQueryFailing(namespace: string, app: string, reason: string, partial = false): Alert {
    return {
      name: AlertName.AutoscaleQueryFailing,
      severity: 'warning',
      labels: { namespace, app },
      summary: partial ? `autoscale query for ${namespace}/${app} failing on some members; scaling up only, never down` : `autoscale query for ${namespace}/${app} failing; replica count kept`,
      description: reason,
    };
  },
  trafficSwitchFailed(member: string, kind: string, reason: string): Alert {
    return {
      name: AlertName.TrafficSwitchFailed,
      severity: 'critical',
      labels: { member, switch: kind },
      summary: `${kind} traffic switch failed for ${member}`,
      description: reason,
    };
  },
  /** One endpoint of the traffic layer (a front host's runtime API) cannot be reached; labels switch, endpoint. */
  trafficEndpointUnreachable(kind: string, endpoint: string, reason: string): Alert {
    return {
      name: AlertName.TrafficEndpointUnreachable,
      severity: 'critical',
      labels: { switch: kind, endpoint },
      summary: `${kind} runtime API ${endpoint} is unreachable; cluster-mgr retries every pass`,
      description: reason,
    };
  },
  /** A day-2 check (spec.day2) warns for one target; labels check, kind, target. */
  day2CheckWarning(check: string, kind: string, target: string, message: string): Alert {
    return { name: AlertName.Day2CheckWarning, severity: 'warning', labels: { check, kind, target }, summary: `day-2 check ${check} (${kind}) warns for ${target}`, description: message };
  },
  /** A day-2 check (spec.day2) fails for one target; labels check, kind, target. */
  day2CheckFailed(check: string, kind: string, target: string, message: string): Alert {
    return { name: AlertName.Day2CheckFailed, severity: 'critical', labels: { check, kind, target }, summary: `day-2 check ${check} (${kind}) fails for ${target}`, description: message };
  },
  /** A cluster answered 403: cluster-mgr's RBAC there lacks `verb` on `resource`; labels member, verb, resource. */
  forbidden(member: string, verb: string, resource: string, message: string): Alert {
    return {
      name: AlertName.Forbidden,
      severity: 'critical',
      labels: { member, verb, resource },
      summary: `cluster-mgr may not ${verb} ${resource} on ${member} (HTTP 403): fix its RBAC there`,
      description: message,
    };
  },
  /** A cluster answered 401: the token cluster-mgr uses for it is wrong or expired; label member. */
  unauthorized(member: string, message: string): Alert {
    return { name: AlertName.Unauthorized, severity: 'critical', labels: { member }, summary: `${member} rejects cluster-mgr's credentials (HTTP 401): renew its token`, description: message };
  },
  /** A member's kubeconfig is missing or unusable (cluster-mgr cannot reach it at all); label member. */
  memberKubeconfigMissing(member: string, problem: string): Alert {
    return { name: AlertName.MemberKubeconfigMissing, severity: 'critical', labels: { member }, summary: `cluster-mgr has no usable kubeconfig for ${member}`, description: problem };
  },
};

/** The identity of an alert for resolve/dedupe: name + sorted labels. */
export function alertKey(a: Pick<Alert, 'name' | 'labels'>): string {
  const labels = Object.keys(a.labels)
    .sort()
    .map((k) => `${k}=${a.labels[k]}`)
    .join(',');
  return `${a.name}{${labels}}`;
}
