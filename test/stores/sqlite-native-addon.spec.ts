import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteConnection } from '../../src/stores/sqlite/sqlite-connection';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';

/*
 * better-sqlite3 loads its native addon when the first Database is constructed. An addon built
 * for another Node.js cannot be made here, so the driver (or the application's factory) throws
 * the error Node.js throws then, with its real text and code.
 */
function abiMismatch(): Error {
  return Object.assign(
    new Error(
      "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\n" +
        'was compiled against a different Node.js version using\n' +
        'NODE_MODULE_VERSION 108. This version of Node.js requires\n' +
        'NODE_MODULE_VERSION 115. Please try re-compiling or re-installing\n' +
        'the module (for instance, using `npm rebuild` or `npm install`).',
    ),
    { code: 'ERR_DLOPEN_FAILED' },
  );
}

const REBUILD =
  /^The native module better-sqlite3 was built for another Node\.js version than this one .*; run `npm rebuild better-sqlite3`/;

describe('SQLite store: a native addon built for another Node.js version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-addon-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => jest.dontMock('better-sqlite3'));

  /** What the mocked driver's constructor throws (Jest may reuse a mock of an earlier test). */
  let driverError: Error = abiMismatch();

  function openWithDriver(path: string, original: Error): () => SqliteConnection {
    driverError = original;
    let open: () => SqliteConnection = () => {
      throw new Error('not loaded');
    };
    jest.isolateModules(() => {
      jest.doMock('better-sqlite3', () =>
        jest.fn(() => {
          throw driverError;
        }),
      );
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module registry is needed to swap the driver
      const fresh = require('../../src/stores/sqlite/sqlite-connection') as {
        SqliteConnection: typeof SqliteConnection;
      };
      const settings = { synchronous: 'FULL', busyTimeoutMs: 100, fileMode: 0o600 } as const;
      open = () => fresh.SqliteConnection.open({ kind: 'path', path }, settings);
    });
    return open;
  }

  it.each([
    ['a file', () => join(dir, 'audit.db')],
    ['":memory:"', () => ':memory:'],
  ])(
    'names the rebuild command, not the path, when %s is opened (as in the worker)',
    (_label, path) => {
      const original = abiMismatch();
      let thrown: unknown;
      try {
        openWithDriver(path(), original)();
      } catch (error) {
        thrown = error;
      }
      expect((thrown as Error).message).toMatch(REBUILD);
      expect((thrown as Error).message).not.toContain('Check that the path');
      expect((thrown as Error).cause).toBe(original);
    },
  );

  it("names the rebuild command when the application's database factory throws it", async () => {
    const original = abiMismatch();
    const store = new SqliteAuditStore({
      database: () => {
        throw original;
      },
    });
    const failure = (await store.init().catch((error: unknown) => error)) as Error;
    expect(failure.message).toMatch(REBUILD);
    expect(failure.cause).toBe(original);
    await store.close();
  });

  it('leaves other failures of the factory as they are', async () => {
    const original = new Error('the application could not open its database');
    const store = new SqliteAuditStore({
      database: () => {
        throw original;
      },
    });
    await expect(store.init()).rejects.toBe(original);
    await store.close();
  });
});
