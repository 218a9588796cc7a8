// One object, read fresh from the API server (a GET without resourceVersion: a quorum read), for
// serve's judgement of a scale subresource (webhook/scale.ts). Its own client with a short timeout:
// the webhook's whole answer must come within the API server's 5 s.

import type { KubeConfig } from '@kubernetes/client-node';
import type { JsonObject } from '../policies/engine/types.js';
import { KubeApi, resourcePath } from './api-client.js';

export class ObjectReader {
  private api: Promise<KubeApi> | undefined;

  constructor(private readonly opts: { kubeConfig: KubeConfig; timeoutMs?: number }) {}

  async get(apiVersion: string, plural: string, namespace: string, name: string): Promise<JsonObject> {
    this.api ??= KubeApi.create({ kubeConfig: this.opts.kubeConfig, timeoutMs: this.opts.timeoutMs ?? 2_000 }).catch((e: unknown) => {
      this.api = undefined; // the next request tries again
      throw e;
    });
    const api = await this.api;
    return api.request<JsonObject>({ method: 'GET', path: resourcePath(apiVersion, plural, namespace, name) });
  }

  /** Nothing to start: the client is made on the first read. (start/stop: it sits with serve's caches.) */
  async start(): Promise<void> {}

  async stop(): Promise<void> {
    (await this.api?.catch(() => undefined))?.close();
  }
}
