import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_BUILD_DIR, CLI_MAIN, PRELOADS, REPO_ROOT } from './cli-build';

/** A preload that makes `require(name)` fail as it does when the package is not installed. */
function missingModule(name: string): string[] {
  return [
    "const Module = require('node:module');",
    'const resolve = Module._resolveFilename;',
    'Module._resolveFilename = function (request, ...rest) {',
    `  if (request === ${JSON.stringify(name)}) {`,
    `    const error = new Error(${JSON.stringify(`Cannot find module '${name}'`)});`,
    "    error.code = 'MODULE_NOT_FOUND';",
    '    throw error;',
    '  }',
    '  return resolve.call(this, request, ...rest);',
    '};',
    '',
  ];
}

/** The preload scripts of {@link PRELOADS}, line by line. */
const PRELOAD_SOURCES: Record<keyof typeof PRELOADS, string[]> = {
  peakPending: [
    "const { Writable } = require('node:stream');",
    'const write = Writable.prototype.write;',
    'let peak = 0;',
    'Writable.prototype.write = function (...args) {',
    '  const result = write.apply(this, args);',
    '  if (this.writableLength > peak) peak = this.writableLength;',
    '  return result;',
    '};',
    "process.on('exit', () => { process.stderr.write('peak-pending-bytes=' + peak + '\\n'); });",
    '',
  ],
  withoutPg: missingModule('pg'),
  withoutSqlite: missingModule('better-sqlite3'),
  foreignAddon: [
    "const Module = require('node:module');",
    'const load = Module._load;',
    'Module._load = function (request, ...rest) {',
    "  if (request !== 'bindings') return load.call(this, request, ...rest);",
    '  return () => {',
    '    const error = new Error(',
    '      "The module \'/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node\'\\n" +',
    "        'was compiled against a different Node.js version using\\n' +",
    "        'NODE_MODULE_VERSION 108. This version of Node.js requires\\n' +",
    "        'NODE_MODULE_VERSION 115. Please try re-compiling or re-installing\\n' +",
    "        'the module (for instance, using `npm rebuild` or `npm install`).',",
    '    );',
    "    error.code = 'ERR_DLOPEN_FAILED';",
    '    throw error;',
    '  };',
    '};',
    '',
  ],
};

/**
 * Compiles the CLI once with tsc, with the options of the release build (tsconfig.build.json),
 * so the specs run the real binary as a child process. Only src/cli/main.ts and what it imports
 * are compiled: work in progress elsewhere in src/ cannot break this suite.
 */
export default function buildCli(): void {
  // A stale file from an earlier layout must not be picked up by a child process.
  rmSync(CLI_BUILD_DIR, { recursive: true, force: true });
  mkdirSync(CLI_BUILD_DIR, { recursive: true });
  const tsconfig = join(CLI_BUILD_DIR, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(REPO_ROOT, 'tsconfig.build.json'),
      compilerOptions: {
        rootDir: join(REPO_ROOT, 'src'),
        outDir: CLI_BUILD_DIR,
        declaration: false,
        sourceMap: false,
      },
      files: [join(REPO_ROOT, 'src', 'cli', 'main.ts')],
      include: [],
    }),
  );
  const tsc = require.resolve('typescript/bin/tsc', { paths: [REPO_ROOT] });
  try {
    execFileSync(process.execPath, [tsc, '-p', tsconfig], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
      encoding: 'utf8',
      timeout: 120_000,
    });
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `cli suite: compiling src/cli/main.ts with tsc failed, so there is no binary to run.\n${output.stdout ?? ''}${output.stderr ?? ''}${output.message}`,
    );
  }
  if (!existsSync(CLI_MAIN)) {
    throw new Error(
      `cli suite: tsc finished but ${CLI_MAIN} is missing; check the rootDir of tsconfig.build.json.`,
    );
  }
  for (const [name, lines] of Object.entries(PRELOAD_SOURCES)) {
    writeFileSync(PRELOADS[name as keyof typeof PRELOADS], lines.join('\n'));
  }
}
