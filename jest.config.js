// @ts-check
/**
 * Jest runs TypeScript through @swc/jest (legacy decorators + metadata, as Nest needs).
 * Nest 12 and some of its dependencies ship ESM only, so they are transformed too.
 *
 * NEST_COMPAT=11 points every @nestjs/* (and its rxjs / nestjs-pino) import at the
 * separate install in compat/nest11, so the same e2e suite proves Nest 11 support.
 */
const path = require('node:path');

const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

const transform = { '^.+\\.(t|j|mj)s$': swc };
const transformIgnorePatterns = [
  // light-my-request (Fastify's inject()) keeps its own ESM-only cookie 2 in a nested node_modules.
  // The innermost node_modules decides (the second lookahead skips outer ones).
  'node_modules/(?!(@nestjs|nestjs-pino|load-esm|file-type|strtok3|token-types|@tokenizer|uint8array-extras|@borewit|cookie)/)(?!.*node_modules/)',
];

const compat = process.env.NEST_COMPAT;
const compatDir = compat ? path.join(__dirname, 'compat', `nest${compat}`, 'node_modules') : null;
const moduleNameMapper = compatDir
  ? {
      '^@nestjs/(common|core|testing|platform-express|platform-fastify)(/.*)?$': `${compatDir}/@nestjs/$1$2`,
      '^nestjs-pino$': `${compatDir}/nestjs-pino`,
      '^rxjs(/.*)?$': `${compatDir}/rxjs$1`,
    }
  : {};

const common = {
  transform,
  transformIgnorePatterns,
  moduleNameMapper,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
};

/** @type {import('jest').Config} */
module.exports = {
  // A global setting: Jest ignores testTimeout inside a project entry. Real apps, child processes
  // and a browser on a loaded 2-core machine need more than the 5 s default.
  testTimeout: 120_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...common, displayName: 'stores', testMatch: ['<rootDir>/test/stores/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
    // The README's TypeScript snippets, type-checked against src/ (test/docs/readme-snippets.ts),
    // and what `npm pack` would publish (test/docs/package.docs-spec.ts; builds dist/ if stale).
    { ...common, displayName: 'docs', testMatch: ['<rootDir>/test/docs/**/*.docs-spec.ts'] },
    {
      ...common,
      displayName: 'durability',
      testMatch: ['<rootDir>/test/durability/**/*.durability-spec.ts'],
      globalSetup: '<rootDir>/test/durability/global-setup.ts',
    },
    {
      ...common,
      displayName: 'cli',
      testMatch: ['<rootDir>/test/cli/**/*.cli-spec.ts'],
      globalSetup: '<rootDir>/test/cli/global-setup.ts',
    },
    {
      ...common,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
      globalSetup: '<rootDir>/test/browser/global-setup.ts',
    },
  ],
};
