import { transformFile } from '@swc/core';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Repository root (this file lives in test/stores/). */
export const REPO_ROOT = join(__dirname, '..', '..');

/**
 * Compiles a child-process script and every source file it imports (relative imports, followed
 * transitively) to CommonJS under `buildDir`, the way a release build lays them out, so the
 * child runs as plain JavaScript with `node` — including the SQLite store's worker thread.
 * @returns the compiled entry file.
 */
export async function compileChild(entry: string, buildDir: string): Promise<string> {
  const queue = [entry];
  const done = new Set<string>();
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, 'utf8');
    for (const [, spec] of source.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(file), `${spec as string}.ts`);
      if (existsSync(target)) queue.push(target);
    }
    const { code } = await transformFile(file, {
      swcrc: false,
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
    });
    const out = join(buildDir, relative(REPO_ROOT, file).replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, code);
  }
  return join(buildDir, relative(REPO_ROOT, entry).replace(/\.ts$/, '.js'));
}
