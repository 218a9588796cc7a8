// When is a plain Kubernetes object a Redis workload? The rule, documented in the README:
//  1. its pod labels say so: app.kubernetes.io/name, app.kubernetes.io/component or app is one of
//     REDIS_NAMES; or
//  2. one of its containers runs a Redis or Valkey image: the last path segment of the image
//     repository is `redis`/`valkey` or starts with `redis-`/`valkey-` (bitnami/redis-cluster,
//     redis/redis-stack-server), excluding tools around Redis: exporters, operators and UIs
//     (oliver006/redis_exporter, opstree/redis-operator, rediscommander/redis-commander).

import { memoize } from '../engine/memo.js';

export const REDIS_NAMES: ReadonlySet<string> = new Set([
  'redis', 'valkey', 'redises.kubedb.com', 'redissentinels.kubedb.com', 'redis-cluster',
  'redis-sentinel', 'redis-replication', 'valkey-cluster',
]);

const NOT_A_SERVER = ['exporter', 'operator', 'commander', 'insight'];

const LABEL_KEYS = ['app.kubernetes.io/name', 'app.kubernetes.io/component', 'app'] as const;

export function labelsSayRedis(labels: Record<string, string>): boolean {
  return LABEL_KEYS.some((k) => {
    const v = labels[k];
    return v !== undefined && REDIS_NAMES.has(v.toLowerCase());
  });
}

export const isRedisImage = memoize(isRedisImageUncached);

function isRedisImageUncached(image: string): boolean {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const repoAndTag = withoutDigest.slice(lastSlash + 1);
  const repo = (repoAndTag.split(':')[0] ?? '').toLowerCase();
  if (NOT_A_SERVER.some((word) => repo.includes(word))) return false;
  return repo === 'redis' || repo === 'valkey' || repo.startsWith('redis-') || repo.startsWith('valkey-');
}

/** The version in an image tag ("bitnami/redis:7.2.4-debian-12" → "7.2.4"), or ''. */
export const imageVersion = memoize(imageVersionUncached);

function imageVersionUncached(image: string): string {
  const withoutDigest = image.split('@')[0] ?? '';
  const tag = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1).split(':')[1] ?? '';
  const m = /^v?(\d+(?:\.\d+){0,2})/.exec(tag);
  return m?.[1] ?? '';
}
