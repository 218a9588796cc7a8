// caBundle injection: make every webhook entry of Redline's own ValidatingWebhookConfiguration and
// MutatingWebhookConfiguration trust the CA bundle, touching nothing else.
//
// Default: server-side apply with field manager `redline-cainjector`, sending per entry only
// `name` (the list-map key) and `clientConfig.caBundle`. Checked against kube-apiserver 1.20.2: the
// API server merges that into the stored object and validates the result, so required fields
// (sideEffects, admissionReviewVersions, clientConfig.url/service) need not be sent. `force` is set
// because whoever created the configuration with a caBundle (kubectl, Helm, a test) owns that field
// and a plain apply would be refused with a conflict; forcing takes over exactly the caBundle
// fields, nothing else. Every entry is always sent: leaving one out would drop our ownership of its
// caBundle and with it the value.
//
// Consequence of SSA (observed on 1.20): redline-cainjector co-owns each entry (name + caBundle).
// A GitOps tool that removes an entry with its own server-side apply is refused (422: the entry
// would be left with only name + caBundle). Delete the entry with an update/JSON patch, or use
// strategy 'json-patch' here: a JSON patch (a `test` of each entry's name, then `add` of its
// caBundle) records an Update-operation owner, which does not block another applier's removals.
//
// A configuration that does not exist is reported (found: false), never created: an apply of only
// caBundle would not be a valid object anyway (422).

import { splitPemBundle } from './x509.js';
import type { KubeRequester } from './secret-store.js';

export const CA_INJECTOR_FIELD_MANAGER = 'redline-cainjector';

export type WebhookConfigKind = 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration';

export interface InjectTargetResult {
  kind: WebhookConfigKind;
  name: string;
  found: boolean;
  /** Webhook entries in the configuration. */
  webhooks: number;
  /** Entries whose caBundle was changed by this call. */
  changed: number;
}

export interface InjectResult {
  targets: InjectTargetResult[];
  /** Every configured target exists, has at least one webhook, and every entry now carries the bundle. */
  complete: boolean;
}

export interface CaBundleInjector {
  /** Ensures every webhook entry's clientConfig.caBundle is `caBundlePem` (PEM text, CAs concatenated). */
  inject(caBundlePem: string): Promise<InjectResult>;
}

export interface KubeCaBundleInjectorOptions {
  /** Name of the ValidatingWebhookConfiguration; null/'' skips it. Default "redline". */
  validating?: string | null;
  /** Name of the MutatingWebhookConfiguration; null/'' skips it. Default "redline". */
  mutating?: string | null;
  fieldManager?: string;
  strategy?: 'apply' | 'json-patch';
}

interface WebhookConfigObject {
  metadata?: { name?: string; resourceVersion?: string };
  webhooks?: Array<{ name: string; clientConfig?: { caBundle?: string } }>;
}

const PLURAL: Record<WebhookConfigKind, string> = {
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
};

/** The bundle as the API stores it: base64 of the concatenated PEMs. */
export function encodeCaBundle(pem: string): string {
  return Buffer.from(pem, 'utf8').toString('base64');
}

/** Same certificates in the same order (line endings and surrounding whitespace ignored). */
export function sameBundle(caBundleBase64: string | undefined, pem: string): boolean {
  if (!caBundleBase64) return false;
  const have = splitPemBundle(Buffer.from(caBundleBase64, 'base64').toString('utf8'));
  const want = splitPemBundle(pem);
  return have.length === want.length && have.every((p, i) => p === want[i]);
}

function statusOf(e: unknown): number | undefined {
  const s = (e as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

export class KubeCaBundleInjector implements CaBundleInjector {
  readonly targets: ReadonlyArray<{ kind: WebhookConfigKind; name: string }>;
  private readonly fieldManager: string;
  private readonly strategy: 'apply' | 'json-patch';

  constructor(
    private readonly api: KubeRequester,
    opts: KubeCaBundleInjectorOptions = {},
  ) {
    const v = opts.validating === undefined ? 'redline' : opts.validating;
    const m = opts.mutating === undefined ? 'redline' : opts.mutating;
    this.targets = [
      ...(v ? [{ kind: 'ValidatingWebhookConfiguration' as const, name: v }] : []),
      ...(m ? [{ kind: 'MutatingWebhookConfiguration' as const, name: m }] : []),
    ];
    this.fieldManager = opts.fieldManager ?? CA_INJECTOR_FIELD_MANAGER;
    this.strategy = opts.strategy ?? 'apply';
  }

  async inject(caBundlePem: string): Promise<InjectResult> {
    const targets: InjectTargetResult[] = [];
    for (const t of this.targets) targets.push(await this.injectOne(t.kind, t.name, caBundlePem));
    return { targets, complete: targets.length > 0 && targets.every((t) => t.found && t.webhooks > 0) };
  }

  private async injectOne(kind: WebhookConfigKind, name: string, pem: string): Promise<InjectTargetResult> {
    const path = `/apis/admissionregistration.k8s.io/v1/${PLURAL[kind]}/${encodeURIComponent(name)}`;
    let obj: WebhookConfigObject;
    try {
      obj = await this.api.request<WebhookConfigObject>({ method: 'GET', path });
    } catch (e) {
      if (statusOf(e) === 404) return { kind, name, found: false, webhooks: 0, changed: 0 };
      throw e;
    }
    const hooks = obj.webhooks ?? [];
    const stale = hooks.filter((h) => !sameBundle(h.clientConfig?.caBundle, pem)).length;
    const result: InjectTargetResult = { kind, name, found: true, webhooks: hooks.length, changed: 0 };
    if (stale === 0 || hooks.length === 0) return result;
    const caBundle = encodeCaBundle(pem);
    try {
      if (this.strategy === 'apply') {
        await this.api.request({
          method: 'PATCH',
          path,
          query: { fieldManager: this.fieldManager, force: 'true' },
          contentType: 'application/apply-patch+yaml',
          body: {
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind,
            metadata: { name },
            webhooks: hooks.map((h) => ({ name: h.name, clientConfig: { caBundle } })),
          },
        });
      } else {
        await this.api.request({
          method: 'PATCH',
          path,
          query: { fieldManager: this.fieldManager },
          contentType: 'application/json-patch+json',
          // The test ops make the patch fail (instead of patching the wrong entry) if the list
          // changed since the read; the next check reads again.
          body: hooks.flatMap((h, i) => [
            { op: 'test', path: `/webhooks/${i}/name`, value: h.name },
            { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle },
          ]),
        });
      }
    } catch (e) {
      if (statusOf(e) === 404) return { kind, name, found: false, webhooks: 0, changed: 0 };
      throw e;
    }
    result.changed = stale;
    return result;
  }
}

/** An injector that records what it was given (tests; and a no-op target for inject: false setups). */
export class MemoryCaBundleInjector implements CaBundleInjector {
  bundle: string | null = null;
  calls = 0;
  changes = 0;
  failNext: Error | null = null;
  onInject: ((pem: string) => void) | undefined;

  async inject(caBundlePem: string): Promise<InjectResult> {
    this.calls++;
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      throw e;
    }
    const changed = this.bundle === null || splitPemBundle(this.bundle).join('') !== splitPemBundle(caBundlePem).join('');
    if (changed) {
      this.bundle = caBundlePem;
      this.changes++;
      this.onInject?.(caBundlePem);
    }
    return { targets: [{ kind: 'ValidatingWebhookConfiguration', name: 'memory', found: true, webhooks: 1, changed: changed ? 1 : 0 }], complete: true };
  }
}
