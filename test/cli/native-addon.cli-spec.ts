import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI_BUILD_DIR, PRELOADS } from './cli-build';
import { runCli, seedSqlite, tempDir } from './cli-harness';

/*
 * A better-sqlite3 built for another Node.js version: its loader throws Node's own error (see
 * PRELOADS.foreignAddon). Nothing here can build a real foreign addon, so the loader is replaced.
 */

const REBUILD =
  /The native module better-sqlite3 was built for another Node\.js version than this one \(v[\d.]+, NODE_MODULE_VERSION \d+\); run `npm rebuild better-sqlite3`.* NODE_MODULE_VERSION 108\./;

describe('a better-sqlite3 addon built for another Node.js version', () => {
  const { dir, remove } = tempDir();
  const db = join(dir, 'audit.db');

  beforeAll(() => seedSqlite(db, []));
  afterAll(() => remove());

  it('makes the CLI say, in one line, to rebuild better-sqlite3', async () => {
    const run = await runCli(['--db', db, 'query'], {
      nodeArgs: ['--require', PRELOADS.foreignAddon],
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^nestjs-audit: [^\n]+\n$/);
    expect(run.stderr).toMatch(REBUILD);
    expect(run.stderr).not.toMatch(/check the path/);
  });

  it("makes the store's worker thread say so too, the driver's error kept as the cause", async () => {
    // The CLI build holds the compiled store; NODE_OPTIONS reaches the store's worker thread,
    // which starts without the application's own flags.
    const script = [
      `const { SqliteAuditStore } = require(${JSON.stringify(join(CLI_BUILD_DIR, 'stores', 'sqlite', 'sqlite-audit.store.js'))});`,
      `const store = new SqliteAuditStore({ path: ${JSON.stringify(join(dir, 'worker.db'))} });`,
      'store.init().then(',
      '  () => console.log(JSON.stringify({ opened: true })),',
      '  (error) => console.log(JSON.stringify({ message: error.message, cause: error.cause && { message: error.cause.message, code: error.cause.code } })),',
      ').finally(() => store.close());',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: `--require ${PRELOADS.foreignAddon}` },
      timeout: 30_000,
    });
    const outcome = JSON.parse(stdout) as { message?: string; cause?: Record<string, string> };
    expect(outcome.message).toMatch(new RegExp(`^${REBUILD.source}`));
    expect(outcome.message).not.toMatch(/Check that the path/);
    expect(outcome.cause).toEqual({
      message: expect.stringMatching(/^The module '.*'\nwas compiled against a different/),
      code: 'ERR_DLOPEN_FAILED',
    });
  });
});
