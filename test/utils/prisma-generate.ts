import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..');

/**
 * Runs `prisma generate` for a copy of `schemaFile` placed in `dir` (offline: Prisma's CLI needs
 * no engine for `generate` when told so) and returns the generated `client.ts`. The schema's
 * generator must write to `client` (relative to the schema), as a `prisma-client` in CommonJS.
 * @throws Error when the CLI fails or writes no client.
 */
export function generatePrismaClientIn(schemaFile: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const schema = join(dir, 'schema.prisma');
  copyFileSync(schemaFile, schema);
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'prisma', 'build', 'index.js'), 'generate', '--schema', schema],
    {
      cwd: dir,
      env: {
        ...process.env,
        PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true',
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
        CHECKPOINT_DISABLE: '1',
        CI: 'true',
      },
      stdio: 'pipe',
    },
  );
  const entry = join(dir, 'client', 'client.ts');
  if (!existsSync(entry)) throw new Error(`prisma generate wrote no client at ${entry}`);
  return entry;
}

/**
 * Writes a CommonJS `.js` beside every `.ts` of a generated client, so that plain `node` (a
 * server started as a child process) can load it. The generated files are `@ts-nocheck`, so a
 * transpile per file is all they need; `client.js` is then the entry.
 */
export function transpileGeneratedClient(clientDir: string): string {
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const { outputText } = ts.transpileModule(readFileSync(path, 'utf8'), {
          compilerOptions: {
            module: ts.ModuleKind.CommonJS,
            target: ts.ScriptTarget.ES2022,
            esModuleInterop: true,
          },
          fileName: path,
        });
        writeFileSync(path.replace(/\.ts$/, '.js'), outputText);
      }
    }
  };
  walk(clientDir);
  return join(clientDir, 'client.js');
}
