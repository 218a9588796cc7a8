// The registry of workload adapters: one lookup by apiVersion + kind.

import type { JsonObject } from '../engine/types.js';
import { certManagerAdapters } from './certmanager.js';
import { enterpriseAdapters } from './enterprise.js';
import { kubedbAdapters } from './kubedb.js';
import { kubernetesAdapters } from './kubernetes.js';
import { opstreeAdapters } from './opstree.js';
import { spotahomeAdapters } from './spotahome.js';
import type { Recognition, WorkloadAdapter } from './view.js';

export type {
  AdapterResult, PodSlots, ContainerSlot, WorkloadView, WorkloadRole, PodView, Segments, ServiceTemplateView,
  NamespaceRefView, SecretRefView, IssuerRefView, CertificateView, EnterpriseView, EnterpriseDatabaseView,
} from './view.js';

const ALL: WorkloadAdapter[] = [
  ...kubedbAdapters, ...opstreeAdapters, ...enterpriseAdapters, ...spotahomeAdapters, ...kubernetesAdapters, ...certManagerAdapters,
];
/** kind → apiVersion → adapter: two lookups, no key string built per request. */
const BY_KIND = new Map<string, Map<string, WorkloadAdapter>>();
for (const adapter of ALL) {
  let versions = BY_KIND.get(adapter.kind);
  if (!versions) BY_KIND.set(adapter.kind, (versions = new Map()));
  for (const v of adapter.apiVersions) versions.set(v, adapter);
}

/** Every apiVersion/kind that recognise() has an adapter for, e.g. for webhook rules and docs. */
export const RECOGNISED_KINDS: readonly { apiVersion: string; kind: string }[] =
  ALL.flatMap((a) => a.apiVersions.map((apiVersion) => ({ apiVersion, kind: a.kind })));

export function adapterFor(apiVersion: string, kind: string): WorkloadAdapter | undefined {
  return BY_KIND.get(kind)?.get(apiVersion);
}

export function recognise(object: JsonObject): Recognition {
  const apiVersion = typeof object['apiVersion'] === 'string' ? object['apiVersion'] : '';
  const kind = typeof object['kind'] === 'string' ? object['kind'] : '';
  const adapter = adapterFor(apiVersion, kind);
  if (!adapter) return { redis: false, reason: `${apiVersion || '?'}/${kind || '?'} is not a supported kind` };
  return adapter.recognise(object);
}
