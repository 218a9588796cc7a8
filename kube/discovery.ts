// API discovery: which resources a group/version serves (a CRD that is not installed is not served).

import { ApiError, type KubeApi } from './api-client.js';

interface ApiResourceList {
  resources?: { name?: string }[];
}

/** The plural resource names `groupVersion` serves; an empty set when the group/version is not served (404). */
export async function servedResources(api: KubeApi, groupVersion: string, signal?: AbortSignal): Promise<Set<string>> {
  const path = groupVersion.includes('/') ? `/apis/${groupVersion}` : `/api/${groupVersion}`;
  try {
    const list = await api.request<ApiResourceList>({ method: 'GET', path, ...(signal ? { signal } : {}) });
    return new Set((list.resources ?? []).map((r) => r.name ?? '').filter((n) => n !== '' && !n.includes('/')));
  } catch (e) {
    if (e instanceof ApiError && e.notFound) return new Set();
    throw e;
  }
}
