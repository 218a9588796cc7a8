// When is a plain Kubernetes object a Redis workload? The rule, documented in the README:
//  1. its pod labels say so: app.kubernetes.io/name, app.kubernetes.io/component or app is one of
//     REDIS_NAMES, or the labels an operator puts on the Redis pods it creates (OT-Container-Kit:
//     redis_setup_type, or app <cr>-leader|-follower with role leader|follower); or
//  2. one of its containers runs a Redis, Valkey or KeyDB image: the last path segment of the image
//     repository is `redis`/`valkey`/`keydb` or starts with `redis-`/`valkey-`/`keydb-`
//     (bitnami/redis-cluster, redis/redis-stack-server, eqalpha/keydb, whose entrypoint is
//     keydb-server), or is one of Redis Ltd's module images (redislabs/redisearch, rejson,
//     redismod, …: redis-server with a module), excluding tools around Redis: exporters, operators and UIs
//     (oliver006/redis_exporter, opstree/redis-operator, rediscommander/redis-commander); or
//  3. one of its containers runs a Redis server binary, whatever the image is called: a word of its
//     command or args is redis-server, valkey-server, redis-sentinel or keydb-server; or
//  4. it is owned by a Redis CR (KubeDB, OT-Container-Kit, Spotahome RedisFailover or Redis Enterprise
//     RedisEnterpriseCluster ownerReference).

import { memoize } from '../engine/memo.js';
import type { Json } from '../engine/types.js';
import { list, obj, str } from './view.js';

export const REDIS_NAMES: ReadonlySet<string> = new Set([
  'redis', 'valkey', 'redises.kubedb.com', 'redissentinels.kubedb.com', 'redis-cluster',
  'redis-sentinel', 'redis-replication', 'valkey-cluster',
]);

const NOT_A_SERVER = ['exporter', 'operator', 'commander', 'insight'];
/**
 * Image repositories (their last path segment) that run a Redis-protocol server by default: the
 * servers, and Redis Ltd's module images, each a redis-server loading its module.
 */
const SERVER_IMAGES = [
  'redis', 'valkey', 'keydb',
  'redisearch', 'rejson', 'redismod', 'redistimeseries', 'redisgraph', 'rebloom', 'redisbloom', 'redisai', 'redisgears',
];

const LABEL_KEYS = ['app.kubernetes.io/name', 'app.kubernetes.io/component', 'app'] as const;

/** OT-Container-Kit's `redis_setup_type` values (pkg/k8sutils/labels.go). */
export const OT_SETUP_TYPES: ReadonlySet<string> = new Set(['standalone', 'replication', 'cluster', 'sentinel']);
export const OT_SETUP_LABEL = 'redis_setup_type';

export function labelsSayRedis(labels: Record<string, string>): boolean {
  for (const k of LABEL_KEYS) {
    const v = labels[k];
    if (v !== undefined && REDIS_NAMES.has(v.toLowerCase())) return true;
  }
  return otLabelsSayRedis(labels);
}

/** The labels OT-Container-Kit puts on the sets and pods it creates: app, redis_setup_type, role. */
function otLabelsSayRedis(labels: Record<string, string>): boolean {
  const setup = labels[OT_SETUP_LABEL];
  if (setup !== undefined && OT_SETUP_TYPES.has(setup)) return true;
  const role = labels['role'];
  const app = labels['app'];
  return app !== undefined && (role === 'leader' || role === 'follower') && app.endsWith(`-${role}`);
}

/** One selector value `key: value` that picks Redis pods. */
export function labelSaysRedis(key: string, value: string): boolean {
  return labelsSayRedis({ [key]: value });
}

/** Label keys whose mere presence (`Exists`) selects operator-made Redis pods. */
export const REDIS_LABEL_KEYS: ReadonlySet<string> = new Set([OT_SETUP_LABEL]);

export const isRedisImage = memoize(isRedisImageUncached);

function isRedisImageUncached(image: string): boolean {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const repoAndTag = withoutDigest.slice(lastSlash + 1);
  const repo = (repoAndTag.split(':')[0] ?? '').toLowerCase();
  if (NOT_A_SERVER.some((word) => repo.includes(word))) return false;
  return SERVER_IMAGES.some((name) => repo === name || repo.startsWith(`${name}-`));
}

const SERVER_BINARIES: ReadonlySet<string> = new Set(['redis-server', 'valkey-server', 'redis-sentinel', 'keydb-server', 'valkey-sentinel']);

/**
 * Whether a command line (command and args joined by spaces) starts a Redis server: any word, or
 * the path's last segment, is a server binary — so `sh -c "exec /usr/bin/redis-server …"` counts.
 */
export const commandRunsRedis = memoize((line: string): boolean => {
  for (const word of line.split(/[\s;&|'"()`]+/)) {
    if (!word) continue;
    const base = word.slice(word.lastIndexOf('/') + 1).toLowerCase();
    if (SERVER_BINARIES.has(base)) return true;
  }
  return false;
}, 1024, 4096);

/** Whether a raw container runs a Redis server: by image, or by command/args. */
export function containerRunsRedis(raw: Json): boolean {
  const c = obj(raw);
  if (isRedisImage(str(c['image']))) return true;
  const command = c['command'];
  const args = c['args'];
  if (!Array.isArray(command) && !Array.isArray(args)) return false;
  return commandRunsRedis([...list(command), ...list(args)].map(str).join(' '));
}

/** The Redis CR kinds of each operator group whose sets, pods and PDBs are Redis by ownership. */
const REDIS_OWNERS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['kubedb.com', new Set(['Redis', 'RedisSentinel'])],
  ['redis.redis.opstreelabs.in', new Set(['Redis', 'RedisSentinel', 'RedisCluster', 'RedisReplication'])],
  ['databases.spotahome.com', new Set(['RedisFailover'])],
  ['app.redislabs.com', new Set(['RedisEnterpriseCluster'])],
]);

/** The kind of the first ownerReference to a Redis CR (KubeDB, OT-Container-Kit, Spotahome, Redis Enterprise), or ''. */
export function redisOwnerKind(ownerReferences: Json | undefined): string {
  for (const r of list(ownerReferences)) {
    const ref = obj(r);
    const kind = str(ref['kind']);
    const group = str(ref['apiVersion']).split('/')[0] ?? '';
    if (REDIS_OWNERS.get(group)?.has(kind)) return kind;
  }
  return '';
}

/** The version in an image tag ("bitnami/redis:7.2.4-debian-12" → "7.2.4"), or ''. */
export const imageVersion = memoize(imageVersionUncached);

function imageVersionUncached(image: string): string {
  const withoutDigest = image.split('@')[0] ?? '';
  const tag = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1).split(':')[1] ?? '';
  const m = /^v?(\d+(?:\.\d+){0,2})/.exec(tag);
  return m?.[1] ?? '';
}

/**
 * OT-Container-Kit's own Redis images (quay.io/opstree/redis, redis-sentinel; any registry that
 * mirrors them under an `opstree` path): only their entrypoint turns the REDIS_PASSWORD and
 * TLS_MODE the operator sets into requirepass and TLS. The operator sets no command.
 */
export function isOpstreeImage(image: string): boolean {
  const path = (image.split('@')[0] ?? '').replace(/:[^/:]*$/, '').toLowerCase();
  return /(^|\/)opstree\/redis(-sentinel)?$/.test(path);
}

