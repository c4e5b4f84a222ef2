import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { parseAuditQuery } from '../../src/query/audit-query';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';
import { AuditStoreError } from '../../src/common/audit-store.error';
import { makeEvent, makeEvents } from '../fixtures/events';
import { compileChild, REPO_ROOT } from './sqlite-child-build';

jest.setTimeout(120_000);

const dirs: string[] = [];

function tempDir(prefix = 'nestjs-audit-sqlite-worker-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Opens a store on a file and hands back the worker thread it started. */
async function storeWithWorker(path: string): Promise<{ store: SqliteAuditStore; worker: Worker }> {
  // A spy that still builds the real worker, only to keep a handle on it (Node's own 'worker'
  // event fires on the real process object, which jest's sandbox does not expose).
  // The module object itself (an `import * as` namespace would be a copy the store never sees).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const workerThreads = require('node:worker_threads') as typeof import('node:worker_threads');
  const RealWorker = workerThreads.Worker;
  const started: Worker[] = [];
  const spy = jest
    .spyOn(workerThreads, 'Worker')
    .mockImplementation((...args: ConstructorParameters<typeof Worker>) => {
      const worker = new RealWorker(...args);
      started.push(worker);
      return worker;
    });
  try {
    const store = new SqliteAuditStore({ path });
    await store.init();
    expect(started).toHaveLength(1);
    return { store, worker: started[0] as Worker };
  } finally {
    spy.mockRestore();
  }
}

describe('SqliteAuditStore worker thread', () => {
  it('runs the connection of a store opened from a path in a worker thread', async () => {
    const { store, worker } = await storeWithWorker(join(tempDir(), 'audit.db'));
    const exited = once(worker, 'exit');
    const events = makeEvents(5);
    await store.append(events);
    expect((await store.query(parseAuditQuery())).items).toHaveLength(5);
    await store.close();
    // close() resolves once the thread is gone.
    await exited;
  });

  it('rejects pending and later calls when the worker dies, never leaving them pending', async () => {
    const { store, worker } = await storeWithWorker(join(tempDir(), 'audit.db'));
    const pending = [store.append(makeEvents(50)), store.query(parseAuditQuery())];
    await worker.terminate();
    // Each call made before the death settles: answered before it, or rejected by it.
    const outcomes = await Promise.allSettled(pending);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(String(outcome.reason)).toMatch(/worker thread of the SQLite audit store/);
      }
    }
    await expect(store.append([makeEvent()])).rejects.toThrow(
      /worker thread of the SQLite audit store \(".*audit\.db"\) stopped unexpectedly \(exit code \d+\)\. Pending and later calls of this store fail; restart the application/,
    );
    await expect(store.get('x')).rejects.toThrow(/stopped unexpectedly/);
    await store.close();
  });

  it('rejects a call the database refuses with an AuditStoreError caused by its error, and keeps serving', async () => {
    const path = join(tempDir(), 'audit.db');
    const { store } = await storeWithWorker(path);
    const db = new Database(path);
    db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON audit_events WHEN NEW.action = 'explode'
      BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`);
    db.close();
    try {
      const refused = store.append([makeEvent({ action: 'explode' })]);
      await expect(refused).rejects.toBeInstanceOf(AuditStoreError);
      await expect(refused).rejects.toMatchObject({
        message: expect.stringMatching(
          /^SqliteAuditStore could not run append \(".*audit\.db"\): refused by test trigger\. Retrying the batch is safe/,
        ) as unknown,
        code: 'AUDIT_STORE_FAILED',
        cause: { message: 'refused by test trigger', code: 'SQLITE_CONSTRAINT_TRIGGER' },
      });
      const event = makeEvent();
      await store.append([event]);
      // The refused append took no sequence number with it.
      expect(await store.get(event.id)).toStrictEqual({ ...event, sequence: 1 });
    } finally {
      await store.close();
    }
  });

  describe('from compiled JavaScript in a child process', () => {
    let child: string;

    beforeAll(async () => {
      child = await compileChild(
        join(REPO_ROOT, 'test/stores/fixtures/sqlite-exit-child.ts'),
        tempDir('nestjs-audit-sqlite-exit-build-'),
      );
    });

    it.each([['close'], ['leave-open']])(
      'lets the process end by itself (store %s)',
      async (mode) => {
        const path = join(tempDir(), 'audit.db');
        const proc = spawn(process.execPath, [child, path, mode], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, NODE_PATH: join(REPO_ROOT, 'node_modules') },
        });
        let out = '';
        let err = '';
        proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
        proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
        // A process kept alive by the worker would never exit: jest's timeout fails the test.
        const [code, signal] = (await once(proc, 'exit')) as [number | null, string | null];
        expect({ code, signal, err, out }).toEqual({
          code: 0,
          signal: null,
          err: '',
          out: 'stored 3\n',
        });
      },
    );
  });
});
