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
