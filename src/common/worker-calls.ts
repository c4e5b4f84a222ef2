import type { MessagePort, Transferable, Worker } from 'node:worker_threads';
import { AuditStateError } from './audit-state.error';
import { AuditStoreError } from './audit-store.error';
import { messageOf, toError } from './message-of';

/** A call as it travels to the worker. */
interface CallMessage<Request> {
  id: number;
  request: Request;
}

/** The worker's answer to one call. */
type ReplyMessage<Value> =
  { id: number; ok: true; value: Value } | { id: number; ok: false; message: string };

interface Pending<Value> {
  resolve: (value: Value) => void;
  reject: (error: Error) => void;
}

/**
 * Calls answered by a worker thread, one message each, matched by id. The worker starts on
 * the first call and keeps the process alive only while a call is pending. One that stops
 * fails the calls it had, and the next call starts a new one.
 */
export class WorkerCalls<Request, Value> {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending<Value>>();
  private nextId = 1;
  private closed = false;

  /**
   * @param what - what the worker does, for messages ("making chain links")
   * @param start - starts a worker that runs {@link serveWorkerCalls}
   */
  constructor(
    private readonly what: string,
    private readonly start: () => Worker,
  ) {}

  /** Sends one call; resolves with the worker's value, rejects with its error. */
  call(request: Request): Promise<Value> {
    if (this.closed)
      return Promise.reject(new AuditStateError(`the worker ${this.what} is closed`));
    let worker: Worker;
    try {
      worker = this.worker ?? this.started();
    } catch (error) {
      return Promise.reject(toError(error));
    }
    const message: CallMessage<Request> = { id: this.nextId++, request };
    return new Promise<Value>((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      worker.ref();
      worker.postMessage(message);
    });
  }

  /** Stops the worker; calls still pending fail. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new AuditStateError(`the worker ${this.what} was closed before answering`));
    await worker?.terminate();
  }

  private started(): Worker {
    const worker = this.start();
    worker.on('message', (reply: ReplyMessage<Value>) => this.settle(reply));
    const stopped = (reason: string) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new AuditStoreError(`the worker thread ${this.what} ${reason}`));
    };
    worker.on('error', (error: Error) => stopped(`stopped on an error: ${error.message}`));
    worker.on('exit', (code: number) => stopped(`exited (code ${code})`));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private settle(reply: ReplyMessage<Value>): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(new AuditStoreError(reply.message));
  }

  private failAll(error: Error): void {
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(error);
  }
}

/** What a worker's handler returns: the value, and buffers to hand over rather than copy. */
export interface WorkerAnswer<Value> {
  value: Value;
  transfer?: readonly Transferable[];
}

/**
 * The worker's side of {@link WorkerCalls}: answers each call with `handle`'s value, or with
 * its error's message.
 */
export function serveWorkerCalls<Request, Value>(
  port: MessagePort,
  handle: (request: Request) => WorkerAnswer<Value> | Promise<WorkerAnswer<Value>>,
): void {
  port.on('message', ({ id, request }: CallMessage<Request>) => {
    void (async () => {
      try {
        const { value, transfer = [] } = await handle(request);
        const reply: ReplyMessage<Value> = { id, ok: true, value };
        port.postMessage(reply, [...transfer]);
      } catch (error) {
        const reply: ReplyMessage<Value> = { id, ok: false, message: messageOf(error) };
        port.postMessage(reply);
      }
    })();
  });
}
