import {
  isMainThread,
  parentPort,
  receiveMessageOnPort,
  workerData,
  type MessagePort,
} from 'node:worker_threads';
import { SqliteConnection } from './sqlite-connection';
import {
  errorData,
  type SqliteConnectionSettings,
  type SqliteWorkerCall,
  type SqliteWorkerReply,
} from './sqlite-protocol';
import { AuditInternalError } from '../../common/audit-internal.error';

/*
 * The worker thread of a SqliteAuditStore opened from a `path`: it owns the connection, so
 * commits, fsyncs and queries never block the application's event loop. Loaded on the
 * application's thread too (the store imports it to know its file name, which also makes every
 * build that compiles the store compile this file); it serves only in a worker started with
 * {@link SqliteWorkerData}.
 */

/** The file the store starts as its worker (a `.js` file, or `.ts` when run from source). */
export const SQLITE_WORKER_ENTRY = __filename;

/** The `workerData` of the store's worker. */
export interface SqliteWorkerData {
  /** Tells this module it runs as the store's worker (and not in some other worker). */
  role: 'nestjs-audit-sqlite';
  /** This module's file, which the bootstrap loads. */
  entry: string;
  /** The `path` option of the store. */
  path: string;
  /** Connection settings. */
  settings: SqliteConnectionSettings;
}

function isWorkerData(data: unknown): data is SqliteWorkerData {
  return (data as Partial<SqliteWorkerData> | null)?.role === 'nestjs-audit-sqlite';
}

/**
 * Most event rows the worker merges into one commit. A commit's cost grows with the pages it
 * changes, not with the number of calls, so appends that waited together share one commit (and
 * one fsync); the cap keeps one commit, and the retry of a failed merge, short.
 */
const MAX_MERGED_ROWS = 1000;

type RequestCall = Extract<SqliteWorkerCall, { kind: 'request' }>;
type AppendCall = RequestCall & { request: { op: 'append' } };

function isAppend(call: SqliteWorkerCall | undefined): call is AppendCall {
  return call?.kind === 'request' && call.request.op === 'append';
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** Serves the calls of one store, in the order they were posted. */
class SqliteWorkerServer {
  private connection: SqliteConnection | undefined;
  private readonly queue: SqliteWorkerCall[] = [];

  constructor(
    private readonly port: MessagePort,
    private readonly data: SqliteWorkerData,
  ) {
    port.on('message', (call: SqliteWorkerCall) => this.receive(call));
  }

  private receive(call: SqliteWorkerCall): void {
    this.queue.push(call);
    // Calls posted while the previous ones ran are waiting already: taking them now lets the
    // appends among them share one commit.
    for (let next = receiveMessageOnPort(this.port); next; next = receiveMessageOnPort(this.port)) {
      this.queue.push(next.message as SqliteWorkerCall);
    }
    while (this.queue.length > 0) {
      if (isAppend(this.queue[0])) this.runAppends(this.takeAppends());
      else this.run(this.queue.shift() as SqliteWorkerCall);
    }
  }

  private takeAppends(): AppendCall[] {
    const calls: AppendCall[] = [];
    let rows = 0;
    while (isAppend(this.queue[0])) {
      const call = this.queue[0];
      if (calls.length > 0 && rows + call.request.rows.length > MAX_MERGED_ROWS) break;
      rows += call.request.rows.length;
      calls.push(call);
      this.queue.shift();
    }
    return calls;
  }

  private runAppends(calls: AppendCall[]): void {
    if (calls.length === 1 || this.connection === undefined) {
      for (const call of calls) this.run(call);
      return;
    }
    let failure: unknown;
    try {
      this.connection.appendAll(calls.map((call) => call.request));
    } catch (error) {
      failure = error;
    }
    if (failure === undefined) {
      for (const call of calls) this.reply({ id: call.id, ok: true, value: undefined });
    } else if (isBusy(failure)) {
      // Another connection held the lock for the whole busy timeout: each append alone would
      // wait as long again, one after the other, and fail the same way.
      for (const call of calls) this.reply({ id: call.id, ok: false, error: errorData(failure) });
    } else {
      // One append's failure must not fail the others: nothing of the merged transaction was
      // kept, and each runs again on its own, to its own outcome.
      for (const call of calls) this.run(call);
    }
  }

  private run(call: SqliteWorkerCall): void {
    try {
      this.reply({ id: call.id, ok: true, value: this.execute(call) });
    } catch (error) {
      this.reply({ id: call.id, ok: false, error: errorData(error) });
    }
  }

  private execute(call: SqliteWorkerCall): unknown {
    if (call.kind === 'open') {
      this.connection = SqliteConnection.open(
        { kind: 'path', path: this.data.path },
        this.data.settings,
      );
      return this.connection.location;
    }
    if (call.kind === 'close') {
      const open = this.connection;
      this.connection = undefined;
      open?.close();
      // Nothing else listens: the thread ends once the reply is out.
      setImmediate(() => this.port.close());
      return undefined;
    }
    if (this.connection === undefined)
      throw new AuditInternalError('the SQLite worker has no open database');
    return this.connection.handle(call.request);
  }

  private reply(message: SqliteWorkerReply): void {
    this.port.postMessage(message);
  }
}

if (!isMainThread && parentPort !== null && isWorkerData(workerData)) {
  new SqliteWorkerServer(parentPort, workerData);
}
