import { join } from 'node:path';

/** Repository root (this file lives in test/durability/). */
export const REPO_ROOT = join(__dirname, '..', '..');

/**
 * Where the global setup compiles the sample. It stays inside the repository (in the git-ignored
 * `.tmp/`) so that the compiled files resolve `@nestjs/*`, `pg` and `better-sqlite3` from the
 * project's node_modules, and apart from `dist-sample/` so that `npm run sample` and this suite
 * never overwrite each other's output.
 */
export const SAMPLE_BUILD_DIR = join(REPO_ROOT, '.tmp', 'durability-sample');

/** Entry point of the compiled sample server (sample/src/main.ts). */
export const SAMPLE_MAIN = join(SAMPLE_BUILD_DIR, 'sample', 'src', 'main.js');

/**
 * The tsconfig the global setup compiles with: the sample and the Prisma/MikroORM orders servers
 * of `orm-apps/` in one run (they share `src/`), into {@link SAMPLE_BUILD_DIR}.
 */
export const SERVERS_TSCONFIG = join('test', 'durability', 'orm-apps', 'tsconfig.json');

/** Entry point of the compiled Prisma/MikroORM orders server (test/durability/orm-apps/main.ts). */
export const ORM_APPS_MAIN = join(SAMPLE_BUILD_DIR, 'test', 'durability', 'orm-apps', 'main.js');

/** The Prisma schema of the orders server; its client is generated beside the build. */
export const ORM_APPS_PRISMA_SCHEMA = join(
  REPO_ROOT,
  'test',
  'durability',
  'orm-apps',
  'schema.prisma',
);

/** Where the global setup generates that client (the server's `PRISMA_CLIENT` is its `client.js`). */
export const PRISMA_CLIENT_DIR = join(SAMPLE_BUILD_DIR, 'prisma');

/** The compiled generated Prisma client the orders server loads (its `PRISMA_CLIENT`). */
export const PRISMA_CLIENT_MAIN = join(PRISMA_CLIENT_DIR, 'client', 'client.js');
