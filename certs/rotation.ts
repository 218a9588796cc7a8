// The rotation decisions CertManager adds to the authority's (authority.ts decide/apply): a rotation
// requested through the Secret's annotation (`redline certs rotate`), the two phases of a CA
// rotation, what a corrupt Secret still contributes, and which request a write fulfils. Pure but for
// the key generation inside apply(): no clock, no cluster, no logging.
//
// CA rotation is two-phase so no API server ever sees a serving certificate it does not trust yet:
//   A. the new CA goes into the Secret and the bundle (old CAs stay until they expire) while the
//      old serving certificate stays in service; the bundle is injected;
//   B. caRolloutDelayMs after the injection succeeded, decide() sees "serving certificate is not
//      signed by the current CA" and a serving certificate from the new CA is written.
// Serving renewals need no such care: their CA is already trusted.

import { type AuthorityConfig, type AuthorityState, type Decision, apply, decide, normalizeCaBundle } from './authority.js';
import { encodeSecretData, type Salvage } from './secret.js';
import { ANNOTATION_ROTATE, ANNOTATION_ROTATE_REQUESTED_AT } from '../core/vocabulary.js';
import { SECRET_LABELS, type SecretWrite } from './secret-store.js';
import { servingStatus } from './status.js';
import { type CertAndKey, type KeyPairPem, isIssuedBy, tryParseCertificate } from './x509.js';

export type RotationRequest = 'serving' | 'ca';

export type RotationAction = Decision['action'] | 'wait-ca-rollout';

/** When this process saw the bundle with a CA injected (phase A done). */
export interface Rollout {
  caFingerprint: string;
  confirmedAt: number;
}

export interface RotationContext {
  cfg: AuthorityConfig;
  now: Date;
  rollout: Rollout | null;
  caRolloutDelayMs: number;
  checkIntervalMs: number;
  generateKeyPair?: () => Promise<KeyPairPem>;
}

export interface RotationPlan {
  action: RotationAction;
  reason: string;
  /** The write that carries the plan out; absent: nothing to write. */
  write?: SecretWrite;
  state?: AuthorityState;
  /** A new CA was written while the old serving certificate stays in service. */
  phaseA?: boolean;
}

export function fingerprint(pem: string | undefined): string | null {
  return pem === undefined ? null : (tryParseCertificate(pem)?.fingerprintSha256 ?? null);
}

/** The rotation asked for on the Secret (annotation redline.dev/rotate), if any. */
export function rotationRequest(annotations: Readonly<Record<string, string>> | undefined): RotationRequest | 'invalid' | null {
  const v = annotations?.[ANNOTATION_ROTATE];
  if (v === undefined) return null;
  const t = v.trim().toLowerCase();
  return t === 'serving' || t === 'ca' ? t : 'invalid';
}

/** A serving pair that may stay in service (phase A): usable now and for a while, trusted by `bundle`. */
function keepable(serving: CertAndKey, bundle: readonly string[], now: Date, marginMs: number): boolean {
  const st = servingStatus(serving.certPem, serving.keyPem, now);
  if (!st.ready || !st.notAfter) return false;
  if (st.notAfter.getTime() - now.getTime() <= marginMs) return false;
  return bundle.some((ca) => isIssuedBy(serving.certPem, ca));
}

/** The serving certificate is still the previous CA's while the new CA is being rolled out. */
export function rolloutPending(state: AuthorityState, now: Date): boolean {
  return !isIssuedBy(state.serving.certPem, state.ca.certPem) && keepable(state.serving, state.caBundle, now, 0);
}

export function rolloutReadyAt(rollout: Rollout | null, caRolloutDelayMs: number): number {
  return rollout ? rollout.confirmedAt + caRolloutDelayMs : Number.POSITIVE_INFINITY;
}

/** What to do with the Secret's state (null: none or unusable), a salvage of a corrupt one, and a request. */
export async function planRotation(
  state: AuthorityState | null,
  salvaged: Salvage | null,
  request: RotationRequest | 'invalid' | null,
  ctx: RotationContext,
): Promise<RotationPlan> {
  const { cfg, now } = ctx;
  let decision = decide(state, cfg, now);
  const clearRequest = { [ANNOTATION_ROTATE]: null, [ANNOTATION_ROTATE_REQUESTED_AT]: null };
  // A forced rotation (redline certs rotate).
  if (state && request === 'ca' && decision.action !== 'issue-all' && decision.action !== 'renew-ca') {
    decision = { action: 'renew-ca', reason: `rotation of the CA requested (${ANNOTATION_ROTATE}=ca)` };
  } else if (state && request === 'serving' && (decision.action === 'none' || decision.action === 'update-bundle')) {
    decision = { action: 'renew-serving', reason: `rotation of the serving certificate requested (${ANNOTATION_ROTATE}=serving)` };
  }

  if (decision.action === 'none') {
    if (request === 'invalid') return { action: 'none', reason: 'invalid rotation request removed', write: { data: {}, annotations: clearRequest }, state: state! };
    return { action: 'none', reason: 'up to date' };
  }

  // Phase B of a CA rotation waits until the bundle with the new CA has been injected for a while.
  if (decision.action === 'renew-serving' && state && rolloutPending(state, now)) {
    const readyAt = rolloutReadyAt(ctx.rollout, ctx.caRolloutDelayMs);
    if (ctx.rollout?.caFingerprint !== fingerprint(state.ca.certPem) || now.getTime() < readyAt) {
      return { action: 'wait-ca-rollout', reason: 'the new CA is being rolled out; the serving certificate follows once the bundle has been injected' };
    }
    decision = { action: 'renew-serving', reason: `the CA bundle with the new CA was injected ${Math.round((now.getTime() - ctx.rollout.confirmedAt) / 1000)} s ago: serving certificate from the new CA` };
  }

  // Throws when the certificates cannot be issued (the caller counts and reports it).
  let next = await apply(state, decision, cfg, now, ctx.generateKeyPair ? { generateKeyPair: ctx.generateKeyPair } : {});
  let phaseA = false;
  if (decision.action === 'renew-ca' || decision.action === 'issue-all') {
    // Keep trusting what may still be served: previous CAs (also salvaged from a corrupt Secret).
    if (salvaged) next = { ...next, caBundle: normalizeCaBundle(next.ca.certPem, [...next.caBundle, ...salvaged.cas], now) };
    const old = state?.serving ?? salvaged?.serving ?? null;
    // Phase A: the old serving certificate stays in service while the new CA is rolled out.
    const margin = ctx.caRolloutDelayMs + 2 * ctx.checkIntervalMs + 60_000;
    if (old && ctx.caRolloutDelayMs > 0 && keepable(old, next.caBundle, now, margin)) {
      next = { ...next, serving: { ...old } };
      phaseA = true;
    }
  }
  const fulfils =
    request === 'invalid' ||
    (request === 'ca' && (decision.action === 'renew-ca' || decision.action === 'issue-all')) ||
    (request === 'serving' && next.serving.certPem !== state?.serving.certPem);
  return {
    action: decision.action,
    reason: decision.reason,
    state: next,
    phaseA,
    write: {
      data: encodeSecretData(next),
      labels: { ...SECRET_LABELS },
      ...(fulfils ? { annotations: clearRequest } : {}),
    },
  };
}

/** When a managed check should look again, after it left `state` in the Secret. */
export function nextManagedCheck(
  state: AuthorityState,
  ctx: RotationContext & { resyncMs: number; injectionComplete: boolean },
): number {
  const now = ctx.now.getTime();
  let next = now + ctx.resyncMs;
  const after = decide(state, ctx.cfg, ctx.now);
  if (after.action === 'none') next = Math.min(next, after.nextCheckAt.getTime());
  else if (rolloutPending(state, ctx.now)) next = Math.min(next, rolloutReadyAt(ctx.rollout, ctx.caRolloutDelayMs));
  else next = Math.min(next, now + ctx.checkIntervalMs);
  if (!ctx.injectionComplete) next = Math.min(next, now + Math.max(ctx.checkIntervalMs, 30_000));
  return Math.max(next, now);
}
