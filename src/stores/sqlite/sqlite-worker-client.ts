import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../common/module-worker';
import {
  errorFromData,
  type SqliteBackend,
  type SqliteConnectionSettings,
  type SqliteRequest,
  type SqliteResult,
  type SqliteWorkerCall,
  type SqliteWorkerReply,
} from './sqlite-protocol';
import { SQLITE_WORKER_ENTRY, type SqliteWorkerData } from './sqlite-worker';
import { sqliteStoreError } from './sqlite-errors';
import { AuditStoreError } from '../../common/audit-store.error';
import { AuditStateError } from '../../common/audit-state.error';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** The request's name (`append`, `query`, …, or `open`), for the error of a failed call. */
  operation: string;
}

/**
 * The store's side of its worker thread: each call is a message, answered in order by the
 * worker's connection. The worker keeps the process alive only while a call is pending, so an
 * application exits normally with an idle store, and never before its last commit is answered.
 */
export class SqliteWorkerClient implements SqliteBackend {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the worker is gone: every pending and later call fails with it. */
  private down: Error | undefined;
  private closing = false;
  /** The close message is on its way: the worker will end after answering it. */
  private closeSent = false;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    /** The database's resolved location once open (the `path` option before), for messages. */
    public location: string,
  ) {
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (reply: SqliteWorkerReply) => this.settle(reply));
    worker.on('error', (error: Error) => this.fail(`stopped on an error: ${error.message}`));
    worker.on('messageerror', (error: Error) =>
      this.fail(`sent a message that could not be read: ${error.message}`),
    );
    worker.on('exit', (code: number) => {
      // A close answered before the exit leaves nothing pending: that exit is the expected one.
      if (this.pending.size > 0 || !(this.closing || this.closeSent)) {
        this.fail(`stopped unexpectedly (exit code ${code})`);
      }
    });
    worker.unref();
  }

  /**
   * Starts a worker and opens the database in it (see `SqliteConnection.open`).
   * @returns the client and the database's resolved location.
   * @throws the error of the open, after the worker has stopped.
   */
  static async start(
    path: string,
    settings: SqliteConnectionSettings,
  ): Promise<SqliteWorkerClient> {
    const workerData: SqliteWorkerData = {
      role: 'nestjs-audit-sqlite',
      entry: SQLITE_WORKER_ENTRY,
      path,
      settings,
    };
    const worker = startModuleWorker(workerData);
    const client = new SqliteWorkerClient(worker, path);
    try {
      client.location = (await client.send({ id: 0, kind: 'open' })) as string;
    } catch (error) {
      client.closing = true;
      await worker.terminate();
      throw error;
    }
    return client;
  }

  /** Runs one request in the worker. */
  call<R extends SqliteRequest>(request: R): Promise<SqliteResult<R>> {
    return this.send({ id: 0, kind: 'request', request }) as Promise<SqliteResult<R>>;
  }

  /** Closes the database and waits for the worker thread to end. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.closing && this.down === undefined) {
      try {
        const closed = this.send({ id: 0, kind: 'close' });
        this.closeSent = true;
        await closed;
      } catch (error) {
        this.closing = true;
        await this.worker.terminate();
        throw error;
      }
    }
    this.closing = true;
    // Wait for the thread to end (it does by itself after answering the close).
    this.worker.ref();
    if (this.down !== undefined) await this.worker.terminate();
    await this.exited;
  }

  private send(call: SqliteWorkerCall): Promise<unknown> {
    if (this.down !== undefined) return Promise.reject(this.down);
    if (this.closing) return Promise.reject(this.closedError());
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const operation = call.kind === 'request' ? call.request.op : call.kind;
      this.pending.set(id, { resolve, reject, operation });
      if (this.pending.size === 1) this.worker.ref();
      try {
        this.worker.postMessage({ ...call, id });
      } catch (error) {
        this.forget(id);
        reject(error instanceof Error ? error : new AuditStoreError(String(error)));
      }
    });
  }

  private settle(reply: SqliteWorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.forget(reply.id);
    if (reply.ok) pending.resolve(reply.value);
    else {
      const failure = errorFromData(reply.error);
      pending.reject(sqliteStoreError(this.location, pending.operation, failure));
    }
  }

  private forget(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(reason: string): void {
    this.down ??= new AuditStoreError(
      `nestjs-audit: the worker thread of the SQLite audit store ("${this.location}") ${reason}. Pending and later calls of this store fail; restart the application (or create a new SqliteAuditStore) to open the database again.`,
    );
    const calls = [...this.pending.values()];
    this.pending.clear();
    this.worker.unref();
    for (const call of calls) call.reject(this.down);
  }

  private closedError(): AuditStateError {
    return new AuditStateError(
      `nestjs-audit: the SQLite audit store ("${this.location}") is closed: create a new SqliteAuditStore to use the database again.`,
    );
  }
}
