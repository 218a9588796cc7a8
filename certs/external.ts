// mode 'external': cert-manager or the user owns the Secret; Redline never writes it. What the
// Secret holds is judged (a serving certificate that is not usable is reported, not repaired), its
// ca.crt is what gets injected, and the next look follows the owner's renewals.

import { type AuthorityConfig, renewalTime } from './authority.js';
import { readSecretTexts, SECRET_KEYS, textOf } from './secret.js';
import type { SecretSnapshot } from './secret-store.js';
import { servingStatus, type ServingStatus } from './status.js';
import { splitPemBundle, tryParseCertificate } from './x509.js';

export interface ExternalView {
  serving: ServingStatus;
  /** The serving leaf (PEM), if any. */
  leaf: string | null;
  /** Parsable certificates of ca.crt: what is injected. */
  caBundle: string[];
  /** When to look again (ms): the earliest of the resync and the leaf's renewal time. */
  nextCheck: number;
}

export function externalView(snap: SecretSnapshot, cfg: Pick<AuthorityConfig, 'renewFraction'>, now: Date, resyncMs: number): ExternalView {
  const texts = readSecretTexts(snap.data);
  const servingPem = textOf(texts, SECRET_KEYS.servingCert) ?? '';
  const serving = servingStatus(servingPem, textOf(texts, SECRET_KEYS.servingKey), now);
  const caText = textOf(texts, SECRET_KEYS.caCert);
  const caBundle = caText === undefined ? [] : splitPemBundle(caText).filter((p) => tryParseCertificate(p) !== null);
  const leaf = splitPemBundle(servingPem)[0] ?? null;
  let nextCheck = now.getTime() + resyncMs;
  const info = leaf ? tryParseCertificate(leaf) : null;
  if (info) {
    const renew = renewalTime(info, cfg.renewFraction).getTime();
    if (renew > now.getTime()) nextCheck = Math.min(nextCheck, renew);
  }
  return { serving, leaf, caBundle, nextCheck };
}
