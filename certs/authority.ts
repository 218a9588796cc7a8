/**
 * Redline's self-managed webhook certificate authority: a pure rotation state
 * machine. `decide` inspects the current state at time `now` and says what to
 * do; `apply` carries the decision out and returns the new state. Neither
 * reads the clock or touches the cluster; the caller persists the state (see
 * secret.ts) and publishes `caBundle` to the webhook configuration.
 */
import { assertCertSettings, DEFAULT_CERT_SETTINGS } from '../core/settings/certs.js';
import {
  type CertAndKey,
  type CertInfo,
  type KeyPairPem,
  canonicalIp,
  generateKeyPair,
  isIssuedBy,
  issueCa,
  issueLeaf,
  keyMatchesCertificate,
  splitPemBundle,
  tryParseCertificate,
} from './x509.js';

export const DEFAULT_CA_LIFETIME_MS = DEFAULT_CERT_SETTINGS.caLifetimeMs;
export const DEFAULT_SERVING_LIFETIME_MS = DEFAULT_CERT_SETTINGS.servingLifetimeMs;
export const DEFAULT_RENEW_FRACTION = DEFAULT_CERT_SETTINGS.renewFraction;

export interface AuthorityConfig {
  serviceName: string;
  namespace: string;
  extraDnsNames?: string[];
  ipAddresses?: string[];
  /** Default 5 years (DEFAULT_CA_LIFETIME_MS). */
  caLifetimeMs: number;
  /** Default 90 days (DEFAULT_SERVING_LIFETIME_MS). */
  servingLifetimeMs: number;
  /** Renew once this fraction of a certificate's lifetime has elapsed. Default 2/3. */
  renewFraction: number;
}

/** AuthorityConfig with the lifetimes/fraction optional; see resolveAuthorityConfig. */
export type AuthorityConfigInput = Omit<AuthorityConfig, 'caLifetimeMs' | 'servingLifetimeMs' | 'renewFraction'> &
  Partial<Pick<AuthorityConfig, 'caLifetimeMs' | 'servingLifetimeMs' | 'renewFraction'>>;

export interface AuthorityState {
  ca: CertAndKey;
  serving: CertAndKey;
  /** PEMs: current CA first, then previous CAs not yet expired. */
  caBundle: string[];
}

export type Decision =
  | { action: 'none'; nextCheckAt: Date }
  | {
      /**
       * issue-all: no usable state, start a fresh authority.
       * renew-ca: new CA (+ new serving cert from it); previous CAs stay in the bundle until they expire.
       * renew-serving: new serving cert from the current CA.
       * update-bundle: certificates are fine but caBundle must be rewritten (expired CA pruned,
       *   current CA missing/not first, duplicates or garbage); no issuance.
       */
      action: 'issue-all' | 'renew-ca' | 'renew-serving' | 'update-bundle';
      reason: string;
    };

export interface ApplyOptions {
  /** Key source; defaults to a fresh RSA-2048 pair from node:crypto. Tests inject a pool. */
  generateKeyPair?: () => Promise<KeyPairPem>;
}

/** Fills in defaults and validates. Throws on an invalid configuration (programming/config error). */
export function resolveAuthorityConfig(input: AuthorityConfigInput): AuthorityConfig {
  const cfg: AuthorityConfig = {
    ...input,
    caLifetimeMs: input.caLifetimeMs ?? DEFAULT_CA_LIFETIME_MS,
    servingLifetimeMs: input.servingLifetimeMs ?? DEFAULT_SERVING_LIFETIME_MS,
    renewFraction: input.renewFraction ?? DEFAULT_RENEW_FRACTION,
  };
  assertCertSettings(cfg);
  return cfg;
}

/** DNS SANs of the serving certificate: short, namespaced and fully qualified service names, then extras. */
export function servingDnsNames(cfg: Pick<AuthorityConfig, 'serviceName' | 'namespace' | 'extraDnsNames'>): string[] {
  const { serviceName: s, namespace: n } = cfg;
  const names = [s, `${s}.${n}`, `${s}.${n}.svc`, `${s}.${n}.svc.cluster.local`, ...(cfg.extraDnsNames ?? [])];
  return [...new Set(names.map((d) => d.toLowerCase()))];
}

/** Time at which a certificate should be renewed: notBefore + fraction × (notAfter − notBefore). */
export function renewalTime(info: Pick<CertInfo, 'notBefore' | 'notAfter'>, fraction: number): Date {
  const nb = info.notBefore.getTime();
  return new Date(nb + fraction * (info.notAfter.getTime() - nb));
}

/**
 * The CA bundle to publish: `currentCaPem` first, then the CAs of `bundle` that parse, are CAs,
 * are not expired at `now`, and are not duplicates (by fingerprint). Order is preserved.
 */
export function normalizeCaBundle(currentCaPem: string, bundle: readonly string[], now: Date): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const current = splitPemBundle(currentCaPem)[0];
  const currentInfo = current === undefined ? null : tryParseCertificate(current);
  if (current !== undefined && currentInfo) {
    out.push(current);
    seen.add(currentInfo.fingerprintSha256);
  }
  for (const pem of bundle.flatMap((b) => splitPemBundle(b))) {
    const info = tryParseCertificate(pem);
    if (!info || !info.isCa || now.getTime() >= info.notAfter.getTime()) continue;
    if (seen.has(info.fingerprintSha256)) continue;
    seen.add(info.fingerprintSha256);
    out.push(pem);
  }
  return out;
}

/** Decides what (if anything) must change at time `now`. Never throws on bad state. */
export function decide(state: AuthorityState | null, cfg: AuthorityConfig, now: Date): Decision {
  if (!state) return { action: 'issue-all', reason: 'no existing certificate authority' };
  const t = now.getTime();

  // --- CA
  const ca = tryParseCertificate(state.ca.certPem);
  if (!ca) return { action: 'renew-ca', reason: 'CA certificate cannot be parsed' };
  if (!ca.isCa) return { action: 'renew-ca', reason: 'CA certificate is not a CA (basicConstraints CA:false)' };
  if (t < ca.notBefore.getTime()) {
    return { action: 'renew-ca', reason: `CA certificate not yet valid (notBefore ${ca.notBefore.toISOString()})` };
  }
  if (t >= ca.notAfter.getTime()) {
    return { action: 'renew-ca', reason: `CA certificate expired at ${ca.notAfter.toISOString()}` };
  }
  if (!keyMatchesCertificate(state.ca.certPem, state.ca.keyPem)) {
    return { action: 'renew-ca', reason: 'CA private key does not match CA certificate' };
  }
  const caRenewAt = renewalTime(ca, cfg.renewFraction);
  if (t >= caRenewAt.getTime()) {
    return {
      action: 'renew-ca',
      reason: `CA certificate reached renewal time ${caRenewAt.toISOString()} (expires ${ca.notAfter.toISOString()})`,
    };
  }

  // --- serving
  const sv = tryParseCertificate(state.serving.certPem);
  if (!sv) return { action: 'renew-serving', reason: 'serving certificate cannot be parsed' };
  if (!keyMatchesCertificate(state.serving.certPem, state.serving.keyPem)) {
    return { action: 'renew-serving', reason: 'serving private key does not match serving certificate' };
  }
  if (!isIssuedBy(state.serving.certPem, state.ca.certPem)) {
    return { action: 'renew-serving', reason: 'serving certificate is not signed by the current CA' };
  }
  const sanProblem = sanMismatch(sv, cfg);
  if (sanProblem) return { action: 'renew-serving', reason: sanProblem };
  if (t < sv.notBefore.getTime()) {
    return { action: 'renew-serving', reason: `serving certificate not yet valid (notBefore ${sv.notBefore.toISOString()})` };
  }
  if (t >= sv.notAfter.getTime()) {
    return { action: 'renew-serving', reason: `serving certificate expired at ${sv.notAfter.toISOString()}` };
  }
  const svRenewAt = renewalTime(sv, cfg.renewFraction);
  if (t >= svRenewAt.getTime()) {
    return {
      action: 'renew-serving',
      reason: `serving certificate reached renewal time ${svRenewAt.toISOString()} (expires ${sv.notAfter.toISOString()})`,
    };
  }

  // --- bundle
  const bundleProblem = bundleMismatch(state, ca, now);
  if (bundleProblem) return { action: 'update-bundle', reason: bundleProblem };

  // Earliest of: CA renewal, serving renewal, expiry of a previous CA (it must then be pruned).
  let next = Math.min(caRenewAt.getTime(), svRenewAt.getTime());
  for (const pem of state.caBundle) {
    const info = tryParseCertificate(pem);
    if (info && info.fingerprintSha256 !== ca.fingerprintSha256) next = Math.min(next, info.notAfter.getTime());
  }
  return { action: 'none', nextCheckAt: new Date(next) };
}

/**
 * Carries out `decision` at time `now` and returns the new state (the input is not mutated).
 * The returned bundle is always normalised (expired/invalid CAs pruned). With 'none' it just
 * returns the normalised state. If `state` is null every action is treated as 'issue-all'.
 */
export async function apply(
  state: AuthorityState | null,
  decision: Decision,
  cfg: AuthorityConfig,
  now: Date,
  opts: ApplyOptions = {},
): Promise<AuthorityState> {
  const genKey = opts.generateKeyPair ?? generateKeyPair;
  const action = state === null ? 'issue-all' : decision.action;

  const newCa = async (): Promise<CertAndKey> =>
    issueCa({
      commonName: `${cfg.serviceName}.${cfg.namespace}-ca@${Math.floor(now.getTime() / 1000)}`,
      notBefore: now,
      lifetimeMs: cfg.caLifetimeMs,
      key: await genKey(),
    });
  const newServing = async (ca: CertAndKey): Promise<CertAndKey> =>
    issueLeaf(ca, {
      commonName: `${cfg.serviceName}.${cfg.namespace}.svc`,
      dnsNames: servingDnsNames(cfg),
      ipAddresses: cfg.ipAddresses ?? [],
      notBefore: now,
      lifetimeMs: cfg.servingLifetimeMs,
      key: await genKey(),
    });

  switch (action) {
    case 'issue-all':
    case 'renew-ca': {
      const ca = await newCa();
      const serving = await newServing(ca);
      const previous = action === 'renew-ca' && state ? [state.ca.certPem, ...state.caBundle] : [];
      return { ca, serving, caBundle: normalizeCaBundle(ca.certPem, previous, now) };
    }
    case 'renew-serving': {
      const s = state as AuthorityState;
      const serving = await newServing(s.ca);
      return { ca: { ...s.ca }, serving, caBundle: normalizeCaBundle(s.ca.certPem, s.caBundle, now) };
    }
    case 'update-bundle':
    case 'none': {
      const s = state as AuthorityState;
      return { ca: { ...s.ca }, serving: { ...s.serving }, caBundle: normalizeCaBundle(s.ca.certPem, s.caBundle, now) };
    }
  }
}

function sanMismatch(sv: CertInfo, cfg: AuthorityConfig): string | null {
  const wantDns = servingDnsNames(cfg).slice().sort();
  const haveDns = [...new Set(sv.dnsNames.map((d) => d.toLowerCase()))].sort();
  const wantIp = [...new Set((cfg.ipAddresses ?? []).map((ip) => canonicalIp(ip) ?? ip))].sort();
  const haveIp = [...new Set(sv.ipAddresses)].sort();
  if (!sameList(wantDns, haveDns) || !sameList(wantIp, haveIp)) {
    return `serving certificate SANs [${[...haveDns, ...haveIp].join(', ')}] do not match configuration [${[
      ...wantDns,
      ...wantIp,
    ].join(', ')}]`;
  }
  return null;
}

function bundleMismatch(state: AuthorityState, ca: CertInfo, now: Date): string | null {
  const have = state.caBundle.map((pem) => tryParseCertificate(pem)?.fingerprintSha256 ?? '<unparsable>');
  const want = normalizeCaBundle(state.ca.certPem, state.caBundle, now).map(
    (pem) => tryParseCertificate(pem)?.fingerprintSha256 ?? '<unparsable>',
  );
  if (sameList(have, want)) return null;
  if (have[0] !== ca.fingerprintSha256) return 'CA bundle does not start with the current CA';
  const expired = state.caBundle.filter((pem) => {
    const info = tryParseCertificate(pem);
    return info !== null && now.getTime() >= info.notAfter.getTime();
  }).length;
  if (expired > 0) return `CA bundle contains ${expired} expired CA certificate(s)`;
  return 'CA bundle contains duplicate, unparsable or non-CA certificates';
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
