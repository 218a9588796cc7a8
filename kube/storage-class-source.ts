// The cluster's StorageClasses for `serve` (storage.k8s.io/v1, served by every supported API
// server): a watched cache of name, provisioner and the default-class annotations, published as one
// frozen list (the default class first) each time a class changes.

import type { StorageClassInfo } from '../policies/engine/types.js';
import type { KubeObject } from './api-client.js';
import { DEFAULT_CLASS_ANNOTATIONS, orderStorageClasses, storageClassInfo } from './cluster-facts-source.js';
import type { Informer } from './informer.js';
import { WatchedSource, type ClusterCacheOptions, type SourceStatus } from './watched-source.js';

const RESOURCE = { path: '/apis/storage.k8s.io/v1/storageclasses', apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass' };

/** Name, resourceVersion, creationTimestamp, the default-class annotations and the provisioner: nothing else is kept. */
export function slimStorageClass(obj: KubeObject): KubeObject {
  const md = obj.metadata;
  const annotations: Record<string, string> = {};
  for (const k of DEFAULT_CLASS_ANNOTATIONS) {
    const v = md.annotations?.[k];
    if (typeof v === 'string') annotations[k] = v;
  }
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      name: md.name,
      ...(md.resourceVersion ? { resourceVersion: md.resourceVersion } : {}),
      ...(typeof md['creationTimestamp'] === 'string' ? { creationTimestamp: md['creationTimestamp'] } : {}),
      annotations,
    },
    provisioner: typeof obj['provisioner'] === 'string' ? obj['provisioner'] : '',
  };
}

export class ClusterStorageClassSource {
  readonly name = 'storageclasses';
  private classes: readonly StorageClassInfo[] = Object.freeze([]);
  private readonly source: WatchedSource;

  constructor(opts: ClusterCacheOptions) {
    this.source = new WatchedSource(
      {
        name: this.name,
        locate: async () => RESOURCE,
        transform: slimStorageClass,
        changed: (informer) => this.republish(informer),
      },
      opts,
    );
  }

  /** undefined until the first list is in memory. */
  storageClasses(): readonly StorageClassInfo[] | undefined {
    return this.source.listed() ? this.classes : undefined;
  }

  synced(): boolean {
    return this.source.synced();
  }

  status(): SourceStatus {
    return this.source.status(() => this.classes.length);
  }

  start(): Promise<void> {
    return this.source.start();
  }

  stop(): Promise<void> {
    return this.source.stop();
  }

  private republish(informer: Informer): void {
    const entries = informer.list().flatMap((o) => {
      const info = storageClassInfo(o);
      return info ? [{ info, created: typeof o.metadata['creationTimestamp'] === 'string' ? o.metadata['creationTimestamp'] : '' }] : [];
    });
    this.classes = orderStorageClasses(entries);
  }
}
