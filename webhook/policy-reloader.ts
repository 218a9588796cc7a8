// Policies and plans with hot reload: the library directory (in a cluster, the mounted ConfigMap)
// is watched, and a changed library is compiled into a new engine that replaces the old one only
// when every document is valid. A broken change keeps the previous policies in service and is
// reported (log with file:line:column problems, metric) — never half-applied.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorMessage, RedlineError } from '../core/errors.js';
import { Engine, compileLibrary } from '../policies/engine/index.js';
import { displayPath, listYamlFiles } from '../policies/engine/library.js';
import { FileWatch } from './file-watch.js';
import { LogKey } from './log-keys.js';
import type { WebhookMetrics } from './metrics.js';

export interface PolicyReloaderOptions {
  dir: string;
  timeBudgetMs: number;
  logger?: Logger;
  metrics?: WebhookMetrics;
  intervalMs?: number;
}

export class PolicyReloader {
  private engine: Engine | undefined;
  private print = '';
  private rejectedPrint = '';
  private readonly watch: FileWatch;
  readonly stats = { reloads: 0, rejected: 0 };

  constructor(private readonly opts: PolicyReloaderOptions) {
    this.watch = new FileWatch({
      dirs: [opts.dir],
      recursive: true,
      check: () => this.reload(),
      ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
    });
  }

  /** The engine in service. Only valid after load(). */
  current(): Engine {
    if (!this.engine) throw new RedlineError('internal', 'policies not loaded');
    return this.engine;
  }

  /** First load: throws a 'document-invalid' RedlineError with every problem when the library is broken. */
  async load(): Promise<Engine> {
    const { sources, print } = await this.read();
    this.engine = new Engine(compileLibrary(this.opts.dir, sources), { timeBudgetMs: this.opts.timeBudgetMs });
    this.print = print;
    return this.engine;
  }

  start(): void {
    this.watch.start();
  }

  stop(): void {
    this.watch.stop();
  }

  /** Checks for a change now (tests; the watch calls it on events and every interval). */
  check(): Promise<void> {
    return this.watch.run();
  }

  private async read(): Promise<{ sources: { file: string; text: string }[]; print: string }> {
    const files = await listYamlFiles(this.opts.dir);
    const hash = createHash('sha256');
    const sources: { file: string; text: string }[] = [];
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      hash.update(file).update('\0').update(text).update('\0');
      sources.push({ file: displayPath(file), text });
    }
    return { sources, print: hash.digest('hex') };
  }

  private async reload(): Promise<void> {
    const log = this.opts.logger;
    let read: { sources: { file: string; text: string }[]; print: string };
    try {
      read = await this.read();
    } catch (e) {
      log?.debug({ [LogKey.err]: e as Error }, 'policy directory not readable (mid-swap?)');
      return;
    }
    if (read.print === this.print || read.print === this.rejectedPrint) return;
    try {
      const library = compileLibrary(this.opts.dir, read.sources);
      this.engine = new Engine(library, { timeBudgetMs: this.opts.timeBudgetMs });
      this.print = read.print;
      this.stats.reloads++;
      log?.info({ [LogKey.path]: this.opts.dir }, `policies reloaded: ${library.policies.length} policies, ${library.plans.size} plans`);
    } catch (e) {
      this.rejectedPrint = read.print;
      this.stats.rejected++;
      this.opts.metrics?.error('policy_reload');
      const reason = errorMessage(e);
      log?.error({ [LogKey.reason]: reason }, 'changed policies are invalid; keeping the ones in service');
    }
  }
}
