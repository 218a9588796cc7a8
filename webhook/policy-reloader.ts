// Policies and plans with hot reload: the library directory (in a cluster, the mounted ConfigMap)
// is watched, and a changed library is compiled into a new engine that replaces the old one only
// when every document is valid. A broken change keeps the previous policies in service and is
// reported (log with file:line:column problems, metric) — never half-applied. The library's
// PolicyExceptions are logged when they are loaded and whenever one changes state (expiring soon,
// expired and ignored), checked on every tick of the watch.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorMessage, RedlineError } from '../core/errors.js';
import { Engine, compileLibrary, type Library } from '../policies/engine/index.js';
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
  /** The wall clock exceptions start and expire by. Default: the system's. */
  clock?: () => Date;
}

export class PolicyReloader {
  private engine: Engine | undefined;
  private print = '';
  private rejectedPrint = '';
  /** The state each exception was last logged in. */
  private exceptionStates = new Map<string, string>();
  private readonly watch: FileWatch;
  readonly stats = { reloads: 0, rejected: 0 };

  constructor(private readonly opts: PolicyReloaderOptions) {
    this.watch = new FileWatch({
      dirs: [opts.dir],
      recursive: true,
      check: async () => {
        await this.reload();
        this.logExceptions();
      },
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
    this.engine = this.engineFor(compileLibrary(this.opts.dir, sources));
    this.print = print;
    this.logExceptions();
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

  private engineFor(library: Library): Engine {
    return new Engine(library, { timeBudgetMs: this.opts.timeBudgetMs, ...(this.opts.clock ? { clock: this.opts.clock } : {}) });
  }

  /** Logs each exception whose state differs from the one last logged (all of them after a load). */
  private logExceptions(): void {
    if (!this.engine) return;
    const log = this.opts.logger;
    const now = new Map<string, string>();
    for (const e of this.engine.exceptionStatuses()) {
      now.set(e.name, e.state);
      if (this.exceptionStates.get(e.name) === e.state) continue;
      const fields = { [LogKey.exception]: e.name, [LogKey.owner]: e.owner, [LogKey.expires]: e.expires };
      if (e.state === 'expired') log?.warn(fields, `exception ${e.name} (owner ${e.owner}) expired ${e.expires}: ignored; remove it from the library or renew it`);
      else if (e.state === 'expiring') log?.warn(fields, `exception ${e.name} (owner ${e.owner}) expires in ${e.daysLeft} day(s), ${e.expires}`);
      else if (e.state === 'pending') log?.info(fields, `exception ${e.name} (owner ${e.owner}) is not in effect yet`);
      else log?.info(fields, `exception ${e.name} (owner ${e.owner}) in effect until ${e.expires}`);
    }
    this.exceptionStates = now;
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
      this.engine = this.engineFor(library);
      this.print = read.print;
      this.stats.reloads++;
      log?.info({ [LogKey.path]: this.opts.dir }, `policies reloaded: ${library.policies.length} policies, ${library.plans.size} plans, ${library.exceptions.length} exceptions`);
    } catch (e) {
      this.rejectedPrint = read.print;
      this.stats.rejected++;
      this.opts.metrics?.error('policy_reload');
      const reason = errorMessage(e);
      log?.error({ [LogKey.reason]: reason }, 'changed policies are invalid; keeping the ones in service');
    }
  }
}
