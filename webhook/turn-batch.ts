// Work that arrives during one event-loop turn, done together at the end of that turn
// (setImmediate), in chunks. Under load one turn reads several requests; doing the same step for
// all of them back to back keeps that step's code and data in the CPU caches, where one request at
// a time would evict them between requests (see server.ts for the measurements).

export interface TurnBatchOptions<T> {
  /** Most items handed to one `run` call. Default: unbounded. */
  maxItems?: number;
  /** Most total weight in one `run` call; an item heavier than this still runs, alone. */
  maxWeight?: number;
  weight?: (item: T) => number;
  /** Called when `run` throws, with the chunk it was given; the remaining chunks still run. */
  onError?: (error: unknown, chunk: T[]) => void;
}

export class TurnBatch<T> {
  private queue: T[] = [];
  private readonly maxItems: number;
  private readonly maxWeight: number;
  private readonly weight: (item: T) => number;
  private readonly onError: (error: unknown, chunk: T[]) => void;

  constructor(private readonly run: (chunk: T[]) => void, options: TurnBatchOptions<T> = {}) {
    this.maxItems = Math.max(1, options.maxItems ?? Infinity);
    this.maxWeight = options.maxWeight ?? Infinity;
    this.weight = options.weight ?? (() => 0);
    this.onError = options.onError ?? (() => undefined);
  }

  /** Items waiting for the end of the turn. */
  get pending(): number {
    return this.queue.length;
  }

  add(item: T): void {
    if (this.queue.push(item) === 1) setImmediate(this.flush);
  }

  /**
   * Runs one item at once, as a chunk of its own (errors to onError like any chunk): for an item the
   * caller knows has nothing to be batched with, which would only wait for the end of the turn.
   */
  runNow(item: T): void {
    const chunk = [item];
    try {
      this.run(chunk);
    } catch (e) {
      this.onError(e, chunk);
    }
  }

  /**
   * Runs what is queued now, in order; also for shutdown, so nothing waits for a turn that never
   * comes. Items added while it runs wait for the next turn.
   */
  readonly flush = (): void => {
    const items = this.queue;
    if (items.length === 0) return;
    this.queue = [];
    let from = 0;
    while (from < items.length) {
      let to = from + 1;
      let weight = this.weight(items[from]!);
      while (to < items.length && to - from < this.maxItems) {
        weight += this.weight(items[to]!);
        if (weight > this.maxWeight) break;
        to++;
      }
      const chunk = from === 0 && to === items.length ? items : items.slice(from, to);
      try {
        this.run(chunk);
      } catch (e) {
        this.onError(e, chunk);
      }
      from = to;
    }
  };
}
