// Kubernetes name checks, the one place (RFC 1123 as Kubernetes applies it). Each check includes
// the length limit: a name the pattern accepts but the API server refuses is not a name.

/** A DNS label: namespaces, Services, most object names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_LABEL_MAX = 63;
/** A DNS subdomain: dot-separated DNS labels (Secrets, ConfigMaps, label key prefixes, DNS names). */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS_SUBDOMAIN_MAX = 253;
/** The name part of a label key, and a non-empty label value. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_NAME_MAX = 63;

export function isDnsLabel(s: string): boolean {
  return s.length <= DNS_LABEL_MAX && DNS_LABEL.test(s);
}

export function isDnsSubdomain(s: string): boolean {
  return s.length <= DNS_SUBDOMAIN_MAX && DNS_SUBDOMAIN.test(s);
}

/** A label value; the empty value is valid in Kubernetes, `nonEmpty` refuses it. */
export function isLabelValue(s: string, opts: { nonEmpty?: boolean } = {}): boolean {
  if (s === '') return !opts.nonEmpty;
  return s.length <= LABEL_NAME_MAX && LABEL_NAME.test(s);
}

/** A label key: `[prefix/]name`, the prefix a DNS subdomain. */
export function isLabelKey(s: string): boolean {
  const slash = s.lastIndexOf('/');
  const name = slash < 0 ? s : s.slice(slash + 1);
  if (slash >= 0 && !isDnsSubdomain(s.slice(0, slash))) return false;
  return name.length <= LABEL_NAME_MAX && LABEL_NAME.test(name);
}
