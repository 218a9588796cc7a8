// The one Secret that holds Redline's webhook certificate authority (certs/secret.ts has its data
// format): read it, create it, update it with optimistic concurrency. A write that lost a race
// (409: created meanwhile, or changed since our read) throws a 'secret-conflict' RedlineError; the caller re-reads
// and decides again. Nothing here judges certificates.
//
// Two implementations: KubeSecretStore (the API, through the controller's KubeApi so its rate
// limiter and leader write gate apply) and MemorySecretStore (tests, and a seam for local tools).

import { RedlineError } from '../core/errors.js';
import { CERT_SECRET_DEFAULTS, LABEL_MANAGED_BY, MANAGED_BY_REDLINE } from '../core/vocabulary.js';
import type { RequestSpec } from '../kube/api-client.js';

/** Field manager of the controller's writes to the Secret. */
export const SECRET_FIELD_MANAGER = 'redline-certs';

export const SECRET_LABELS: Readonly<Record<string, string>> = Object.freeze({
  'app.kubernetes.io/name': 'redline',
  'app.kubernetes.io/component': 'webhook-certificate',
  [LABEL_MANAGED_BY]: MANAGED_BY_REDLINE,
});

export interface SecretSnapshot {
  namespace: string;
  name: string;
  resourceVersion: string;
  type: string;
  /** base64 values, as in Secret.data. */
  data: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface SecretWrite {
  /** Keys to set (base64 values); keys not named are left alone on update. */
  data: Record<string, string>;
  /** Labels to set (merged into existing ones on update). */
  labels?: Record<string, string>;
  /** Annotations to set; null removes one. */
  annotations?: Record<string, string | null>;
}

export interface SecretStore {
  readonly namespace: string;
  readonly name: string;
  /** null when the Secret does not exist. */
  read(): Promise<SecretSnapshot | null>;
  /** Creates it (type kubernetes.io/tls); a 'secret-conflict' RedlineError if it exists by now. */
  create(write: SecretWrite): Promise<SecretSnapshot>;
  /** Updates it if still at `resourceVersion`; a 'secret-conflict' RedlineError otherwise. */
  update(resourceVersion: string, write: SecretWrite): Promise<SecretSnapshot>;
}

/** A write that lost a race: the Secret was created ('exists'), changed ('stale') or deleted ('gone') meanwhile. */
export function secretConflict(message: string): RedlineError {
  return new RedlineError('secret-conflict', message);
}

/** The call KubeSecretStore needs: KubeApi.request (kube/api-client.ts) satisfies it. */
export interface KubeRequester {
  request<T = unknown>(spec: RequestSpec): Promise<T>;
}

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
}

function statusOf(e: unknown): number | undefined {
  const s = (e as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

export class KubeSecretStore implements SecretStore {
  private readonly path: string;
  private readonly collection: string;
  private readonly fieldManager: string;

  constructor(
    private readonly api: KubeRequester,
    readonly namespace: string,
    readonly name: string,
    opts: { fieldManager?: string } = {},
  ) {
    this.collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
    this.path = `${this.collection}/${encodeURIComponent(name)}`;
    this.fieldManager = opts.fieldManager ?? SECRET_FIELD_MANAGER;
  }

  private snapshot(o: SecretObject): SecretSnapshot {
    return {
      namespace: this.namespace,
      name: this.name,
      resourceVersion: o.metadata?.resourceVersion ?? '',
      type: o.type ?? 'Opaque',
      data: { ...(o.data ?? {}) },
      labels: { ...(o.metadata?.labels ?? {}) },
      annotations: { ...(o.metadata?.annotations ?? {}) },
    };
  }

  async read(): Promise<SecretSnapshot | null> {
    try {
      return this.snapshot(await this.api.request<SecretObject>({ method: 'GET', path: this.path }));
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw e;
    }
  }

  async create(write: SecretWrite): Promise<SecretSnapshot> {
    const annotations = Object.fromEntries(Object.entries(write.annotations ?? {}).filter((kv): kv is [string, string] => kv[1] !== null));
    const body: SecretObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { ...(write.labels ?? {}) },
        ...(Object.keys(annotations).length ? { annotations } : {}),
      },
      type: 'kubernetes.io/tls',
      data: write.data,
    };
    try {
      return this.snapshot(
        await this.api.request<SecretObject>({ method: 'POST', path: this.collection, query: { fieldManager: this.fieldManager }, body }),
      );
    } catch (e) {
      if (statusOf(e) === 409) throw secretConflict(`secret ${this.namespace}/${this.name} was created by someone else meanwhile`);
      throw e;
    }
  }

  async update(resourceVersion: string, write: SecretWrite): Promise<SecretSnapshot> {
    // A JSON merge patch that carries metadata.resourceVersion is a conditional update: the API
    // server answers 409 when the Secret changed since that version. Only our keys are touched
    // (type, owner references, other labels/annotations/keys stay as they are).
    const patch = {
      metadata: {
        resourceVersion,
        ...(write.labels && Object.keys(write.labels).length ? { labels: write.labels } : {}),
        ...(write.annotations && Object.keys(write.annotations).length ? { annotations: write.annotations } : {}),
      },
      data: write.data,
    };
    try {
      return this.snapshot(
        await this.api.request<SecretObject>({
          method: 'PATCH',
          path: this.path,
          query: { fieldManager: this.fieldManager },
          body: patch,
          contentType: 'application/merge-patch+json',
        }),
      );
    } catch (e) {
      const s = statusOf(e);
      if (s === 409) throw secretConflict(`secret ${this.namespace}/${this.name} changed since resourceVersion ${resourceVersion}`);
      if (s === 404) throw secretConflict(`secret ${this.namespace}/${this.name} was deleted meanwhile`);
      throw e;
    }
  }
}

/**
 * An in-memory Secret with the API's concurrency rules (resourceVersion bumps on every change,
 * stale updates and duplicate creates conflict). `beforeWrite` lets a test change the Secret
 * "concurrently" right before a write lands; `onWrite` sees every accepted write.
 */
export class MemorySecretStore implements SecretStore {
  private current: SecretSnapshot | null = null;
  private rv = 0;
  readonly stats = { reads: 0, creates: 0, updates: 0, conflicts: 0 };
  beforeWrite: ((store: MemorySecretStore) => void) | undefined;
  onWrite: ((snapshot: SecretSnapshot) => void) | undefined;

  constructor(
    readonly namespace = CERT_SECRET_DEFAULTS.namespace,
    readonly name = CERT_SECRET_DEFAULTS.secretName,
  ) {}

  get writes(): number {
    return this.stats.creates + this.stats.updates;
  }

  /** The stored Secret (a copy), without counting a read. */
  peek(): SecretSnapshot | null {
    return this.current ? structuredClone(this.current) : null;
  }

  /** Replace the Secret from outside (a person, another tool); bumps resourceVersion. */
  set(s: { data: Record<string, string>; type?: string; labels?: Record<string, string>; annotations?: Record<string, string> } | null): void {
    if (s === null) {
      this.current = null;
      return;
    }
    this.current = {
      namespace: this.namespace,
      name: this.name,
      resourceVersion: String(++this.rv),
      type: s.type ?? 'kubernetes.io/tls',
      data: { ...s.data },
      labels: { ...(s.labels ?? {}) },
      annotations: { ...(s.annotations ?? {}) },
    };
  }

  /** Merge into the Secret from outside (e.g. add an annotation); bumps resourceVersion. */
  modify(fn: (s: SecretSnapshot) => void): void {
    if (!this.current) throw new RedlineError('internal', 'no secret');
    fn(this.current);
    this.current.resourceVersion = String(++this.rv);
  }

  async read(): Promise<SecretSnapshot | null> {
    this.stats.reads++;
    return this.peek();
  }

  async create(write: SecretWrite): Promise<SecretSnapshot> {
    this.beforeWrite?.(this);
    if (this.current) {
      this.stats.conflicts++;
      throw secretConflict('secret exists');
    }
    const annotations = Object.fromEntries(Object.entries(write.annotations ?? {}).filter((kv): kv is [string, string] => kv[1] !== null));
    this.set({ data: write.data, labels: write.labels ?? {}, annotations });
    this.stats.creates++;
    const snap = this.peek()!;
    this.onWrite?.(snap);
    return snap;
  }

  async update(resourceVersion: string, write: SecretWrite): Promise<SecretSnapshot> {
    this.beforeWrite?.(this);
    if (!this.current) {
      this.stats.conflicts++;
      throw secretConflict('secret was deleted');
    }
    if (this.current.resourceVersion !== resourceVersion) {
      this.stats.conflicts++;
      throw secretConflict(`stale resourceVersion ${resourceVersion} (now ${this.current.resourceVersion})`);
    }
    const c = this.current;
    Object.assign(c.data, write.data);
    Object.assign(c.labels, write.labels ?? {});
    for (const [k, v] of Object.entries(write.annotations ?? {})) {
      if (v === null) delete c.annotations[k];
      else c.annotations[k] = v;
    }
    c.resourceVersion = String(++this.rv);
    this.stats.updates++;
    const snap = this.peek()!;
    this.onWrite?.(snap);
    return snap;
  }
}
