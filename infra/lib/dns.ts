// DNS-1123 names as Kubernetes and the inventory use them.

/** A DNS-1123 label: lowercase letters, digits and `-`, starting and ending alphanumeric (≤ 63). */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Dot-separated DNS-1123 labels (≤ 253 in all). */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const isDnsLabel = (v: string): boolean => v.length <= 63 && DNS1123_LABEL.test(v);
export const isDnsName = (v: string): boolean => v.length <= 253 && DNS1123_SUBDOMAIN.test(v);
