import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteBatcher } from './batch.ts';

describe('WriteBatcher', () => {
  it('writes the calls of one turn together and answers each in order', async () => {
    const writes: number[][] = [];
    const batcher = new WriteBatcher<number, number>((items) => {
      writes.push([...items]);
      return items.map((n) => n * 10);
    });
    const answers = await Promise.all([1, 2, 3].map((n) => batcher.add(n)));
    assert.deepEqual(answers, [10, 20, 30]);
    assert.deepEqual(writes, [[1, 2, 3]]);
    assert.equal(await batcher.add(4), 40);
    assert.deepEqual(writes, [[1, 2, 3], [4]]);
  });

  it('splits the queue at maxBatch', async () => {
    const sizes: number[] = [];
    const batcher = new WriteBatcher<number, number>((items) => {
      sizes.push(items.length);
      return items;
    }, 2);
    assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.add(n))), [1, 2, 3, 4, 5]);
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.throws(() => new WriteBatcher(() => [], 0), RangeError);
  });

  it('holds new calls while an asynchronous write runs, then writes them together', async () => {
    const writes: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new WriteBatcher<string, string>(async (items) => {
      writes.push([...items]);
      if (writes.length === 1) await gate;
      return items.map((s) => s.toUpperCase());
    });
    const first = batcher.add('a');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(writes, [['a']]);
    const later = [batcher.add('b'), batcher.add('c')];
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(writes, [['a']], 'nothing else is written while the first write runs');
    release();
    assert.equal(await first, 'A');
    assert.deepEqual(await Promise.all(later), ['B', 'C']);
    assert.deepEqual(writes, [['a'], ['b', 'c']]);
  });

  it('a failed write rejects every call it carried, and the next write goes ahead', async () => {
    let fail = true;
    const batcher = new WriteBatcher<number, number>(async (items) => {
      if (fail) throw new Error('backend down');
      return items;
    });
    const results = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.match(String((results[0] as PromiseRejectedResult).reason), /backend down/);
    fail = false;
    assert.equal(await batcher.add(3), 3);
  });

  it('a synchronous throw rejects the batch too', async () => {
    const batcher = new WriteBatcher<number, number>(() => {
      throw new Error('closed');
    });
    await assert.rejects(batcher.add(1), /closed/);
  });

  it('an answer of the wrong length rejects instead of answering wrongly', async () => {
    const batcher = new WriteBatcher<number, number>((items) => items.slice(1));
    const results = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.match(String((results[0] as PromiseRejectedResult).reason), /answered 1 of 2/);
  });
});
