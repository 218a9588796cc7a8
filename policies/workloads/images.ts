// The user an image runs as, for the images Redline knows. Pod Security's `runAsNonRoot: true` on an
// image that runs as root gives a pod the kubelet refuses to start ("container has runAsNonRoot and
// image will run as root"); with a known non-root UID admission can add `runAsUser` instead.

import { memoize } from '../engine/memo.js';

export interface ImageUser {
  /** The non-root UID to run the image as; 0 when it runs as root with none Redline knows; -1 unknown. */
  imageUser: number;
  /** The image's USER is already a numeric non-root UID. */
  imageRunsAsNonRoot: boolean;
}

const UNKNOWN: ImageUser = { imageUser: -1, imageRunsAsNonRoot: false };

/**
 * Repositories (registry stripped, `library/` dropped) and what they run as:
 *  - the Docker official redis image and valkey/valkey run as root and drop to `redis` (999:999) in
 *    their entrypoint; started as 999 they run redis-server directly;
 *  - Bitnami images set USER 1001; oliver006/redis_exporter USER 59000;
 *  - busybox, alpine, debian, ubuntu run as root and have no service user to pick.
 */
const KNOWN: ReadonlyMap<string, ImageUser> = new Map([
  ['redis', { imageUser: 999, imageRunsAsNonRoot: false }],
  ['valkey/valkey', { imageUser: 999, imageRunsAsNonRoot: false }],
  ['bitnami/redis', { imageUser: 1001, imageRunsAsNonRoot: true }],
  ['bitnami/redis-sentinel', { imageUser: 1001, imageRunsAsNonRoot: true }],
  ['bitnami/redis-cluster', { imageUser: 1001, imageRunsAsNonRoot: true }],
  ['bitnami/redis-exporter', { imageUser: 1001, imageRunsAsNonRoot: true }],
  ['bitnami/valkey', { imageUser: 1001, imageRunsAsNonRoot: true }],
  ['bitnami/valkey-sentinel', { imageUser: 1001, imageRunsAsNonRoot: true }],
  ['bitnami/valkey-cluster', { imageUser: 1001, imageRunsAsNonRoot: true }],
  ['oliver006/redis_exporter', { imageUser: 59000, imageRunsAsNonRoot: true }],
  ['busybox', { imageUser: 0, imageRunsAsNonRoot: false }],
  ['alpine', { imageUser: 0, imageRunsAsNonRoot: false }],
  ['debian', { imageUser: 0, imageRunsAsNonRoot: false }],
  ['ubuntu', { imageUser: 0, imageRunsAsNonRoot: false }],
]);

/** Registries that serve Docker Hub's repositories under the same names. */
const HUB_REGISTRIES: ReadonlySet<string> = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'mirror.gcr.io']);

export const imageUserOf = memoize((image: string): ImageUser => {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  let repo = (colon < 0 ? withoutDigest : withoutDigest.slice(0, colon)).toLowerCase();
  const parts = repo.split('/');
  // A first segment with a dot or port is a registry: only Docker Hub's names mean these images.
  if (parts.length > 1 && (/[.:]/.test(parts[0] ?? '') || parts[0] === 'localhost')) {
    if (!HUB_REGISTRIES.has(parts[0] ?? '')) return UNKNOWN;
    parts.shift();
  }
  if (parts[0] === 'library') parts.shift();
  repo = parts.join('/');
  return KNOWN.get(repo) ?? UNKNOWN;
});
