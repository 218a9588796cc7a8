// Serving-certificate source with hot reload. Reads a cert+key pair from files (a mounted Secret
// volume: `<dir>/tls.crt` + `<dir>/tls.key`, whose `..data` symlink the kubelet swaps atomically),
// watches them (fs.watch on the directories, plus a periodic check because fs.watch misses events
// on some volume types), and hands a changed pair to `onChange` only when it is usable
// (servingStatus ready: parsable, in its validity period, key matches). A half-written or bad pair
// keeps the old one in service and is reported (log + metric).

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../certs/clock.js';
import { errorMessage, RedlineError } from '../core/errors.js';
import { FileWatch } from './file-watch.js';
import { servingStatus, type ServingStatus } from '../certs/status.js';
import { LogKey } from './log-keys.js';
import type { WebhookMetrics } from './metrics.js';

export interface CertPaths {
  certFile: string;
  keyFile: string;
}

export interface LoadedCertificate {
  cert: string;
  key: string;
  status: ServingStatus;
}

export interface CertReloaderOptions {
  paths: CertPaths;
  clock: Clock;
  /** Called with a new usable pair (swap it into the server). */
  onChange: (c: LoadedCertificate) => void;
  logger?: Logger;
  metrics?: WebhookMetrics;
  /** Periodic check interval; default 10 s. */
  intervalMs?: number;
  /** Debounce of fs.watch events; default 100 ms. */
  debounceMs?: number;
}

async function readPair(p: CertPaths): Promise<{ cert: string; key: string }> {
  const [cert, key] = await Promise.all([readFile(p.certFile, 'utf8'), readFile(p.keyFile, 'utf8')]);
  return { cert, key };
}

function fingerprint(cert: string, key: string): string {
  return createHash('sha256').update(cert).update('\0').update(key).digest('hex');
}

export class CertReloader {
  private current: LoadedCertificate | undefined;
  private currentPrint = '';
  private lastRejectedPrint = '';
  private readonly watch: FileWatch;
  readonly stats = { reloads: 0, rejected: 0 };

  constructor(private readonly opts: CertReloaderOptions) {
    this.watch = new FileWatch({
      dirs: [path.dirname(path.resolve(opts.paths.certFile)), path.dirname(path.resolve(opts.paths.keyFile))],
      check: () => this.doCheck(),
      ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
      ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
    });
  }

  /** Initial load; throws a 'certificate-unreadable' RedlineError when the pair is unreadable or unusable. */
  async load(): Promise<LoadedCertificate> {
    let pair: { cert: string; key: string };
    try {
      pair = await readPair(this.opts.paths);
    } catch (e) {
      throw new RedlineError('certificate-unreadable', `cannot read the serving certificate: ${errorMessage(e)}`, { cause: e });
    }
    const status = servingStatus(pair.cert, pair.key, this.opts.clock());
    if (!status.ready) throw new RedlineError('certificate-unreadable', `${status.reason} (${this.opts.paths.certFile})`);
    this.current = { ...pair, status };
    this.currentPrint = fingerprint(pair.cert, pair.key);
    return this.current;
  }

  /** PEM of the certificate being served (for the expiry metric), undefined before load(). */
  currentCertificate(): string | undefined {
    return this.current?.cert;
  }

  /** The status of what is being served, judged now (expiry moves with time). */
  status(): ServingStatus {
    if (!this.current) return { ready: false, reason: 'serving certificate not loaded' };
    return servingStatus(this.current.cert, this.current.key, this.opts.clock());
  }

  start(): void {
    this.watch.start();
  }

  stop(): void {
    this.watch.stop();
  }

  /** Read the files; swap when changed and usable. Serialised: overlapping calls coalesce. */
  check(): Promise<void> {
    return this.watch.run();
  }

  private async doCheck(): Promise<void> {
    const log = this.opts.logger;
    let pair: { cert: string; key: string };
    try {
      pair = await readPair(this.opts.paths);
    } catch (e) {
      // Mid-swap or removed: keep serving the old pair; the next event or tick retries.
      log?.debug({ [LogKey.err]: e as Error }, 'serving certificate not readable');
      return;
    }
    const print = fingerprint(pair.cert, pair.key);
    if (print === this.currentPrint || print === this.lastRejectedPrint) return;
    const status = servingStatus(pair.cert, pair.key, this.opts.clock());
    if (!status.ready) {
      this.lastRejectedPrint = print;
      this.stats.rejected++;
      this.opts.metrics?.error('cert_reload');
      log?.error(
        { [LogKey.path]: this.opts.paths.certFile, [LogKey.reason]: status.reason },
        'changed serving certificate is not usable; keeping the current one',
      );
      return;
    }
    const loaded = { ...pair, status };
    try {
      this.opts.onChange(loaded);
    } catch (e) {
      this.lastRejectedPrint = print;
      this.stats.rejected++;
      this.opts.metrics?.error('cert_reload');
      log?.error({ [LogKey.err]: e as Error }, 'could not install the changed serving certificate');
      return;
    }
    this.current = loaded;
    this.currentPrint = print;
    this.stats.reloads++;
    log?.info({ [LogKey.path]: this.opts.paths.certFile, [LogKey.reason]: status.reason }, 'serving certificate reloaded');
  }
}
