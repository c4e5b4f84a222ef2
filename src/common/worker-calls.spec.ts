import { Worker } from 'node:worker_threads';
import { WorkerCalls } from './worker-calls';

/** A worker speaking the protocol by hand: doubles numbers, fails on 'bad', exits on 'exit'. */
const DOUBLER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, request }) => {
  if (request === 'exit') process.exit(3);
  if (request === 'bad') parentPort.postMessage({ id, ok: false, message: 'bad request' });
  else parentPort.postMessage({ id, ok: true, value: request * 2 });
});
`;

describe('WorkerCalls', () => {
  let started = 0;
  const calls = new WorkerCalls<number | string, number>('doubling', () => {
    started += 1;
    return new Worker(DOUBLER, { eval: true });
  });

  afterAll(() => calls.close());

  it('starts the worker on the first call and answers each call by its id', async () => {
    expect(started).toBe(0);
    await expect(Promise.all([calls.call(1), calls.call(2), calls.call(21)])).resolves.toEqual([
      2, 4, 42,
    ]);
    expect(started).toBe(1);
  });

  it("rejects a call with the worker's error and keeps serving", async () => {
    await expect(calls.call('bad')).rejects.toThrow('bad request');
    await expect(calls.call(5)).resolves.toBe(10);
  });

  it('fails the calls of a worker that exits, and starts a new one for the next call', async () => {
    const before = started;
    await expect(calls.call('exit')).rejects.toThrow('the worker thread doubling exited (code 3)');
    await expect(calls.call(4)).resolves.toBe(8);
    expect(started).toBe(before + 1);
  });

  it('refuses calls once closed', async () => {
    const closing = new WorkerCalls<number, number>(
      'doubling',
      () => new Worker(DOUBLER, { eval: true }),
    );
    await closing.call(1);
    await closing.close();
    await expect(closing.call(1)).rejects.toThrow('the worker doubling is closed');
  });
});
