// Where the webhook learns which namespaces it enforces and with which plan — tenants
// (`redline.dev/tenant`), and namespaces being offboarded (`redline.dev/managed: "true"` left
// after the tenant label, see isEnforcedNamespace in webhook/label-guard.ts): a static file of
// Namespace manifests for development and CI (its StorageClasses and PodDisruptionBudgets, if
// any, stand in for the cluster's: see cluster-facts-source.ts), or a cluster informer for
// `serve`. Both answer `get(name)` from memory with every label; the hot path never waits on the
// API server.

import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { errorMessage, RedlineError } from '../core/errors.js';
import type { NamespaceInfo, PdbInfo, StorageClassInfo } from '../policies/engine/types.js';
import { KubeApi, type KubeObject } from './api-client.js';
import { pdbInfo, StaticClusterFacts, storageClassInfo } from './cluster-facts-source.js';
import { Informer } from './informer.js';
import type { ClusterCacheOptions } from './watched-source.js';

export interface NamespaceSource {
  /** "file" and "static" know every namespace there is; "cluster" may lag a just-created one. */
  readonly kind: 'file' | 'cluster' | 'static';
  get(name: string): NamespaceInfo | undefined;
  /** True once the first full list is in memory (stays true while a broken watch restarts). */
  synced(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function toInfo(ns: { metadata?: { name?: string; labels?: Record<string, string> | undefined } | undefined }): NamespaceInfo | undefined {
  const name = ns.metadata?.name;
  if (!name) return undefined;
  return { name, labels: { ...(ns.metadata?.labels ?? {}) } };
}

// ---------------------------------------------------------------------------------------------
// Static

export class StaticNamespaceSource implements NamespaceSource {
  readonly kind = 'static' as const;
  private readonly byName = new Map<string, NamespaceInfo>();
  constructor(namespaces: Iterable<NamespaceInfo> = []) {
    for (const ns of namespaces) this.byName.set(ns.name, ns);
  }
  get(name: string): NamespaceInfo | undefined {
    return this.byName.get(name);
  }
  synced(): boolean {
    return true;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------
// File

/** The `--namespaces` file is unusable: a 'namespace-file-invalid' RedlineError listing every problem. */
export function namespaceFileError(file: string, problems: string[], cause?: unknown): RedlineError {
  return new RedlineError('namespace-file-invalid', `${file}: ${problems.join('; ')}`, { problems, cause });
}

/** What the `--namespaces` file says about the cluster. */
export interface NamespaceFile {
  namespaces: NamespaceInfo[];
  /** StorageClasses in the file (with creationTimestamp, '' when absent, to pick among several defaults). */
  storageClasses: { info: StorageClassInfo; created: string }[];
  pdbs: PdbInfo[];
}

/**
 * Parse multi-document YAML of Namespace manifests (a `kind: List` / `NamespaceList` with `items`
 * works too, as printed by `kubectl get ns -o yaml`). StorageClasses and PodDisruptionBudgets are
 * read as well (what `serve` would otherwise watch); other kinds are ignored.
 */
export function parseNamespaceFile(text: string, file = '<namespaces>'): NamespaceFile {
  const problems: string[] = [];
  const out: NamespaceFile = { namespaces: [], storageClasses: [], pdbs: [] };
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    for (const err of doc.errors) {
      const pos = err.linePos?.[0];
      problems.push(`document ${i + 1}${pos ? ` line ${pos.line} column ${pos.col}` : ''}: ${err.message.split('\n')[0]}`);
    }
    if (doc.errors.length) return;
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const visit = (v: unknown, where: string): void => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        problems.push(`${where}: not a Kubernetes object`);
        return;
      }
      const o = v as Record<string, unknown>;
      if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) {
        o.items.forEach((item, j) => visit(item, `${where} items[${j}]`));
        return;
      }
      const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
      if (o.kind === 'StorageClass' && apiVersion.startsWith('storage.k8s.io/')) {
        const info = storageClassInfo(o);
        if (!info) problems.push(`${where}: StorageClass without metadata.name`);
        else {
          const created = (o.metadata as Record<string, unknown>)['creationTimestamp'];
          out.storageClasses.push({ info, created: typeof created === 'string' ? created : created instanceof Date ? created.toISOString() : '' });
        }
        return;
      }
      if (o.kind === 'PodDisruptionBudget' && apiVersion.startsWith('policy/')) {
        const info = pdbInfo(o);
        if (!info) problems.push(`${where}: PodDisruptionBudget without metadata.name`);
        else if (!info.namespace) problems.push(`${where} (${info.name}): PodDisruptionBudget without metadata.namespace; write the namespace it protects`);
        else out.pdbs.push(info);
        return;
      }
      if (o.kind !== 'Namespace') return;
      const md = o.metadata as { name?: unknown; labels?: unknown } | undefined;
      if (!md || typeof md.name !== 'string' || md.name === '') {
        problems.push(`${where}: Namespace without metadata.name`);
        return;
      }
      const labels: Record<string, string> = {};
      if (md.labels !== undefined && md.labels !== null) {
        if (typeof md.labels !== 'object' || Array.isArray(md.labels)) {
          problems.push(`${where} (${md.name}): metadata.labels must be a map`);
          return;
        }
        for (const [k, lv] of Object.entries(md.labels as Record<string, unknown>)) {
          if (typeof lv === 'string') labels[k] = lv;
          else if (typeof lv === 'number' || typeof lv === 'boolean') labels[k] = String(lv);
          else problems.push(`${where} (${md.name}): label ${k} must be a string`);
        }
      }
      out.namespaces.push({ name: md.name, labels });
    };
    visit(value, `document ${i + 1}`);
  });
  if (problems.length) throw namespaceFileError(file, problems);
  return out;
}

/** The Namespaces of such a file (see parseNamespaceFile). */
export function parseNamespaceManifests(text: string, file = '<namespaces>'): NamespaceInfo[] {
  return parseNamespaceFile(text, file).namespaces;
}

export class FileNamespaceSource implements NamespaceSource {
  readonly kind = 'file' as const;
  private byName = new Map<string, NamespaceInfo>();
  private loaded = false;
  private clusterFacts = new StaticClusterFacts();
  constructor(readonly file: string) {}

  /** The file's StorageClasses and PodDisruptionBudgets (each unknown when the file has none). */
  get facts(): StaticClusterFacts {
    return this.clusterFacts;
  }

  /** Reads and parses the file; throws a 'namespace-file-invalid' RedlineError (or the fs error) when it is unusable. */
  async start(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      throw namespaceFileError(this.file, [errorMessage(e)], e);
    }
    const parsed = parseNamespaceFile(text, this.file);
    const map = new Map<string, NamespaceInfo>();
    for (const ns of parsed.namespaces) map.set(ns.name, ns);
    this.byName = map;
    this.clusterFacts = new StaticClusterFacts(parsed.storageClasses, parsed.pdbs);
    this.loaded = true;
  }
  async stop(): Promise<void> {}
  get(name: string): NamespaceInfo | undefined {
    return this.byName.get(name);
  }
  synced(): boolean {
    return this.loaded;
  }
  size(): number {
    return this.byName.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Cluster: the restartable informer of kube/informer.ts on /api/v1/namespaces

/** The namespace cache takes the same options as the other cluster caches of serve. */
export type ClusterNamespaceSourceOptions = ClusterCacheOptions;

/**
 * Keeps a namespace cache from a list+watch that restarts with backoff when it fails (answering
 * from the last good cache meanwhile) and relists every `resyncMs`.
 */
export class ClusterNamespaceSource implements NamespaceSource {
  readonly kind = 'cluster' as const;
  private api: KubeApi | undefined;
  private informer: Informer | undefined;
  private firstOutcome: (() => void) | undefined;
  private syncLogged = false;
  /** Built on change, so a request gets the same object back rather than a fresh copy. */
  private readonly infos = new Map<string, NamespaceInfo>();

  constructor(private readonly opts: ClusterNamespaceSourceOptions) {}

  get(name: string): NamespaceInfo | undefined {
    return this.infos.get(name);
  }

  /** Every cached namespace (the ledger finds a tenant's namespaces among them). */
  all(): IterableIterator<NamespaceInfo> {
    return this.infos.values();
  }

  synced(): boolean {
    return this.informer?.synced() ?? false;
  }

  /**
   * Lists and watches; resolves when the first attempt ended (synced, or failed and retrying).
   * Throws only when the kubeconfig cannot make a client.
   */
  async start(): Promise<void> {
    if (this.informer) return;
    this.api = await KubeApi.create({ kubeConfig: this.opts.kubeConfig });
    this.informer = this.makeInformer(this.api);
    let timer: NodeJS.Timeout | undefined;
    const ended = new Promise<void>((resolve) => {
      this.firstOutcome = resolve;
      timer = setTimeout(resolve, this.opts.startTimeoutMs ?? 10_000);
    });
    this.informer.start();
    await ended;
    clearTimeout(timer);
    this.firstOutcome = undefined;
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
    this.api?.close();
  }

  private makeInformer(api: KubeApi): Informer {
    const opts = this.opts;
    const resyncMs = opts.resyncMs ?? 10 * 60_000;
    const informer = new Informer({
      api,
      path: '/api/v1/namespaces',
      name: 'namespaces',
      apiVersion: 'v1',
      kind: 'Namespace',
      ...(resyncMs > 0 ? { relistMs: resyncMs } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
      onList: (count) => {
        if (!this.syncLogged) opts.logger?.info({ count }, 'namespace cache synced');
        this.syncLogged = true;
        this.firstOutcome?.();
      },
      onRestart: (err) => {
        opts.onError?.(err);
        this.firstOutcome?.();
      },
    });
    const keep = (ns: KubeObject): void => {
      const info = toInfo(ns);
      if (info) this.infos.set(info.name, info);
    };
    informer.on({ add: keep, update: (_old, ns) => keep(ns), delete: (ns) => void this.infos.delete(ns.metadata.name) });
    return informer;
  }
}
