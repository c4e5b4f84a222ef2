import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { REPO_ROOT, SAMPLE_BUILD_DIR, SAMPLE_MAIN } from './sample-build';

/**
 * Compiles the sample once with tsc before the durability specs run: the specs start it as a
 * separate process, and only tsc (not esbuild/tsx) keeps the decorator metadata Nest needs.
 */
export default function compileSample(): void {
  // A stale file from an earlier layout must not be picked up by a child process.
  rmSync(SAMPLE_BUILD_DIR, { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc', { paths: [REPO_ROOT] });
  try {
    execFileSync(
      process.execPath,
      [tsc, '-p', 'sample/tsconfig.json', '--outDir', SAMPLE_BUILD_DIR],
      {
        cwd: REPO_ROOT,
        stdio: 'pipe',
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `durability suite: compiling the sample with tsc failed, so no server can be started.\n${output.stdout ?? ''}${output.stderr ?? ''}${output.message}`,
    );
  }
  if (!existsSync(SAMPLE_MAIN)) {
    throw new Error(
      `durability suite: tsc finished but ${SAMPLE_MAIN} is missing; check sample/tsconfig.json.`,
    );
  }
}
