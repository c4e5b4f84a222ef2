import { Worker } from 'node:worker_threads';

/*
 * Started with `eval`, so the published package needs no extra file: it loads the worker module,
 * which is plain `.js` in the package. Run from TypeScript source (the library's own tests), the
 * module is `.ts`, which Node 20 cannot load in a worker: the bootstrap then compiles `.ts` files
 * as they are required, with @swc/core or else typescript, resolved from the source tree (both
 * are development dependencies; the package never takes this branch).
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const entry = workerData.entry;
if (entry.endsWith('.ts')) {
  const { readFileSync } = require('node:fs');
  const local = require('node:module').createRequire(entry);
  let compile;
  try {
    const swc = local('@swc/core');
    compile = (code, filename) => swc.transformSync(code, {
      filename, swcrc: false, configFile: false,
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
    }).code;
  } catch {
    let ts;
    try { ts = local('typescript'); } catch {
      throw new Error('nestjs-audit: a worker thread of the library runs from TypeScript source (' + entry + ') and needs @swc/core or typescript to compile it: install one of them, or use the compiled package.');
    }
    compile = (code, fileName) => ts.transpileModule(code, { fileName, compilerOptions: {
      module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true,
    } }).outputText;
  }
  require.extensions['.ts'] = (module, filename) => {
    module._compile(compile(readFileSync(filename, 'utf8'), filename), filename);
  };
}
require(entry);
`;

/** What every worker of the library is given: the module it runs, and its own data. */
export interface ModuleWorkerData {
  /** The module's file (`__filename` of a module that serves when loaded in such a worker). */
  entry: string;
}

/**
 * Starts a worker thread that loads `workerData.entry`, from the compiled package or from the
 * TypeScript source.
 */
export function startModuleWorker(workerData: ModuleWorkerData): Worker {
  // execArgv: the application's flags (preloads, inspectors) are not meant for this thread.
  return new Worker(BOOTSTRAP, { eval: true, workerData, execArgv: [] });
}
