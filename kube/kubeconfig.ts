// The one seam for building a KubeConfig. Order: an explicit --kubeconfig file, then $KUBECONFIG
// (path-list, merged like kubectl), then in-cluster (service account token), then ~/.kube/config.
// When none applies there is no cluster: callers decide whether that is an error.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage, RedlineError } from '../core/errors.js';

export const SERVICE_ACCOUNT_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type ClusterAccess =
  | { kind: 'file'; files: string[]; from: 'flag' | 'env' | 'home' }
  | { kind: 'in-cluster' };

export interface ClusterAccessOptions {
  /** Explicit kubeconfig path (--kubeconfig / serve.kubeconfig). */
  kubeconfig?: string | null;
  env?: NodeJS.ProcessEnv;
  /** For tests: where the service-account token and home directory are looked up. */
  tokenPath?: string;
  home?: string;
}

/** Which cluster access applies, without reading any file; null when no cluster is configured. */
export function resolveClusterAccess(opts: ClusterAccessOptions = {}): ClusterAccess | null {
  const env = opts.env ?? process.env;
  if (opts.kubeconfig) return { kind: 'file', files: [opts.kubeconfig], from: 'flag' };
  const list = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f.length > 0);
  if (list.length > 0) return { kind: 'file', files: list, from: 'env' };
  if (env.KUBERNETES_SERVICE_HOST && existsSync(opts.tokenPath ?? SERVICE_ACCOUNT_TOKEN_PATH)) return { kind: 'in-cluster' };
  const home = opts.home ?? env.HOME ?? homedir();
  const file = path.join(home, '.kube', 'config');
  if (home && existsSync(file)) return { kind: 'file', files: [file], from: 'home' };
  return null;
}

export function describeClusterAccess(access: ClusterAccess): string {
  return access.kind === 'in-cluster' ? 'in-cluster service account' : `kubeconfig ${access.files.join(path.delimiter)} (from ${access.from})`;
}

/** Build a KubeConfig for `access`; throws a 'kubeconfig-invalid' RedlineError with the file name on a bad config. */
export function loadKubeConfig(access: ClusterAccess): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (access.kind === 'in-cluster') {
      kc.loadFromCluster();
    } else {
      const [first, ...rest] = access.files;
      kc.loadFromFile(first!);
      for (const f of rest) {
        const other = new KubeConfig();
        other.loadFromFile(f);
        kc.mergeConfig(other);
      }
    }
  } catch (e) {
    const what = access.kind === 'in-cluster' ? 'in-cluster configuration' : access.files.join(path.delimiter);
    throw new RedlineError('kubeconfig-invalid', `cannot load ${what}: ${errorMessage(e)}`, { cause: e });
  }
  if (!kc.getCurrentCluster()) {
    throw new RedlineError('kubeconfig-invalid', `${describeClusterAccess(access)} has no current cluster (set current-context)`);
  }
  return kc;
}
