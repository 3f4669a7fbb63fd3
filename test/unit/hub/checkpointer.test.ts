import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Checkpointer } from '../../../application/hub/checkpointer.js';

/** A store whose checkpoint writes finish only when the test says so. */
function slowStore() {
  const writes: Array<{ offset: number; finish: () => void; fail: (e: Error) => void }> = [];
  let refreshed = 0;
  const write = (offset: number): Promise<void> =>
    new Promise((resolve, reject) => {
      writes.push({ offset, finish: resolve, fail: reject });
    });
  return { writes, write, refreshed: () => refreshed, onWritten: () => void refreshed++ };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('checkpointer: writes behind the deliveries, one write at a time, always the latest offset', async () => {
  const store = slowStore();
  const checkpoints = new Checkpointer(store.write, store.onWritten);
  await checkpoints.writeBehind();
  assert.equal(store.writes.length, 0, 'nothing recorded: nothing written');
  checkpoints.advance(10);
  await checkpoints.writeBehind();
  assert.deepEqual(store.writes.map((w) => w.offset), [10], 'started without waiting for it');
  checkpoints.advance(20);
  checkpoints.advance(30);
  let second = false;
  const behind = checkpoints.writeBehind().then(() => (second = true));
  await turn();
  assert.equal(second, false, 'the next write waits for the previous one (at most one checkpoint behind)');
  assert.equal(store.writes.length, 1);
  store.writes[0]!.finish();
  await behind;
  assert.deepEqual(store.writes.map((w) => w.offset), [10, 30], 'the latest recorded offset, not every one');
  assert.equal(store.refreshed(), 1);
  store.writes[1]!.finish();
  await checkpoints.settled();
  assert.equal(store.refreshed(), 2);
});

test('checkpointer: flush waits for the background write, then writes the rest and waits for it', async () => {
  const store = slowStore();
  const checkpoints = new Checkpointer(store.write, store.onWritten);
  checkpoints.advance(5);
  await checkpoints.writeBehind();
  checkpoints.advance(8);
  let flushed = false;
  const flush = checkpoints.flush().then(() => (flushed = true));
  await turn();
  assert.deepEqual(store.writes.map((w) => w.offset), [5]);
  store.writes[0]!.finish();
  await turn();
  assert.deepEqual(store.writes.map((w) => w.offset), [5, 8]);
  assert.equal(flushed, false, 'flush waits for its own write');
  store.writes[1]!.finish();
  await flush;
  assert.equal(store.refreshed(), 2);
  await checkpoints.flush();
  assert.equal(store.writes.length, 2, 'nothing left: no write');
});

test('checkpointer: a failed background write is rethrown to the pump (which restarts from the store)', async () => {
  const store = slowStore();
  const checkpoints = new Checkpointer(store.write, store.onWritten);
  checkpoints.advance(3);
  await checkpoints.writeBehind();
  store.writes[0]!.fail(new Error('disk full'));
  await assert.rejects(checkpoints.settled(), /disk full/);
  checkpoints.advance(4);
  await assert.rejects(checkpoints.writeBehind(), /disk full/);
  await assert.rejects(checkpoints.flush(), /disk full/);
  assert.equal(store.writes.length, 1, 'no write after a failure');
  assert.equal(store.refreshed(), 0);
});
