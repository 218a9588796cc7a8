// The tenant ledger's record in the API server: one ConfigMap per tenant, `redline-ledger-<tenant>`
// in the ledger namespace (default redline-ledger, which holds nothing else), labelled
// app.kubernetes.io/component=ledger. serve watches them (so a write needs no read first) and
// writes with the resourceVersion it last saw: etcd refuses a write based on a stale copy (409),
// which is how any number of webhook replicas agree. After its own write the answer goes into the
// cache at once, so the next request of this replica builds on it without waiting for the watch.

import type { KubeConfig } from '@kubernetes/client-node';
import { isRedlineError, RedlineError } from '../core/errors.js';
import { ApiError, KubeApi, type KubeObject } from './api-client.js';
import { DEFAULT_INFORMER_BACKOFF, Informer, type InformerLogger } from './informer.js';

export const LEDGER_NAMESPACE = 'redline-ledger';
export const LEDGER_LABEL = 'app.kubernetes.io/component';
export const LEDGER_LABEL_VALUE = 'ledger';
/** The tenant a record belongs to. */
export const LEDGER_TENANT_LABEL = 'redline.dev/ledger-tenant';

export function ledgerName(tenant: string): string {
  return `redline-ledger-${tenant}`;
}

export interface LedgerRecord {
  /** null: no record yet (the first write creates it). */
  resourceVersion: string | null;
  data: Record<string, string>;
}

/** The write lost a race (code ledger-conflict): another writer changed the record since `resourceVersion`. */
export function isLedgerConflict(e: unknown): boolean {
  return isRedlineError(e, 'ledger-conflict');
}

export interface LedgerStoreOptions {
  kubeConfig: KubeConfig;
  namespace?: string;
  /** Per-call timeout of a ledger write or read; default 2 s (the webhook's own timeout is 5 s). */
  timeoutMs?: number;
  resyncMs?: number;
  logger?: InformerLogger;
  onError?: (err: unknown) => void;
  /** A tenant's record was added, changed or deleted (the controller re-queues the Tenant). */
  onChange?: (tenant: string) => void;
}

export class LedgerStore {
  readonly namespace: string;
  private api: KubeApi | undefined;
  private informer: Informer | undefined;

  constructor(private readonly opts: LedgerStoreOptions) {
    this.namespace = opts.namespace ?? LEDGER_NAMESPACE;
  }

  async start(): Promise<void> {
    if (this.api) return;
    this.api = await KubeApi.create({ kubeConfig: this.opts.kubeConfig, timeoutMs: this.opts.timeoutMs ?? 2_000 });
    const resyncMs = this.opts.resyncMs ?? 10 * 60_000;
    this.informer = new Informer({
      api: this.api,
      path: `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/configmaps`,
      name: 'ledger',
      apiVersion: 'v1',
      kind: 'ConfigMap',
      labelSelector: `${LEDGER_LABEL}=${LEDGER_LABEL_VALUE}`,
      backoff: DEFAULT_INFORMER_BACKOFF,
      ...(resyncMs > 0 ? { relistMs: resyncMs } : {}),
      ...(this.opts.logger ? { logger: this.opts.logger } : {}),
      ...(this.opts.onError ? { onRestart: this.opts.onError } : {}),
    });
    const onChange = this.opts.onChange;
    if (onChange) {
      const changed = (cm: KubeObject): void => {
        const tenant = cm.metadata.labels?.[LEDGER_TENANT_LABEL];
        if (tenant && cm.metadata.name === ledgerName(tenant)) onChange(tenant);
      };
      this.informer.on({ add: changed, update: (_a, b) => changed(b), delete: changed });
    }
    this.informer.start();
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
    this.api?.close();
  }

  synced(): boolean {
    return this.informer?.synced() ?? false;
  }

  /** The cached record; undefined before the first list (the ledger cannot be read yet). */
  cached(tenant: string): LedgerRecord | undefined {
    if (!this.informer?.synced()) return undefined;
    return toRecord(this.informer.get(ledgerName(tenant), this.namespace));
  }

  /** Reads the record from the API server (after a conflict: the cache is behind). */
  async fetch(tenant: string): Promise<LedgerRecord> {
    const cm = await this.client().getOptional<KubeObject>(this.path(tenant));
    if (cm) this.informer?.upsertIfNewer(cm);
    return toRecord(cm);
  }

  /**
   * Writes `data` if the record is still at `resourceVersion` (null: it must not exist yet).
   * Throws a ledger-conflict RedlineError when it is not; any other failure as it came.
   */
  async write(tenant: string, resourceVersion: string | null, data: Record<string, string>): Promise<string> {
    const name = ledgerName(tenant);
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: this.namespace,
        labels: { [LEDGER_LABEL]: LEDGER_LABEL_VALUE, 'app.kubernetes.io/name': 'redline', [LEDGER_TENANT_LABEL]: tenant },
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      data,
    };
    let stored: KubeObject;
    try {
      stored = resourceVersion
        ? await this.client().request<KubeObject>({ method: 'PUT', path: this.path(tenant), query: { fieldManager: 'redline-ledger' }, body })
        : await this.client().request<KubeObject>({ method: 'POST', path: this.collection(), query: { fieldManager: 'redline-ledger' }, body });
    } catch (e) {
      // 404 on a PUT: the controller swept the record since we saw it; re-read, then create it again.
      if (e instanceof ApiError && (e.status === 409 || (resourceVersion && e.notFound))) throw new RedlineError('ledger-conflict', e.message, { cause: e, status: 409 });
      throw e;
    }
    this.informer?.upsertIfNewer(stored);
    return stored.metadata.resourceVersion ?? '';
  }

  /**
   * Deletes the record if it is still at `resourceVersion` (the controller's sweep of records nothing
   * reads any more). 'changed': a webhook wrote it meanwhile, so it stays; 'gone': already deleted.
   */
  async remove(tenant: string, resourceVersion: string): Promise<'deleted' | 'changed' | 'gone'> {
    try {
      await this.client().request({
        method: 'DELETE',
        path: this.path(tenant),
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion } },
      });
    } catch (e) {
      if (e instanceof ApiError && e.notFound) return 'gone';
      if (e instanceof ApiError && e.status === 409) return 'changed';
      throw e;
    }
    return 'deleted';
  }

  /** Every cached record by tenant (metrics, status). */
  records(): Map<string, LedgerRecord> {
    const out = new Map<string, LedgerRecord>();
    for (const cm of this.informer?.list() ?? []) {
      const tenant = cm.metadata.labels?.[LEDGER_TENANT_LABEL];
      if (tenant && cm.metadata.name === ledgerName(tenant)) out.set(tenant, toRecord(cm));
    }
    return out;
  }

  private client(): KubeApi {
    if (!this.api) throw new Error('ledger store not started');
    return this.api;
  }

  private collection(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/configmaps`;
  }

  private path(tenant: string): string {
    return `${this.collection()}/${encodeURIComponent(ledgerName(tenant))}`;
  }
}

function toRecord(cm: KubeObject | undefined): LedgerRecord {
  if (!cm) return { resourceVersion: null, data: {} };
  const data = (cm['data'] ?? {}) as Record<string, string>;
  return { resourceVersion: cm.metadata.resourceVersion ?? null, data };
}
