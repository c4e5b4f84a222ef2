import { Worker } from 'node:worker_threads';
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

/*
 * Started with `eval`, so the published package needs no extra file: it loads the worker module,
 * which is plain `.js` in the package. Run from TypeScript source (the library's own tests), the
 * module is `.ts`, which Node 20 cannot load in a worker: the bootstrap then compiles `.ts` files
 * as they are required, with @swc/core or else typescript, resolved from the source tree (both
 * are development dependencies; the package never takes this branch).
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const entry = workerData.entry;
if (entry.endsWith('.ts')) {
  const { readFileSync } = require('node:fs');
  const local = require('node:module').createRequire(entry);
  let compile;
  try {
    const swc = local('@swc/core');
    compile = (code, filename) => swc.transformSync(code, {
      filename, swcrc: false, configFile: false,
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
    }).code;
  } catch {
    let ts;
    try { ts = local('typescript'); } catch {
      throw new Error('nestjs-audit: the SQLite worker runs from TypeScript source (' + entry + ') and needs @swc/core or typescript to compile it: install one of them, or use the compiled package.');
    }
    compile = (code, fileName) => ts.transpileModule(code, { fileName, compilerOptions: {
      module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true,
    } }).outputText;
  }
  require.extensions['.ts'] = (module, filename) => {
    module._compile(compile(readFileSync(filename, 'utf8'), filename), filename);
  };
}
require(entry);
`;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
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
    // execArgv: the application's flags (preloads, inspectors) are not meant for this thread.
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData, execArgv: [] });
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
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      try {
        this.worker.postMessage({ ...call, id });
      } catch (error) {
        this.forget(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private settle(reply: SqliteWorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.forget(reply.id);
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(errorFromData(reply.error));
  }

  private forget(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(reason: string): void {
    this.down ??= new Error(
      `nestjs-audit: the worker thread of the SQLite audit store ("${this.location}") ${reason}. Pending and later calls of this store fail; restart the application (or create a new SqliteAuditStore) to open the database again.`,
    );
    const calls = [...this.pending.values()];
    this.pending.clear();
    this.worker.unref();
    for (const call of calls) call.reject(this.down);
  }

  private closedError(): Error {
    return new Error(
      `nestjs-audit: the SQLite audit store ("${this.location}") is closed: create a new SqliteAuditStore to use the database again.`,
    );
  }
}
