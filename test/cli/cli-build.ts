import { join } from 'node:path';

/** Repository root (this file lives in test/cli/). */
export const REPO_ROOT = join(__dirname, '..', '..');

/**
 * Where the global setup compiles the CLI: inside the repository (in the git-ignored `.tmp/`),
 * so the compiled files resolve commander, better-sqlite3 and pg from the project's
 * node_modules, and apart from `dist/` so a test run never overwrites a release build.
 */
export const CLI_BUILD_DIR = join(REPO_ROOT, '.tmp', 'cli-build');

/** The compiled entry point (src/cli/main.ts; tsconfig.build.json has rootDir `src`). */
export const CLI_MAIN = join(CLI_BUILD_DIR, 'cli', 'main.js');

/** Node.js preload scripts the specs pass with `--require`, written by the global setup. */
export const PRELOADS = {
  /**
   * Prints `peak-pending-bytes=<n>` on stderr when the process exits: the most bytes any writable
   * stream of the process held unwritten after a `write()`. Unlike RSS it does not depend on the
   * machine's load, and it is where output that ignores back-pressure piles up.
   */
  peakPending: join(CLI_BUILD_DIR, 'preload-peak-pending.js'),
  /** Makes `require('pg')` fail as it does when the package is not installed. */
  withoutPg: join(CLI_BUILD_DIR, 'preload-without-pg.js'),
  /** Makes `require('better-sqlite3')` fail as it does when the package is not installed. */
  withoutSqlite: join(CLI_BUILD_DIR, 'preload-without-sqlite.js'),
  /**
   * Makes better-sqlite3's native addon fail to load as one built for another Node.js version
   * does: its loader (`bindings`) throws Node's error, with its text and code.
   */
  foreignAddon: join(CLI_BUILD_DIR, 'preload-foreign-addon.js'),
};
