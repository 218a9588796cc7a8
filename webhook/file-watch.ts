// Runs a check whenever files under some directories may have changed: fs.watch on the directories
// (a mounted Secret or ConfigMap swaps its `..data` symlink atomically), debounced, plus a periodic
// tick because fs.watch misses events on some volume types. Checks are serialised: a change that
// arrives during a check triggers exactly one more.

import { watch, type FSWatcher } from 'node:fs';

export interface FileWatchOptions {
  dirs: readonly string[];
  check: () => Promise<void>;
  /** Periodic check interval; default 10 s. */
  intervalMs?: number;
  /** Debounce of fs.watch events; default 100 ms. */
  debounceMs?: number;
  /** Watch subdirectories too (a policy library in the repository has plans/ and policies/). */
  recursive?: boolean;
}

export class FileWatch {
  private watchers: FSWatcher[] = [];
  private interval: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private recheck = false;

  constructor(private readonly opts: FileWatchOptions) {}

  start(): void {
    for (const dir of new Set(this.opts.dirs)) {
      try {
        const w = watch(dir, { persistent: false, recursive: this.opts.recursive ?? false }, () => this.poke());
        w.on('error', () => undefined); // a vanished directory: the interval check still runs
        this.watchers.push(w);
      } catch {
        // fs.watch unsupported here; rely on the interval.
      }
    }
    this.interval = setInterval(() => void this.run(), this.opts.intervalMs ?? 10_000);
    this.interval.unref();
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.interval) clearInterval(this.interval);
    if (this.debounce) clearTimeout(this.debounce);
    this.interval = undefined;
    this.debounce = undefined;
  }

  private poke(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.run(), this.opts.debounceMs ?? 100);
    this.debounce.unref();
  }

  /** Runs the check now; overlapping calls coalesce into one more run. */
  run(): Promise<void> {
    if (this.checking) {
      this.recheck = true;
      return this.checking;
    }
    this.checking = this.opts.check().finally(() => {
      this.checking = undefined;
      if (this.recheck) {
        this.recheck = false;
        void this.run();
      }
    });
    return this.checking;
  }
}
