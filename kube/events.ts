// core/v1 Events about a Namespace, written by the controller.
//
// An Event about a cluster-scoped object normally lives in "default"; these are written into the
// namespace they describe (involvedObject.namespace = the namespace's own name, which the API
// server's validation requires for a non-default event namespace) so that tenants, who may read
// events in their namespace, see what Redline did there: `kubectl get events -n <ns>`.
//
// Events are best effort: a failure is logged and counted, never fails a reconcile.
// Repeated warnings are de-duplicated per namespace (same reason + message → written once) until
// a different event is written for that namespace.

import { randomBytes } from 'node:crypto';
import { CONTROLLER_NAME, LABEL_MANAGED_BY, MANAGED_BY_REDLINE } from '../core/vocabulary.js';
import { type KubeApi, resourcePath } from './api-client.js';

export const EVENT_COMPONENT = CONTROLLER_NAME;

export interface EventTarget {
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface EventLogger {
  warn(obj: object, msg: string): void;
}

export class EventRecorder {
  private readonly last = new Map<string, string>();

  constructor(
    private readonly api: KubeApi,
    private readonly opts: { instance: string; now?: () => Date; logger?: EventLogger; onResult?: (ok: boolean) => void } = { instance: '' },
  ) {}

  /** Writes the event unless it repeats the last one written for this namespace. Returns whether it wrote. */
  async emit(ns: EventTarget, ev: EventSpec, opts: { dedupe?: boolean } = {}): Promise<boolean> {
    const key = `${ev.type}\u0000${ev.reason}\u0000${ev.message}`;
    if (opts.dedupe && this.last.get(ns.name) === key) return false;
    const now = (this.opts.now ?? (() => new Date()))().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${ns.name}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`,
        namespace: ns.name,
        labels: { [LABEL_MANAGED_BY]: MANAGED_BY_REDLINE },
      },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Namespace',
        name: ns.name,
        namespace: ns.name,
        ...(ns.uid ? { uid: ns.uid } : {}),
        ...(ns.resourceVersion ? { resourceVersion: ns.resourceVersion } : {}),
      },
      type: ev.type,
      reason: ev.reason,
      message: ev.message.length > 1000 ? `${ev.message.slice(0, 999)}…` : ev.message,
      source: { component: EVENT_COMPONENT },
      reportingComponent: EVENT_COMPONENT,
      reportingInstance: this.opts.instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.api.request({ method: 'POST', path: resourcePath('v1', 'events', ns.name), body });
      this.last.set(ns.name, key);
      this.opts.onResult?.(true);
      return true;
    } catch (e) {
      this.opts.onResult?.(false);
      this.opts.logger?.warn({ namespace: ns.name, reason: ev.reason, err: e instanceof Error ? e.message : String(e) }, 'could not write event');
      return false;
    }
  }

  /** Forget the de-duplication state of a namespace (it was deleted, or a new state began). */
  reset(namespace: string): void {
    this.last.delete(namespace);
  }
}
