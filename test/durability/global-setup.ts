import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrismaClientIn, transpileGeneratedClient } from '../utils/prisma-generate';
import {
  ORM_APPS_MAIN,
  ORM_APPS_PRISMA_SCHEMA,
  PRISMA_CLIENT_DIR,
  REPO_ROOT,
  SAMPLE_BUILD_DIR,
  SAMPLE_MAIN,
  SERVERS_TSCONFIG,
} from './sample-build';

/**
 * Compiles the servers once with tsc before the durability specs run (the sample, on TypeORM,
 * and the Prisma/MikroORM orders server), and generates that server's Prisma client: the specs
 * start them as separate processes, and only tsc (not esbuild/tsx) keeps the decorator metadata
 * Nest needs.
 */
export default function compileServers(): void {
  // A stale file from an earlier layout must not be picked up by a child process.
  rmSync(SAMPLE_BUILD_DIR, { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc', { paths: [REPO_ROOT] });
  try {
    execFileSync(process.execPath, [tsc, '-p', SERVERS_TSCONFIG, '--outDir', SAMPLE_BUILD_DIR], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
      encoding: 'utf8',
      timeout: 180_000,
    });
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `durability suite: compiling the servers with tsc failed, so none can be started.\n${output.stdout ?? ''}${output.stderr ?? ''}${output.message}`,
    );
  }
  for (const main of [SAMPLE_MAIN, ORM_APPS_MAIN]) {
    if (!existsSync(main)) {
      throw new Error(
        `durability suite: tsc finished but ${main} is missing; check ${SERVERS_TSCONFIG}.`,
      );
    }
  }
  generatePrismaClientIn(ORM_APPS_PRISMA_SCHEMA, PRISMA_CLIENT_DIR);
  transpileGeneratedClient(join(PRISMA_CLIENT_DIR, 'client'));
}
