// TurnBatch: what is added during a turn runs at its end, in order, in chunks bounded by count and
// weight; a failing chunk does not stop the others; flush() runs at once; runNow() runs one item at
// once, alone.

import { describe, expect, it } from 'vitest';
import { TurnBatch } from '../../webhook/turn-batch.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TurnBatch', () => {
  it('runs nothing during the turn that added, then everything added in it, in order, in one call', async () => {
    const calls: number[][] = [];
    const batch = new TurnBatch<number>((chunk) => calls.push([...chunk]));
    for (const n of [1, 2, 3]) batch.add(n);
    expect(calls).toEqual([]);
    expect(batch.pending).toBe(3);
    await nextTurn();
    expect(calls).toEqual([[1, 2, 3]]);
    expect(batch.pending).toBe(0);
    batch.add(4); // a later turn gets its own call
    await nextTurn();
    expect(calls).toEqual([[1, 2, 3], [4]]);
  });

  it('splits a turn into chunks of at most maxItems', async () => {
    const calls: number[][] = [];
    const batch = new TurnBatch<number>((chunk) => calls.push([...chunk]), { maxItems: 2 });
    for (const n of [1, 2, 3, 4, 5]) batch.add(n);
    await nextTurn();
    expect(calls).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('closes a chunk before it would exceed maxWeight; an item heavier than that runs alone', async () => {
    const calls: number[][] = [];
    const batch = new TurnBatch<number>((chunk) => calls.push([...chunk]), { maxWeight: 10, weight: (n) => n });
    for (const n of [3, 4, 3, 1, 50, 2, 9]) batch.add(n);
    await nextTurn();
    expect(calls).toEqual([[3, 4, 3], [1], [50], [2], [9]]);
  });

  it('a chunk that throws is reported with its items, and the later chunks still run', async () => {
    const ran: number[][] = [];
    const failed: { error: string; chunk: number[] }[] = [];
    const batch = new TurnBatch<number>(
      (chunk) => {
        if (chunk.includes(3)) throw new Error('boom');
        ran.push([...chunk]);
      },
      { maxItems: 2, onError: (e, chunk) => failed.push({ error: (e as Error).message, chunk: [...chunk] }) },
    );
    for (const n of [1, 2, 3, 4, 5]) batch.add(n);
    await nextTurn();
    expect(ran).toEqual([[1, 2], [5]]);
    expect(failed).toEqual([{ error: 'boom', chunk: [3, 4] }]);
  });

  it('flush() runs what is queued at once, and the scheduled turn then has nothing left', async () => {
    const calls: number[][] = [];
    const batch = new TurnBatch<number>((chunk) => calls.push([...chunk]));
    batch.add(1);
    batch.flush();
    expect(calls).toEqual([[1]]);
    await nextTurn();
    expect(calls).toEqual([[1]]);
  });

  it('runNow() runs its item at once as a chunk of its own, leaving what is queued for the turn', async () => {
    const calls: number[][] = [];
    const batch = new TurnBatch<number>((chunk) => calls.push([...chunk]));
    batch.add(1);
    batch.runNow(2);
    expect(calls).toEqual([[2]]);
    expect(batch.pending).toBe(1);
    await nextTurn();
    expect(calls).toEqual([[2], [1]]);
  });

  it('runNow() reports a throwing run to onError with its item, and does not throw', () => {
    const failed: { error: string; chunk: number[] }[] = [];
    const batch = new TurnBatch<number>(
      () => {
        throw new Error('boom');
      },
      { onError: (e, chunk) => failed.push({ error: (e as Error).message, chunk: [...chunk] }) },
    );
    expect(() => batch.runNow(7)).not.toThrow();
    expect(failed).toEqual([{ error: 'boom', chunk: [7] }]);
  });

  it('items added while a chunk runs wait for the next turn', async () => {
    const calls: number[][] = [];
    const batch: TurnBatch<number> = new TurnBatch<number>((chunk) => {
      calls.push([...chunk]);
      if (chunk[0] === 1) batch.add(2);
    });
    batch.add(1);
    await nextTurn();
    expect(calls).toEqual([[1]]);
    await nextTurn();
    expect(calls).toEqual([[1], [2]]);
  });
});
