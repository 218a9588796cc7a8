// The hook that starts the background audit inside `redline controller`: the policy library
// (hot-reloaded like serve's, handed in by the process: a change audits everything again), the
// audit metrics in the controller's registry, and the AuditController on the controller's API
// client and namespace cache.

import type { Registry } from 'prom-client';
import type { KubeApi } from '../../kube/api-client.js';
import type { Engine } from '../../policies/engine/index.js';
import type { ControllerLogger } from '../controller.js';
import type { ControllerSettings } from '../../core/settings/controller.js';
import { AuditController, type NamespaceCache } from './controller.js';
import { AuditMetrics } from './metrics.js';

/** serve's default time budget per review (requestTimeBudgetMs): the same verdicts. */
export const AUDIT_TIME_BUDGET_MS = 250;

/** The policy library as the audit reads it: serve's PolicyReloader, loaded and watching (cli/controller.ts). */
export interface AuditLibrary {
  current(): Engine;
  readonly stats: { readonly reloads: number };
  stop(): void;
}

export interface AuditHookOptions {
  api: KubeApi;
  namespaces: NamespaceCache;
  isLeader: () => boolean;
  settings: ControllerSettings;
  registry: Registry;
  logger: ControllerLogger;
  library: AuditLibrary;
}

export interface RunningAudit {
  controller: AuditController;
  stop(): Promise<void>;
}

export async function startAudit(opts: AuditHookOptions): Promise<RunningAudit> {
  const { settings, library } = opts;
  const controller = new AuditController({
    api: opts.api,
    namespaces: opts.namespaces,
    isLeader: opts.isLeader,
    engine: () => library.current(),
    libraryVersion: () => library.stats.reloads,
    settings: settings.audit,
    metrics: new AuditMetrics(opts.registry),
    logger: opts.logger,
    informer: { backoff: settings.informerBackoff, relistMs: settings.resyncMs },
  });
  await controller.start();
  return {
    controller,
    async stop() {
      library.stop();
      await controller.stop();
    },
  };
}
