// A Secret volume the way the kubelet maintains it (AtomicWriter): every update is written into a
// new timestamped directory `..<timestamp>`, then the `..data` symlink is swapped to it in one
// rename, and each key is a symlink `<key> → ..data/<key>`. Readers see the old set or the new set,
// never a mix. SecretDirMirror polls a Secret through the API and mirrors it into such a directory.
import { randomBytes } from 'node:crypto';
import { mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeSecretStore } from '../../../certs/secret-store.js';
import { KubeApi } from '../../../kube/api-client.js';

/** Publishes `files` into `dir` atomically, kubelet style. Keys absent from `files` disappear. */
export async function writeSecretDir(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${randomBytes(4).toString('hex')}`;
  const gen = path.join(dir, stamp);
  await mkdir(gen, { mode: 0o755 });
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(gen, name), content, { mode: 0o644 });
  let previous: string | undefined;
  try {
    previous = await readlink(path.join(dir, '..data'));
  } catch {
    previous = undefined;
  }
  const tmp = path.join(dir, '..data_tmp');
  await rm(tmp, { force: true });
  await symlink(stamp, tmp);
  await rename(tmp, path.join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      await symlink(path.join('..data', name), path.join(dir, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  if (previous && previous !== stamp) await rm(path.join(dir, previous), { recursive: true, force: true });
}

export class SecretDirMirror {
  private timer: NodeJS.Timeout | undefined;
  private lastRv = '';
  private running: Promise<void> | undefined;
  syncs = 0;

  private constructor(
    private readonly api: KubeApi,
    private readonly store: KubeSecretStore,
    readonly dir: string,
    private readonly intervalMs: number,
  ) {}

  static async create(opts: { kubeConfig: KubeConfig; namespace: string; name: string; dir: string; intervalMs?: number }): Promise<SecretDirMirror> {
    const api = await KubeApi.create({ kubeConfig: opts.kubeConfig, timeoutMs: 5_000 });
    return new SecretDirMirror(api, new KubeSecretStore(api, opts.namespace, opts.name), opts.dir, opts.intervalMs ?? 300);
  }

  /** One poll: mirror the Secret if its resourceVersion changed. Resolves true if it wrote. */
  async sync(): Promise<boolean> {
    const snap = await this.store.read();
    if (!snap || snap.resourceVersion === this.lastRv) return false;
    const files: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(snap.data)) files[k] = Buffer.from(v, 'base64');
    await writeSecretDir(this.dir, files);
    this.lastRv = snap.resourceVersion;
    this.syncs++;
    return true;
  }

  start(): void {
    const loop = async (): Promise<void> => {
      try {
        await this.sync();
      } catch {
        // the next poll retries
      }
    };
    this.timer = setInterval(() => {
      this.running ??= loop().finally(() => (this.running = undefined));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
    this.api.close();
  }
}
